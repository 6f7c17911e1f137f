"""One-line rules of the store that a hand-made mutation test showed no other test guarded.

Each test here fails when its rule's line is removed: deleting a server gives its stock unit
back, an order form's token is used up by the purchase (its race, two submissions at the same
moment, is in test_concurrency.py), and a staff suspension is not lifted by a plain
``unsuspend`` (the call a payment makes).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from kernel import clock
from kernel.accounts.services import create_user
from kernel.extensions import db
from kernel.payments import ledger
from kernel.testing import TEST_PASSWORD, login, make_customer
from tests.store.conftest import recorder_product

PASSWORD = TEST_PASSWORD  # make_customer\'s


def models():
    """The store's models as loaded now (the loader may import the plugin afresh)."""
    from builtin_plugins.store import models as loaded

    return loaded


def checkout(client, slug="mc-small", name="Mine"):
    """Open the checkout page and submit its form, as a customer does."""
    import re

    page = client.get(f"/store/product/{slug}/checkout")
    token = re.search(r'name="token" value="([^"]+)"', page.text).group(1)
    plan = re.search(r'name="plan" id="plan-\d+" value="(\d+)"', page.text).group(1)
    return client.post(
        f"/store/product/{slug}/checkout", data={"token": token, "plan": plan, "name": name}
    )


def stock(app, slug="mc-small"):
    with app.app_context():
        return db.session.scalar(
            db.select(models().Product.stock).where(models().Product.slug == slug)
        )


@pytest.fixture
def last_unit(store_app, recorder):
    """A product with one unit left, two customers with money, an admin."""
    with store_app.app_context():
        recorder_product("mc-small", price=1000, stock=1)
        make_customer("first@example.com", balance=5000)
        make_customer("second@example.com", balance=5000)
        create_user("admin@example.com", "admin-password-1", name="Ada", role="admin")
    return store_app


def test_deleting_a_server_returns_its_stock_unit_to_the_next_customer(last_unit, recorder):
    first, second = (
        login(last_unit, f"{who}@example.com", PASSWORD) for who in ("first", "second")
    )
    bought = checkout(first)
    assert bought.status_code == 303 and stock(last_unit) == 0
    sold_out = checkout(second)
    assert sold_out.status_code == 400 and "Mc Small is sold out" in sold_out.text
    service_id = int(bought.location.rsplit("/", 1)[1])
    admin = login(last_unit, "admin@example.com", "admin-password-1")
    assert admin.post(f"/admin/store/servers/{service_id}/delete", data={}).status_code == 303
    with last_unit.app_context():
        assert db.session.get(models().Service, service_id).state == "terminated"
    assert ("terminate", service_id) in recorder.CALLS
    assert stock(last_unit) == 1
    assert checkout(second).status_code == 303 and stock(last_unit) == 0


def test_a_server_deleted_for_non_payment_returns_its_stock_unit(last_unit, recorder, monkeypatch):
    from builtin_plugins.store import sweep

    monkeypatch.setenv("PTEROCA_PLUGIN_STORE_DELETE_AFTER_DAYS", "0")  # delete at expiry
    assert checkout(login(last_unit, "first@example.com", PASSWORD)).status_code == 303
    assert stock(last_unit) == 0
    clock.advance(timedelta(days=31))
    with last_unit.app_context():
        assert len(sweep.run_lifecycle().deleted) == 1
    assert stock(last_unit) == 1


def test_a_used_token_buys_nothing_more_and_stays_used(store_app, ctx, recorder):
    from builtin_plugins.store import services

    user = make_customer(balance=10_000)
    product = recorder_product(price=1000)
    token = services.new_purchase_token(user)
    first = services.purchase(
        user, token=token, product_id=product.id, plan_id=product.plans[0].id, name="one"
    )
    assert db.session.get(models().PurchaseToken, token) is None
    other = recorder_product("rust-big", price=2500)
    again = services.purchase(
        user, token=token, product_id=other.id, plan_id=other.plans[0].id, name="another"
    )
    assert again.id == first.id and ledger.balance(user.id) == 9000
    stranger = make_customer("stranger@example.com", balance=10_000)
    with pytest.raises(services.StoreError, match="order form has expired"):
        services.purchase(
            stranger, token=token, product_id=product.id, plan_id=product.plans[0].id, name="theirs"
        )


def test_a_plain_unsuspend_does_not_lift_a_staff_suspension(store_app, ctx, recorder):
    """``unsuspend`` without ``manual`` is what a payment calls (and what a plugin would):
    it may lift only the store's own suspension for non-payment."""
    from builtin_plugins.store import services
    from builtin_plugins.store.testing import buy

    service = buy(make_customer(balance=5000), recorder_product())
    services.suspend(service, manual=True, reason="abuse report")
    assert service.expires_at > clock.now()  # paid up: only the staff rule keeps it suspended
    services.unsuspend(service)
    db.session.expire_all()
    service = db.session.get(models().Service, service.id)
    assert (service.state, service.suspension) == ("suspended", "manual")
    assert ("unsuspend", service.id) not in recorder.CALLS
    services.unsuspend(service, manual=True, actor="admin@example.com")
    assert service.state == "active" and ("unsuspend", service.id) in recorder.CALLS
