"""The store's customer journeys on each panel (the ``panel`` fixture: Pterodactyl, Pelican),
in a real browser against the panel's simulator, with the same steps on both.

Buy, see the server on /servers with its live state, renew from the wallet, miss a payment
(the lifecycle task suspends it in the panel), pay and renew again (the panel unsuspends it);
choose the egg and the region at checkout, rename the server and change plan (refused across
regions), the panel following each.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from kernel import clock
from kernel.extensions import db
from kernel.testing import TEST_PASSWORD
from tests.browser.panel_shop import (
    EMAIL,
    buy,
    eventually,
    log_in,
    pick,
    service_row,
    shop_app,
    user_id,
)


@pytest.fixture
def live_app(panel, instance):  # overrides the browser fixture: a shop selling on ``panel``
    return shop_app(panel, instance)


@pytest.fixture
def app(live_app):  # the ``cli`` fixture's app
    return live_app


def test_customer_buys_renews_misses_a_payment_and_renews_again(
    live_app, live_server, page, panel, cli, screenshot
):
    from kernel.payments import ledger

    with live_app.app_context():
        panel.product(slug="paper-small", price=1000)
        db.session.remove()
    base = live_server
    page.set_default_timeout(20_000)
    log_in(page, base, EMAIL, TEST_PASSWORD)

    # --- buy (25.00 - 10.00), installed in the panel --------------------------------------
    server_url = buy(page, base, "paper-small", "renew world")
    service_id = int(server_url.rsplit("/", 1)[1])
    expect(page.locator("#server-status .live-state")).to_have_text("Offline", timeout=30_000)
    assert panel.server_named("renew world")["external_id"] == f"pteroca-{service_id}"

    # --- /servers: the card with the store's state and the panel's live state ---------------
    page.goto(f"{base}/servers")
    card = page.locator(f".server-card[data-server='{service_id}']")
    expect(card.locator(".server-state")).to_have_text("Active")
    expect(card.locator(".live-state")).to_have_text("Offline")
    screenshot(f"panel-servers-{panel.kind}")

    # --- renew from the wallet (15.00 - 10.00): one more period ----------------------------
    first_expiry = service_row(live_app, "renew world").expires_at
    card.get_by_role("link", name="Renew", exact=True).click()
    page.click("button[value=pay]")
    page.wait_for_url(server_url)
    expect(page.locator("main")).to_contain_text("Renewed: the server now runs until")
    renewed = service_row(live_app, "renew world").expires_at
    assert renewed - first_expiry == timedelta(days=30)

    # --- unpaid: a day after the paid period the lifecycle task suspends it in the panel ---
    with clock.advanced(renewed - clock.now() + timedelta(days=1)):
        result = cli("cron", "run", "--task", "store.lifecycle", "--force")
        assert result.exit_code == 0 and "store.lifecycle: ok" in result.output, result.output
        assert service_row(live_app, "renew world").state == "suspended"
        eventually(
            lambda: panel.server_named("renew world")["status"] == "suspended",
            "suspended in the panel",
        )
        page.goto(f"{base}/servers")
        expect(card.locator(".server-state")).to_have_text("Suspended")
        expect(card).to_contain_text("Suspended: renew to start it again")
        screenshot(f"panel-suspended-{panel.kind}")

        # --- paid again (5.00 + 10.00): the renewal lifts the suspension in the panel too ---
        buyer = user_id(live_app)
        with live_app.app_context():
            ledger.credit(buyer, 10_00, "adjustment", "seed:top-up")
            db.session.remove()
        page.goto(f"{base}/servers/{service_id}/renew")
        page.click("button[value=pay]")
        page.wait_for_url(server_url)
        expect(page.locator(".server-state")).to_have_text("Active")
        eventually(
            lambda: panel.server_named("renew world")["status"] is None, "unsuspended in the panel"
        )
    assert page.js_errors == [], page.js_errors


def test_customer_chooses_egg_and_region_then_renames_and_upgrades(
    live_app, live_server, page, panel, screenshot
):
    choices = panel.choice_settings()
    with live_app.app_context():
        panel.product(slug="paper-choice", settings=choices, price=1000)
        panel.product(slug="paper-big-eu", settings=panel.paper_settings(memory=4096), price=1500)
        panel.product(slug="paper-big", settings=panel.choice_settings(memory=4096), price=1500)
        db.session.remove()
    base = live_server
    page.set_default_timeout(20_000)
    log_in(page, base, EMAIL, TEST_PASSWORD)

    # --- checkout: the game version by its name (no panel ids) and the region ------------
    page.goto(f"{base}/store/product/paper-choice/checkout")
    eggs = [o.strip() for o in page.locator("#opt-egg option").all_inner_texts()]
    assert sorted(eggs) == ["Paper", "Vanilla Minecraft"], eggs
    pick(page, "#opt-egg", lambda text: text.startswith("vanilla"))
    pick(page, f"#opt-{panel.region_field}", lambda text: text.endswith("us"))  # sim-us
    page.fill("#name", "choice world")
    page.click("button[type=submit]:has-text('Pay and create the server')")
    page.wait_for_url(re.compile(r"/servers/\d+$"))
    server_url = page.url
    expect(page.locator("#server-status .live-state")).to_have_text("Offline", timeout=30_000)
    server = panel.server_named("choice world")
    assert server["egg"] == int(choices["extra_egg_ids"])  # Vanilla
    assert panel.region_of(server) == "sim-us"
    screenshot(f"panel-choices-{panel.kind}")

    # --- renamed in the store's settings: the panel's name follows ----------------------
    page.goto(f"{server_url}/settings")
    page.fill("#server-name", "renamed world")
    page.click(".server-rename button[type=submit]")
    expect(page.locator("main")).to_contain_text("renamed world")
    eventually(
        lambda: [s for s in panel.servers() if s["name"] == "renamed world"], "renamed in the panel"
    )

    # --- upgraded to the bigger plan (prorated): the panel's limits follow ----------------
    page.goto(f"{server_url}/change-plan")
    page.locator(".change-plan-option[data-product='paper-big-eu']").get_by_role(
        "button", name="Upgrade"
    ).click()  # the server is in the US: a plan only for Europe cannot take it
    expect(page.locator("main")).to_contain_text(
        "cannot change to Paper Big Eu: the server's node sim-node-2"
    )  # "is in a location the new plan does not use" (Pelican: "carries none of its tags")
    assert panel.server_named("renamed world")["memory"] == 2048
    page.locator(".change-plan-option[data-product='paper-big']").get_by_role(
        "button", name="Upgrade"
    ).click()
    expect(page.locator("main")).to_contain_text("Your server now runs on Paper Big")
    eventually(
        lambda: panel.server_named("renamed world")["memory"] == 4096, "the bigger plan's memory"
    )
    assert panel.server_named("renamed world")["id"] == server["id"]  # the same server
    assert len(panel.created()) == 1
    # the refused change answered 400, which Chromium reports; nothing else may appear
    assert [e for e in page.js_errors if "status of 400" not in e] == [], page.js_errors
