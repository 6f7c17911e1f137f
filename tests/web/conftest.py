from tests.admin.conftest import as_role, users  # noqa: F401 - shared fixtures
