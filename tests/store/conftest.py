"""A store with a recording provisioner, a frozen clock and customers with money."""

from __future__ import annotations

from datetime import datetime

import pytest

from kernel import clock
from kernel.extensions import db
from kernel.testing import build_app, run_cli
from tests.helpers import write_plugin

RECORDER = '''
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
        return LiveStatus("running" if STATE["running"] else "offline")


@hookimpl
def register_provisioners():
    return [Recorder()]
'''

START = datetime(2026, 1, 1, 12, 0, 0)


@pytest.fixture
def store_db():
    """The database URL for ``store_app`` (None: SQLite); concurrency tests override it."""
    return None


@pytest.fixture
def store_app(tmp_path, store_db):
    instance = tmp_path / "instance"
    extra = {"DATABASE_URL": store_db} if store_db else {}
    app = build_app(instance, MAIL_URL=f"file://{instance}/mail.log", **extra)
    write_plugin(instance / "plugins", "recorder", RECORDER, capabilities=["register_provisioners"],
                 requires={"store": ">=1.0"})
    from kernel.testing import rebuild

    result = run_cli(app, "plugin", "enable", "recorder", "--with-dependencies", "--yes")
    assert result.exit_code == 0, result.output
    clock.freeze(START)
    yield rebuild(app)
    clock.reset()


@pytest.fixture
def recorder(store_app):
    import pteroca_plugins.recorder as module

    module.CALLS.clear()
    module.STATE.update(fail_create=0, running=True, refuse_package="")
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
