"""The builders of the public pytest plugin (``make_customer``, ``make_product``, ``buy``,
``make_server``, ``cli``, ``enable``) and the ``kernel.testing`` functions under them."""

from __future__ import annotations

import json

import pytest

from kernel.testing import TEST_PASSWORD, admin_client, login


def balance_of(app, user_id: int) -> int:
    from kernel import wallet_balance

    with app.app_context():
        return wallet_balance(user_id)


def test_make_customer_funds_the_wallet_through_the_ledger(make_customer, pteroca_instance):
    from kernel.extensions import db
    from kernel.payments.models import LedgerEntry

    rich, poor = make_customer(balance=2500, name="Rich"), make_customer("poor@example.com")
    app = pteroca_instance.app
    assert balance_of(app, rich.id) == 2500 and balance_of(app, poor.id) == 0
    assert rich.role == "customer" and rich.name == "Rich" and poor.email == "poor@example.com"
    with app.app_context():
        [entry] = db.session.scalars(
            db.select(LedgerEntry).where(LedgerEntry.user_id == rich.id)
        ).all()
        assert (entry.amount, entry.kind) == (2500, "adjustment")
        db.session.remove()


def test_a_customer_logs_in_with_the_test_password(make_customer, login_as):
    customer = make_customer(balance=100)
    assert customer.password == TEST_PASSWORD
    client = login_as(user=customer)
    assert client.user == customer and client.get("/dashboard").status_code == 200


def test_make_product_enables_the_store_and_buy_pays_from_the_wallet(
    make_customer, make_product, buy, pteroca_instance
):
    from kernel.plugins.host import plugin_manager

    assert plugin_manager(pteroca_instance.app).get_plugin("store") is None
    product_id = make_product("box", price=700)
    assert plugin_manager(pteroca_instance.app).get_plugin("store") is not None
    buyer = make_customer(balance=1000)
    service_id = buy(buyer, product_id, name="My box")
    assert balance_of(pteroca_instance.app, buyer.id) == 300  # charged once, through the ledger

    from builtin_plugins.store.api import Service
    from kernel.extensions import db

    with pteroca_instance.app.app_context():
        service = db.session.get(Service, service_id)
        assert (service.user_id, service.name, service.product_id) == (
            buyer.id,
            "My box",
            product_id,
        )
        db.session.remove()
    with pytest.raises(ValueError, match="(?i)balance|funds|wallet"):  # 300 left, 700 asked
        buy(buyer, product_id)
    assert balance_of(pteroca_instance.app, buyer.id) == 300


def test_make_server_is_a_live_server_of_its_owner(make_customer, make_server, login_as):
    owner, stranger = make_customer(), make_customer()
    make_server(owner, "Fortress")
    assert "Fortress" in login_as(user=owner).get("/servers").text
    assert "Fortress" not in login_as(user=stranger).get("/servers").text


def test_cli_runs_on_an_app_built_afresh_and_raises_crashes(cli, enable, monkeypatch):
    info = cli("plugin", "info", "hello_world", "--json")
    assert info.exit_code == 0 and json.loads(info.output)["state"] != "enabled"
    enable("hello_world", accept_risk=True)
    info = cli("plugin", "info", "hello_world", "--json")
    assert json.loads(info.output)["state"] == "enabled"  # the CLI saw the plugin change
    from kernel.plugin_lifecycle import services

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(services, "info", broken)
    with pytest.raises(RuntimeError, match="boom"):  # not swallowed into an exit code
        cli("plugin", "info", "hello_world")


def test_login_explains_a_refused_login_and_admin_client_is_staff(app):
    with pytest.raises(
        AssertionError, match="nobody@example.com failed with 400: Wrong email or password"
    ):
        login(app, "nobody@example.com", "wrong-password-1")
    admin = admin_client(app, "boss@example.com")
    assert admin.get("/admin/").status_code == 200
    customer_page = app.test_client().get("/admin/")
    assert customer_page.status_code in (302, 403)
