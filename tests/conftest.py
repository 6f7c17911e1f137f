from __future__ import annotations

import pytest

from kernel.testing import build_app, rebuild


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
def cli(app):
    """Run ``pteroca`` commands like a shell would: each call builds the app afresh."""
    from kernel.cli import main

    def invoke(*args, input=None):
        runner = rebuild(app).test_cli_runner()
        return runner.invoke(main, list(args), input=input, catch_exceptions=False)

    return invoke


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
