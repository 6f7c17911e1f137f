"""Going back from "server bought" and paying again: the checkout asks before buying a second
server of the same product and name, and buys it only when the customer confirms."""

from __future__ import annotations

from datetime import timedelta

from kernel.extensions import db
from kernel.payments import ledger
from tests.store.test_views import count_services, login, plan_id, shop, store_models, token_of  # noqa: F401


def order(client, shop, name="Survival", **extra):  # noqa: F811
    """A fresh checkout form (as after going back and reloading), submitted."""
    token = token_of(client.get("/store/product/mc-small/checkout"))
    return client.post(
        "/store/product/mc-small/checkout",
        data={"token": token, "plan": plan_id(shop), "name": name, **extra},
    )


def test_the_same_order_again_is_asked_about_and_charges_nothing(shop):  # noqa: F811
    client = login(shop, "buyer@example.com")
    first = order(client, shop)
    assert first.status_code == 303
    again = order(client, shop, name="  survival ")  # the same name, typed a little differently
    assert again.status_code == 409
    assert "You bought this a moment ago" in again.text
    assert "Nothing more was charged" in again.text
    assert f'href="{first.location}"' in again.text  # to the server bought
    assert 'name="confirm_repeat" value="1"' in again.text and "Buy another one" in again.text
    assert count_services(shop) == 1
    with shop.app_context():
        assert ledger.balance(1) == 4000


def test_confirming_buys_the_second_server(shop):  # noqa: F811
    client = login(shop, "buyer@example.com")
    assert order(client, shop).status_code == 303
    asked = order(client, shop)
    token = token_of(asked)
    confirmed = client.post(
        "/store/product/mc-small/checkout",
        data={"token": token, "plan": plan_id(shop), "name": "Survival", "confirm_repeat": "1"},
    )
    assert confirmed.status_code == 303
    assert count_services(shop) == 2
    with shop.app_context():
        assert ledger.balance(1) == 3000


def test_another_name_or_a_later_day_is_not_asked(shop):  # noqa: F811
    client = login(shop, "buyer@example.com")
    assert order(client, shop).status_code == 303
    assert order(client, shop, name="Creative").status_code == 303
    with shop.app_context():
        models = store_models()
        for service in db.session.scalars(db.select(models.Service)):
            service.created_at -= timedelta(minutes=11)
        db.session.commit()
    assert order(client, shop).status_code == 303
    assert count_services(shop) == 3


def test_a_deleted_server_does_not_count(shop):  # noqa: F811
    client = login(shop, "buyer@example.com")
    assert order(client, shop).status_code == 303
    with shop.app_context():
        service = db.session.scalars(db.select(store_models().Service)).one()
        service.state = "terminated"
        db.session.commit()
    assert order(client, shop).status_code == 303


def test_another_customer_with_the_same_name_is_not_asked(shop):  # noqa: F811
    from kernel.testing import make_customer

    assert order(login(shop, "buyer@example.com"), shop).status_code == 303
    with shop.app_context():
        make_customer("second@example.com", balance=5000)
    assert order(login(shop, "second@example.com"), shop).status_code == 303
    assert count_services(shop) == 2
