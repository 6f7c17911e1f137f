from __future__ import annotations

import os

import pytest

import kernel.testing
from kernel.testing import build_app, rebuild
from tests import database_free

pytest_plugins = ["tests.browser_fixtures"]  # browser, page, screenshot: one Playwright per process

# --- which database the suite's apps use ---------------------------------------------
# PTEROCA_TEST_DATABASE=postgres (make test-postgres) gives every app built by
# kernel.testing.build_app a fresh PostgreSQL database instead of SQLite in its instance folder.
_postgres = None


def pytest_configure(config):
    global _postgres
    # The gate's code checks run once per plugin version per process (tests/scan_memo.py);
    # installed first, so the admission scan below is remembered too.
    from tests import scan_memo
    from tests.services import POSTGRES_ENV, TEST_DATABASE_ENV, PostgresPerInstance

    scan_memo.install()
    # Unit tests import builtin plugin modules at collection; the verified loader serves
    # them only from a passing scan of their files (kernel.testing.admit_builtin_plugins).
    # pytest-xdist's controller collects and runs nothing: only its workers need it.
    if not _xdist_controller(config):
        kernel.testing.admit_builtin_plugins()

    choice = os.environ.get(TEST_DATABASE_ENV, "sqlite") or "sqlite"
    if choice not in ("sqlite", "postgres"):
        raise pytest.UsageError(f"{TEST_DATABASE_ENV}={choice!r}: use sqlite or postgres")
    if choice == "postgres":
        if not os.environ.get(POSTGRES_ENV):
            raise pytest.UsageError(
                f"{TEST_DATABASE_ENV}=postgres needs {POSTGRES_ENV} (an admin "
                "URL of a server where the tests may create databases)"
            )
        _postgres = PostgresPerInstance(os.environ[POSTGRES_ENV])
        kernel.testing.database_for_instance = _postgres


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session, config, items):
    # pytest-xdist's workers send their collection to the controller, which queues the files in
    # that order under --no-loadscope-reorder (the Makefile): longest first (tests/file_order.py).
    if hasattr(config, "workerinput"):
        from tests.file_order import longest_first

        longest_first(items)


def _xdist_controller(config) -> bool:
    """True in the process that hands tests to pytest-xdist's workers (``-n 2``)."""
    return (
        not hasattr(config, "workerinput")
        and getattr(config.option, "dist", "no") != "no"
        and bool(getattr(config.option, "numprocesses", 0))
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_fixture_setup(fixturedef, request):
    if _postgres is None:
        yield
        return
    _postgres.scopes.append(fixturedef.scope)
    try:
        yield
    finally:
        _postgres.scopes.pop()


def pytest_ignore_collect(collection_path, config):
    # The PostgreSQL pass leaves out the files that never open a database (tests/database_free.py).
    if _postgres is not None and database_free.listed(collection_path):
        return True
    return None


_connections = database_free.ConnectionWatch()
_connections.install()


@pytest.fixture(autouse=True)
def _database_free_holds(request):
    """A test of a file listed in tests/database_free.py fails if it opens a database."""
    _connections.start(request.node.path)
    yield
    found = _connections.verdict()
    assert found is None, found


@pytest.fixture(autouse=True)
def _drop_test_databases():
    yield
    if _postgres is not None:
        _postgres.drop(("function",))


def pytest_sessionfinish(session, exitstatus):
    from tests.services import drop_made_ahead

    if _postgres is not None:
        _postgres.close()
    drop_made_ahead()  # copies of the suites' own templates made ahead (tests/services.py)


@pytest.fixture
def instance(tmp_path):
    return tmp_path / "instance"


@pytest.fixture
def plugins_dir(instance):
    path = instance / "plugins"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def app(instance, plugins_dir):
    return build_app(instance)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def fresh():
    """Rebuild an app after a plugin change, as the hot swap would."""
    return rebuild


@pytest.fixture
def smtp_server():
    """A real SMTP server on 127.0.0.1 collecting messages (``tests/fakes/smtp.py``)."""
    from tests.fakes.smtp import FakeSMTPServer

    with FakeSMTPServer() as server:
        yield server


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request):
    """Run a test on SQLite and on PostgreSQL (a fresh database each time)."""
    if request.param == "sqlite":
        yield None
        return
    from tests.services import fresh_postgres_database, require_postgres

    url, drop = fresh_postgres_database(require_postgres())
    yield url
    from kernel.extensions import db  # noqa: F401 - engines are disposed with their app

    drop()


@pytest.fixture
def redis_url():
    """An empty Redis for one test: a private ``redis-server`` on a free port when the binary is
    installed, else the server at PTEROCA_TEST_REDIS_URL (flushed first: give it a spare
    database). Skipped off CI when neither exists, a failure on CI."""
    import shutil

    from tests.services import REDIS_ENV, REDIS_SERVER, RedisServer, require_redis_server

    if not shutil.which(REDIS_SERVER) and os.environ.get(REDIS_ENV):
        import redis

        redis.Redis.from_url(os.environ[REDIS_ENV]).flushdb()
        yield os.environ[REDIS_ENV]
        return
    with RedisServer(require_redis_server()) as server:
        yield server.url
