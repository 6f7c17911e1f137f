"""The store's admin journeys on each panel (the ``panel`` fixture: Pterodactyl, Pelican), in
a real browser against the panel's simulator, with the same steps on both.

The admin chooses the panel's provisioner for a new product, fills its settings (egg,
variables, limits, placement; an egg the panel lacks is refused and nothing typed is lost),
adds a price and edits the memory; the customer's server is created in the panel with the
edited limits; the admin finds the product and the server in the lists, suspends and
unsuspends it (the panel follows) and creates a server for the customer. A purchase while the
node daemon is down is refunded with no server kept, and created once when staff retry.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from kernel.extensions import db
from kernel.testing import TEST_PASSWORD
from tests.browser.panel_shop import (
    ADMIN,
    EMAIL,
    buy,
    eventually,
    log_in,
    pick,
    service_row,
    shop_app,
)

VARIABLES = "MINECRAFT_VERSION=1.20.4 | visible, editable\nBUILD_NUMBER=latest | visible"


@pytest.fixture
def live_app(panel, instance):  # overrides the browser fixture: a shop selling on ``panel``
    return shop_app(panel, instance)


def test_admin_creates_and_edits_a_panel_product_then_manages_its_server(
    live_app, live_server, browser, page, panel, screenshot
):
    base = live_server
    page.set_default_timeout(20_000)
    log_in(page, base, *ADMIN)

    # --- a new product: the panel's provisioner, then its own settings ---------------------
    page.goto(f"{base}/admin/store/products/new")
    page.select_option("#provisioner", value=panel.plugin)
    page.click("button[type=submit]:has-text('Next')")
    expect(page.locator("#section-provisioner legend")).to_have_text(f"{panel.label} settings")
    page.fill("#name", "Paper Plus")
    page.fill("#slug", "paper-plus")
    settings = panel.paper_settings()
    fields = {"egg_id": settings["egg_id"], "variables": VARIABLES, "memory": 2048}
    fields |= {"disk": 10240, "port_range": "25565-25600", **panel.placement()}
    if panel.kind == "pterodactyl":
        fields["nest_id"] = settings["nest_id"]  # Pelican has no nests
    else:
        assert page.locator("[name=ps_nest_id]").count() == 0
    for key, value in fields.items():
        page.fill(f"[name=ps_{key}]", str(value))
    # an egg the panel does not have: refused with the reason, nothing typed is lost
    page.fill("[name=ps_egg_id]", "9999")
    page.click("#product-form button[type=submit]")
    expect(page.locator("#form-error")).to_contain_text("9999")
    assert page.input_value("#name") == "Paper Plus"
    assert page.input_value("[name=ps_variables]").replace("\r", "") == VARIABLES
    page.fill("[name=ps_egg_id]", str(settings["egg_id"]))
    page.click("#product-form button[type=submit]")
    page.wait_for_url(re.compile(r"/admin/store/products/\d+$"))
    expect(page.locator("main, body").first).to_contain_text("now add a price plan")
    page.fill("#plan-price", "10.00")
    page.click("#add-plan button[type=submit]")
    expect(page.locator("#plans")).to_contain_text("10.00")
    screenshot(f"panel-product-{panel.kind}")

    # --- edited: more memory -----------------------------------------------------------
    page.fill("[name=ps_memory]", "3072")
    page.click("#product-form button[type=submit]")
    expect(page.locator("body")).to_contain_text("Product 'Paper Plus' saved")
    assert page.input_value("[name=ps_memory]") == "3072"
    assert page.input_value("[name=ps_egg_id]") == str(settings["egg_id"])
    assert "MINECRAFT_VERSION=1.20.4 | visible, editable" in page.input_value("[name=ps_variables]")

    # --- a customer buys it: the panel creates the server with the edited limits ----------
    shopper = browser.new_context(viewport={"width": 1280, "height": 860})
    customer = shopper.new_page()
    customer.set_default_timeout(20_000)
    log_in(customer, base, EMAIL, TEST_PASSWORD)
    buy(customer, base, "paper-plus", "plus world")
    # the form's default starts the server once installed
    expect(customer.locator("#server-status .live-state")).to_have_text("Running", timeout=30_000)
    shopper.close()
    server = panel.server_named("plus world")
    assert server["memory"] == 3072 and server["egg"] == settings["egg_id"]
    service = service_row(live_app, "plus world")
    assert server["external_id"] == f"pteroca-{service.id}"

    # --- the admin's lists: the product (its panel, healthy, one server), the server -------
    page.goto(f"{base}/admin/store/products/")
    product_row = page.locator("tr[data-product='paper-plus']")
    expect(product_row).to_contain_text(panel.plugin)
    expect(product_row.locator(".health")).to_have_text("ok")
    expect(product_row.locator("td").nth(6)).to_have_text("1")  # its live servers
    page.goto(f"{base}/admin/store/servers/")
    row = page.locator(f"#servers tr[data-server='{service.id}']")
    expect(row).to_contain_text("plus world")
    expect(row).to_contain_text("Paper Plus")
    expect(row).to_contain_text("active")
    row.get_by_role("link", name="plus world").click()
    expect(page.locator("#server-state")).to_have_text("active")
    expect(page.locator("#server-sync")).to_contain_text("should be active")
    page.fill("#suspend input[name=reason]", "abuse report")
    page.click("#suspend button[type=submit]")
    expect(page.locator("#server-state")).to_contain_text("suspended (manual)")
    eventually(
        lambda: panel.server_named("plus world")["status"] == "suspended", "suspended in the panel"
    )
    page.click("#unsuspend button[type=submit]")
    expect(page.locator("#server-state")).to_have_text("active")
    eventually(
        lambda: panel.server_named("plus world")["status"] is None, "unsuspended in the panel"
    )
    screenshot(f"panel-admin-server-{panel.kind}")

    # --- a server the admin creates for the customer (free) is created in the panel too ---
    page.goto(f"{base}/admin/store/servers/new")
    page.fill("#email", EMAIL)
    pick(page, "#plan", lambda text: text.startswith("paper plus"))
    page.fill("#name", "gift world")
    page.click("#create-server button[type=submit]")
    page.wait_for_url(re.compile(r"/admin/store/servers/\d+$"))
    gift = eventually(
        lambda: [s for s in panel.servers() if s["name"] == "gift world"], "the gift in the panel"
    )
    page.reload()
    expect(page.locator("#server-state")).to_have_text("active")
    assert gift[0]["memory"] == 3072 and len(panel.created()) == 2
    # the refused save answered 400, which Chromium reports; nothing else may appear
    assert [e for e in page.js_errors if "status of 400" not in e] == [], page.js_errors


def test_bought_while_wings_is_down_refunded_then_retried_by_staff(
    live_app, live_server, browser, page, panel, screenshot
):
    with live_app.app_context():
        panel.product(slug="paper-small", price=1000)
        db.session.remove()
    base = live_server
    page.set_default_timeout(20_000)
    log_in(page, base, EMAIL, TEST_PASSWORD)

    # --- the node daemon is down: the order fails, the payment comes back, no server kept ---
    panel.sim.set_switches(wings_down=True)
    server_url = buy(page, base, "paper-small", "patient world")
    expect(page.locator("main")).to_contain_text("the payment was refunded")
    expect(page.locator("main")).to_contain_text("Creation failed")
    assert [s for s in panel.servers() if s["name"] == "patient world"] == []
    assert panel.created() and all(r["status"] >= 500 for r in panel.created())
    page.goto(f"{base}/wallet")
    expect(page.locator("[data-testid=balance]")).to_have_text("25.00 USD")
    screenshot(f"panel-wings-down-{panel.kind}")

    # --- Wings is back: staff retry (charging again) and the panel creates it once ----------
    panel.sim.set_switches(wings_down=False)
    service_id = int(server_url.rsplit("/", 1)[1])
    staff = browser.new_context(viewport={"width": 1280, "height": 860})
    admin = staff.new_page()
    admin.set_default_timeout(20_000)
    log_in(admin, base, *ADMIN)
    admin.goto(f"{base}/admin/store/servers/{service_id}")
    expect(admin.locator("#server-state")).to_have_text("provisioning failed")
    admin.click("#retry button[type=submit]")
    eventually(lambda: service_row(live_app, "patient world").state == "active", "created")
    staff.close()
    [server] = [s for s in panel.servers() if s["name"] == "patient world"]
    assert server["external_id"] == f"pteroca-{service_id}"
    assert [r["status"] for r in panel.created()].count(201) == 1
    page.goto(server_url)
    expect(page.locator("#server-state-badge")).to_contain_text("Active")
    page.goto(f"{base}/wallet")
    expect(page.locator("[data-testid=balance]")).to_have_text("15.00 USD")
