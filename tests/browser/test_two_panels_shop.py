"""One shop selling on both panels at once: a Pterodactyl product and a Pelican product in the
same store; a customer buys both in one browser session, each server is created in its own
panel (and only there), both show on /servers with their live state, and the admin's list
shows both; when one panel goes away only its product reports it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from kernel.extensions import db
from kernel.testing import TEST_PASSWORD
from tests.browser.panel_shop import log_in
from tests.browser.panels import KINDS, Panel, panel_app, start_simulator

ADMIN = ("root@example.com", "root-password-1")
EMAIL = "both@example.com"
SLUGS = {"pterodactyl": "ptero-paper", "pelican": "pelican-paper"}


@pytest.fixture
def panels(pelican_template):
    """Both panels' simulators; the Pelican template has both plugins enabled."""
    running = [start_simulator(kind) for kind in KINDS]
    try:
        yield [
            Panel(kind=k, sim=s, template=pelican_template)
            for k, s in zip(KINDS, running, strict=True)
        ]
    finally:
        for simulator in running:
            simulator.stop()


@pytest.fixture
def live_app(panels, instance):  # overrides the browser fixture: one shop, two panels
    from kernel.accounts.services import create_user
    from kernel.testing import make_customer

    app = panel_app(panels[0].template, instance, panels)
    with app.app_context():
        for panel in panels:
            panel.product(slug=SLUGS[panel.kind], price=1000)
        create_user(*ADMIN, name="Root", role="admin", verified=True)
        make_customer(EMAIL, 25_00, name="Both")
        db.session.remove()
    return app


def test_one_shop_sells_on_both_panels(live_app, live_server, page, panels, screenshot):
    base = live_server
    page.set_default_timeout(20_000)
    log_in(page, base, EMAIL, TEST_PASSWORD)
    page.goto(f"{base}/store")
    for slug in SLUGS.values():
        expect(page.locator(f"a[href$='/store/product/{slug}']").first).to_be_visible()

    bought = {}
    for panel in panels:
        page.goto(f"{base}/store/product/{SLUGS[panel.kind]}/checkout")
        page.fill("#name", f"{panel.kind} world")
        page.click("button[type=submit]:has-text('Pay and create the server')")
        page.wait_for_url(re.compile(r"/servers/\d+$"))
        bought[panel.kind] = int(page.url.rsplit("/", 1)[1])
        expect(page.locator("#server-status .live-state")).to_have_text("Offline", timeout=30_000)

    for panel in panels:  # each server in its own panel, none in the other
        [server] = panel.servers()
        assert server["name"] == f"{panel.kind} world"
        assert server["external_id"] == f"pteroca-{bought[panel.kind]}"
        assert len(panel.created()) == 1

    page.goto(f"{base}/servers")
    for kind, service_id in bought.items():
        card = page.locator(f".server-card[data-server='{service_id}']")
        expect(card.locator(".server-state")).to_have_text("Active")
        expect(card.locator(".live-state")).to_have_text("Offline")
        expect(card).to_contain_text(SLUGS[kind].replace("-", " ").title())
    page.goto(f"{base}/wallet")
    expect(page.locator("[data-testid=balance]")).to_have_text("5.00 USD")
    screenshot("two-panels-servers")
    assert page.js_errors == [], page.js_errors

    page.click("nav form.logout button[type=submit]")
    log_in(page, base, *ADMIN)
    page.goto(f"{base}/admin/store/servers/")
    for kind, service_id in bought.items():
        row = page.locator(f"#servers tr[data-server='{service_id}']")
        expect(row).to_contain_text(f"{kind} world")
        expect(row).to_contain_text("active")

    # --- each product's health is its own panel's: one panel away leaves the other selling ---
    page.goto(f"{base}/admin/store/products/")
    for kind, slug in SLUGS.items():
        row = page.locator(f"tr[data-product='{slug}']")
        expect(row).to_contain_text(kind)
        expect(row.locator(".health")).to_have_text("ok")
    panels[1].sim.stop()  # Pelican goes away
    page.reload()
    expect(page.locator("tr[data-product='pelican-paper'] .health")).to_contain_text(
        "provisioner unreachable"
    )
    expect(page.locator("tr[data-product='ptero-paper'] .health")).to_have_text("ok")
