"""The store's ``server_billed`` event: one per wallet movement for a server, after the commit."""

from __future__ import annotations

from datetime import timedelta

import pytest

from builtin_plugins.store import services, sweep
from builtin_plugins.store.testing import buy
from kernel import clock
from kernel.extensions import db
from kernel.payments import ledger
from kernel.testing import make_customer, run_cli
from tests.store.conftest import recorder_product

DAY = timedelta(days=1)

LISTENER = """
from kernel import db, hookimpl

SEEN = []


@hookimpl
def server_billed(service, entry):
    # committed already: a fresh session sees the entry
    db.session.rollback()
    stored = db.session.get(type(entry), entry.id)
    SEEN.append((service.id, entry.kind, entry.amount, stored is not None))
"""


@pytest.fixture
def seen(store_app):
    from tests.helpers import write_plugin

    write_plugin(
        store_app.config["PLUGINS_DIR"],
        "billing_listener",
        LISTENER,
        capabilities=["server_billed"],
        requires={"store": ">=1.0"},
    )
    result = run_cli(store_app, "plugin", "enable", "billing_listener")
    assert result.exit_code == 0, result.output
    import pteroca_plugins.billing_listener as module

    module.SEEN.clear()
    return module.SEEN


@pytest.fixture
def app(store_app, seen):
    from kernel.testing import rebuild

    app = rebuild(store_app)
    with app.app_context():
        yield app
        db.session.remove()


def test_hook_server_billed(app, seen, recorder):
    user = make_customer(balance=10_000)
    small, big = recorder_product("small", price=1000), recorder_product("big", price=3000)
    service = buy(user, small, auto_renew=True)
    services.renew(service)
    clock.advance(60 * DAY)  # at the renewed expiry: the sweep renews automatically
    assert sweep.run_lifecycle().renewed == [service.id]
    clock.advance(15 * DAY)  # half the new period left: half the difference
    services.change_package(db.session.get(type(service), service.id), big)
    assert seen == [
        (service.id, "purchase", -1000, True),
        (service.id, "renewal", -1000, True),
        (service.id, "renewal", -1000, True),
        (service.id, "upgrade", -1000, True),
    ]
    assert ledger.balance(user.id) == 10_000 - 4000


def test_a_failed_provisioning_bills_the_refund_too(app, seen, recorder):
    user = make_customer(balance=1500)
    recorder.STATE["fail_create"] = 1
    service = buy(user, recorder_product())
    assert service.state == "provisioning_failed"
    services.retry_provisioning(service)
    assert seen == [
        (service.id, "purchase", -1000, True),
        (service.id, "refund", 1000, True),
        (service.id, "purchase", -1000, True),
    ]


def test_a_downgrade_bills_the_credit_once(app, seen, recorder):
    user = make_customer(balance=10_000)
    small, big = recorder_product("small", price=1000), recorder_product("big", price=3000)
    service = buy(user, big)
    clock.advance(15 * DAY)
    services.change_package(service, small)
    assert seen == [(service.id, "purchase", -3000, True), (service.id, "downgrade", 1000, True)]


def test_a_reversed_upgrade_bills_the_money_back(app, seen, recorder):
    user = make_customer(balance=10_000)
    small, big = recorder_product("small", price=1000), recorder_product("big", price=3000)
    service = buy(user, small)
    clock.advance(15 * DAY)
    recorder.STATE["refuse_package"] = "disk too full"
    with pytest.raises(services.StoreError):
        services.change_package(service, big)
    assert seen == [
        (service.id, "purchase", -1000, True),
        (service.id, "upgrade", -1000, True),
        (service.id, "reversal", 1000, True),
    ]
