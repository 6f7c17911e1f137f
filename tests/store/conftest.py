"""A store with a recording provisioner, a frozen clock and customers with money."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import pytest

from kernel import clock
from kernel import testing as kernel_testing
from kernel.extensions import db
from kernel.testing import build_app, rebuild, run_cli
from tests.helpers import write_plugin

RECORDER = """
from kernel import hookimpl
from builtin_plugins.store.provisioning import LiveStatus, PackageRefused, ProvisionError

CALLS = []
STATE = {"fail_create": 0, "running": True, "refuse_package": ""}


class Recorder:
    identifier = "recorder"
    display_name = "Recording provisioner"

    def settings_schema(self):
        return []

    def checkout_fields(self, product):
        return []

    def create(self, service):
        CALLS.append(("create", service.id))
        if STATE["fail_create"]:
            STATE["fail_create"] -= 1
            raise ProvisionError("node full")
        return f"rec-{service.id}"

    def suspend(self, service):
        CALLS.append(("suspend", service.id))

    def unsuspend(self, service):
        CALLS.append(("unsuspend", service.id))

    def terminate(self, service):
        CALLS.append(("terminate", service.id))

    def change_package(self, service, product):
        CALLS.append(("change_package", service.id, product.slug))
        if STATE["refuse_package"]:
            raise PackageRefused(STATE["refuse_package"])

    def reinstall(self, service):
        CALLS.append(("reinstall", service.id))

    def status(self, service):
        return LiveStatus("running" if STATE["running"] else "offline",
                          address=STATE.get("address", ""))


@hookimpl
def register_provisioners():
    return [Recorder()]
"""

START = datetime(2026, 1, 1, 12, 0, 0)


@pytest.fixture
def store_db():
    """The database URL for ``store_app`` (None: SQLite); concurrency tests override it."""
    return None


@pytest.fixture(scope="session")
def store_template(tmp_path_factory, request) -> Path:
    """An instance with the store and the recording provisioner enabled through the gate, copied
    by each test: scanning, migrating and enabling them is paid once per process, not per test.

    In the PostgreSQL pass its database is the template each test's database is copied from.
    """
    instance = tmp_path_factory.mktemp("store-template") / "instance"
    extra = {}
    if kernel_testing.database_for_instance is not None:  # the PostgreSQL pass
        from tests.services import fresh_postgres_database, require_postgres

        extra["DATABASE_URL"], drop = fresh_postgres_database(require_postgres())
        request.addfinalizer(drop)
    app = build_app(instance, **extra)
    _enable_recorder(app, instance)
    with app.app_context():  # a template database must have no open connections
        db.engine.dispose()
    (instance / "template-database-url").write_text(app.config.get("DATABASE_URL") or "")
    return instance


def _enable_recorder(app, instance: Path) -> None:
    write_plugin(
        instance / "plugins",
        "recorder",
        RECORDER,
        capabilities=["register_provisioners"],
        requires={"store": ">=1.0"},
    )
    result = run_cli(app, "plugin", "enable", "recorder", "--with-dependencies", "--yes")
    assert result.exit_code == 0, result.output


@pytest.fixture
def store_app(tmp_path, store_db, request):
    instance = tmp_path / "instance"
    mail = {"MAIL_URL": f"file://{instance}/mail.log"}
    drop = None
    if store_db:  # a database of the test's own (the concurrency tests): built from scratch
        app = build_app(instance, DATABASE_URL=store_db, **mail)
        _enable_recorder(app, instance)
    else:
        shutil.copytree(request.getfixturevalue("store_template"), instance)
        template_url = (instance / "template-database-url").read_text()
        extra = {}
        if template_url.startswith("postgresql"):  # the PostgreSQL pass: copy the database too
            from sqlalchemy.engine import make_url

            from tests.services import fresh_postgres_database, require_postgres

            extra["DATABASE_URL"], drop = fresh_postgres_database(
                require_postgres(), template=make_url(template_url).database, ahead=True
            )
        app = build_app(instance, **mail, **extra)
        assert "recorder" in app.extensions["pteroca"].loaded, app.extensions["pteroca"].problems
    clock.freeze(START)
    yield rebuild(app) if store_db else app  # build_app's app already has both plugins
    clock.reset()
    if drop is not None:
        with app.app_context():
            db.engine.dispose()
        drop()


@pytest.fixture
def recorder(store_app):
    import pteroca_plugins.recorder as module

    module.CALLS.clear()
    module.STATE.update(fail_create=0, running=True, refuse_package="", address="")
    return module


@pytest.fixture
def ctx(store_app):
    with store_app.app_context():
        yield
        db.session.remove()


def recorder_product(slug="mc-small", **fields):
    """A product fulfilled by the recording provisioner (``make_product``'s other fields)."""
    from builtin_plugins.store.testing import make_product  # not at import: conftests load early

    return make_product(slug, provisioner="recorder", **fields)


def mails(app):
    from pathlib import Path

    path = Path(app.config["INSTANCE_PATH"]) / "mail.log"
    return path.read_text() if path.exists() else ""
