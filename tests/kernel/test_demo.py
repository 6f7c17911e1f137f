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
    assert (
        "plugins enabled: announcements, hello_world, invoices, oauth_login, panel_kit, "
        "paypal_payments, pelican, pterodactyl, store, stripe_payments, support"
    ) in result.output
    assert "support: customers open tickets on /support/" in result.output
    assert "invoices: demo seller in Germany, 27 EU VAT rates" in result.output
    accounts = credentials(result.output)
    assert set(accounts) == {"admin@example.com", "customer@example.com"}
    assert "->  http://127.0.0.1:5000/admin/" in result.output
    simulator = re.search(r"Pterodactyl simulator: (http://127\.0\.0\.1:\d+)", result.output).group(
        1
    )
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

        # Stripe is on, pointed at the demo's Stripe-shaped simulator
        assert [p.identifier for p in available_providers("USD")] == ["stripe"]
        stripe = re.search(r"Stripe simulator: (http://127\.0\.0\.1:\d+)", result.output).group(1)
        assert settings_for("stripe_payments")["api_base"] == stripe
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
        service = services.purchase(
            customer,
            token=services.new_purchase_token(customer),
            product_id=product.id,
            plan_id=product.plans[0].id,
            name="Demo world",
        )
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


def test_the_demo_runs_on_the_pelican_simulator_with_panel_pelican(app, cli):
    from simulators import demo as simulated

    try:
        result = cli("demo", "--no-serve", "--panel", "pelican")
        assert result.exit_code == 0, result.output
        simulator = re.search(r"Pelican simulator: (http://127\.0\.0\.1:\d+)", result.output)
        assert simulator, result.output
        assert "Pelican catalog: 4 products added" in result.output
        assert "Pterodactyl simulator" not in result.output
        live = rebuild(app)
        with live.app_context():
            from builtin_plugins.store import services
            from builtin_plugins.store.catalog import product_by_slug
            from kernel.accounts.services import find_user
            from kernel.plugins.settings import settings_for

            assert settings_for("pelican")["panel_url"] == simulator.group(1)
            product = product_by_slug("pelican-paper-2gb")
            assert product.provisioner == "pelican"
            customer = find_user("customer@example.com")
            service = services.purchase(
                customer,
                token=services.new_purchase_token(customer),
                product_id=product.id,
                plan_id=product.plans[0].id,
                name="Pelican world",
                options={"region": "sim-us"},
            )
            assert service.state == "active", service.last_error
        state = httpx.get(f"{simulator.group(1)}/_simulator/state", timeout=5).json()
        assert [s["name"] for s in state["servers"]] == ["Pelican world"]
    finally:
        simulated.stop_simulator()


def test_an_unknown_demo_panel_is_a_usage_error(app, cli):
    result = cli("demo", "--no-serve", "--panel", "multicraft")
    assert result.exit_code == 2
    assert "'multicraft' is not one of 'pterodactyl', 'pelican'" in result.output


def test_a_bad_balance_is_one_clear_line(app, cli):
    result = cli("demo", "--no-serve", "--balance", "ten")
    assert result.exit_code != 0 and "--balance: 'ten' is not an amount" in result.output


def test_the_accounts_are_the_last_lines_and_no_warning_is_printed(demo):
    _app, result = demo
    lines = result.output.strip().splitlines()
    assert lines[-2].startswith("admin:    admin@example.com / ")
    assert lines[-1].startswith("customer: customer@example.com / ")
    assert not [line for line in lines if "warning" in line.lower()], result.output
    outbox = re.search(r"^mail:\s+the outbox file (\S+);", result.output, re.M).group(1)
    assert outbox.endswith("/demo-outbox.mbox")
    assert "read every message, links included, in the admin's email log" in result.output
    assert "->  http://127.0.0.1:5000/admin/emails/" in result.output


def test_a_first_demo_start_logs_no_warning(app, cli, caplog):
    """ "database not initialised yet" is what `pteroca demo` expects on a first start: it is
    said at INFO (a first-time user read the WARNING line as a failure)."""
    import logging

    from simulators import demo as simulated

    with caplog.at_level(logging.INFO):
        try:
            result = cli("demo", "--no-serve")
        finally:
            simulated.stop_simulator()
    assert result.exit_code == 0, result.output
    assert not [
        r
        for r in caplog.records
        if r.levelno >= logging.WARNING and "not initialised" in r.getMessage()
    ]


def test_a_top_up_goes_through_the_simulated_stripe_page_and_a_signed_webhook(demo):
    """The demo's money path on this machine: the wallet offers Stripe, the customer pays on
    the simulator's hosted page, its signed webhook reaches the served panel and credits."""
    import threading

    from werkzeug.serving import make_server

    from simulators import demo as simulated

    app, result = demo
    live = rebuild(app)
    server = make_server("127.0.0.1", 0, live, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    simulated._running["stripe"].webhook_url = f"{base}/payments/stripe/webhook"
    try:
        password = credentials(result.output)["customer@example.com"]
        with httpx.Client(base_url=base, timeout=20) as browser:
            form = browser.get("/login").text
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
            browser.post(
                "/login",
                data={"email": "customer@example.com", "password": password, "csrf_token": csrf},
            )
            wallet = browser.get("/wallet").text
            assert 'value="stripe"' in wallet and "No payment method" not in wallet
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', wallet).group(1)
            started = browser.post(
                "/wallet/topup", data={"amount": "10.00", "provider": "stripe", "csrf_token": csrf}
            )
            assert started.status_code == 303
            hosted = started.headers["location"]
            assert hosted.startswith(settings_of(live)["api_base"] + "/pay/")
            assert "10.00 USD" in httpx.get(hosted, timeout=10).text
            paid = httpx.post(hosted, timeout=10)  # the "Pay" button
            assert paid.status_code == 303 and paid.headers["location"].startswith(base)
        deliveries = simulated._running["stripe"].deliveries
        assert [d.status for d in deliveries] == [200]  # signed, accepted by the panel
        with live.app_context():
            from kernel.accounts.services import find_user
            from kernel.payments import ledger
            from kernel.payments.models import Payment

            customer = find_user("customer@example.com")
            assert ledger.balance(customer.id) == 10000 + 1000
            assert db.session.scalar(db.select(Payment.status)) == "paid"
    finally:
        server.shutdown()


def settings_of(app) -> dict:
    with app.app_context():
        from kernel.plugins.settings import settings_for

        return settings_for("stripe_payments")
