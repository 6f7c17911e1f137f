"""``pteroca demo``: every builtin plugin on, the simulator running, a catalog, two accounts."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest

from kernel.extensions import db
from kernel.testing import rebuild


@pytest.fixture
def demo(app, cli):
    from simulators import demo as simulated

    result = cli("demo", "--no-serve")
    yield app, result
    simulated.stop_simulator()


def credentials(output: str) -> dict[str, str]:
    return dict(re.findall(r"^(?:admin|customer):\s+(\S+) / (\S+)", output, re.M))


def test_demo_enables_the_builtins_seeds_and_prints_where_to_log_in(demo, cli):
    app, result = demo
    assert result.exit_code == 0, result.output
    assert ("plugins enabled: announcements, hello_world, invoices, oauth_login, paypal_payments, "
            "pterodactyl, store, stripe_payments, support") in result.output
    assert "support: customers open tickets on /support/" in result.output
    assert "invoices: demo seller in Germany, 27 EU VAT rates" in result.output
    accounts = credentials(result.output)
    assert set(accounts) == {"admin@example.com", "customer@example.com"}
    assert "->  http://127.0.0.1:5000/admin/" in result.output
    simulator = re.search(r"Pterodactyl simulator: (http://127\.0\.0\.1:\d+)", result.output).group(1)
    assert httpx.get(f"{simulator}/_simulator/state", timeout=5).status_code == 200
    live = rebuild(app)
    client = live.test_client()
    for email, password in accounts.items():
        response = client.post("/login", data={"email": email, "password": password})
        assert response.status_code == 302, (email, response.text[:300])
        client.post("/logout")
    with live.app_context():
        from builtin_plugins.store.models import Product
        from kernel.accounts.services import find_user
        from kernel.payments import ledger
        from kernel.plugins.settings import settings_for

        customer = find_user("customer@example.com")
        assert ledger.balance(customer.id) == 10000 == ledger.ledger_sum(customer.id)
        slugs = set(db.session.scalars(db.select(Product.slug)))
        assert {"paper-2gb", "paper-4gb", "minecraft-slots", "garrys-mod"} <= slugs
        assert settings_for("pterodactyl")["panel_url"] == simulator
        from kernel.payments.providers import available_providers

        assert [p.identifier for p in available_providers("USD")] == []  # Stripe off without keys
    stored = json.loads((Path(live.instance_path) / "demo-credentials.json").read_text())
    assert stored == accounts


def test_the_demo_customer_can_buy_a_server_on_the_simulator(demo):
    app, result = demo
    live = rebuild(app)
    with live.app_context():
        from builtin_plugins.store import services
        from builtin_plugins.store.catalog import product_by_slug
        from kernel.accounts.services import find_user
        from kernel.payments import ledger

        customer = find_user("customer@example.com")
        product = product_by_slug("paper-2gb")
        service = services.purchase(customer, token=services.new_purchase_token(customer),
                                    product_id=product.id, plan_id=product.plans[0].id,
                                    name="Demo world")
        assert service.state == "active", service.last_error
        assert ledger.balance(customer.id) == 10000 - 500


def test_a_second_run_keeps_accounts_money_and_catalog(demo, cli):
    app, first = demo
    second = cli("demo", "--no-serve")
    assert second.exit_code == 0, second.output
    assert credentials(second.output) == credentials(first.output)
    assert "products added" not in second.output
    with rebuild(app).app_context():
        from builtin_plugins.store.models import Product
        from kernel.accounts.services import find_user
        from kernel.payments import ledger

        assert ledger.balance(find_user("customer@example.com").id) == 10000
        assert db.session.scalar(db.select(db.func.count(Product.id))) == 4


def test_a_bad_balance_is_one_clear_line(app, cli):
    result = cli("demo", "--no-serve", "--balance", "ten")
    assert result.exit_code != 0 and "--balance: 'ten' is not an amount" in result.output
