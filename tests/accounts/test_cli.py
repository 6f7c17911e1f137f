"""``pteroca user create``."""

from __future__ import annotations

from tests.accounts.conftest import get_user
from tests.helpers import PASSWORD


def test_user_create_prompts_for_the_password(app, cli):
    result = cli("user", "create", "ops@example.com", "--admin", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert "Password" in result.output and "created ops@example.com (admin)" in result.output
    assert PASSWORD not in result.output  # hidden input
    user = get_user(app, "ops@example.com")
    assert user.role_name == "admin" and user.is_verified
    assert (
        app.test_client()
        .post("/login", data={"email": "ops@example.com", "password": PASSWORD})
        .status_code
        == 302
    )


def test_user_create_refuses_a_short_password(app, cli):
    result = cli("user", "create", "x@example.com", "--password", "short")
    assert result.exit_code != 0 and "at least 10 characters" in result.output
    assert get_user(app, "x@example.com") is None


def test_user_create_with_role(app, cli):
    result = cli("user", "create", "s@example.com", "--role", "support", "--password", PASSWORD)
    assert result.exit_code == 0 and "(support)" in result.output
