"""A store with a recording provisioner, a frozen clock and customers with money."""

from __future__ import annotations

from datetime import datetime

import pytest

from kernel import clock
from kernel.accounts.services import create_user
from kernel.extensions import db
from kernel.payments import ledger
from kernel.testing import build_app
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
        return LiveStatus("running" if STATE["running"] else "offline",
                          address=STATE.get("address", ""))


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
    from kernel.cli import main
    from kernel.testing import rebuild

    result = rebuild(app).test_cli_runner().invoke(main, ["plugin", "enable", "recorder",
                                                          "--with-dependencies", "--yes"])
    assert result.exit_code == 0, result.output
    clock.freeze(START)
    yield rebuild(app)
    clock.reset()


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


def make_customer(email="buyer@example.com", balance=0):
    user = create_user(email, "buyer-password-1", name=email.split("@")[0])
    if balance:
        ledger.credit(user.id, balance, "adjustment", f"seed:{email}")
    return user


def make_product(slug="mc-small", *, price=1000, kind="fixed", period_unit="days", period_count=30,
                 stock=None, limit=None, allow_auto_renew=True, provisioner="recorder",
                 min_slots=1, max_slots=1):
    from builtin_plugins.store.models import PricePlan, Product

    product = Product(name=slug.replace("-", " ").title(), slug=slug, provisioner=provisioner,
                      stock=stock, per_customer_limit=limit, allow_auto_renew=allow_auto_renew,
                      description="", images=[], resources={"memory_mb": 2048},
                      provisioner_settings={}, active=True, featured=False, priority=0)
    product.plans.append(PricePlan(kind=kind, label="", period_unit=period_unit,
                                   period_count=period_count, price=price, min_slots=min_slots,
                                   max_slots=max_slots, slot_variable=""))
    db.session.add(product)
    db.session.commit()
    return product


def buy(user, product, *, name="My server", slots=1, auto_renew=False, voucher="", token=None):
    from builtin_plugins.store import services

    token = token or services.new_purchase_token(user)
    return services.purchase(user, token=token, product_id=product.id, plan_id=product.plans[0].id,
                             name=name, slots=slots, auto_renew=auto_renew, voucher_code=voucher)


def mails(app):
    from pathlib import Path

    path = Path(app.config["INSTANCE_PATH"]) / "mail.log"
    return path.read_text() if path.exists() else ""
