"""The store's admin and customer journeys on each panel (the ``panel`` fixture: Pterodactyl,
Pelican), in a real browser against the panel's simulator, with the same steps on both.

Admin: choose the panel's provisioner for a new product, fill its settings (egg, variables,
limits, placement; an egg the panel lacks is refused), add a price, edit the memory; the
customer's server is created in the panel with the edited limits; the admin finds the product
and the server in the lists, suspends and unsuspends it and the panel follows, and creates a
server for the customer. Customer: buy, see the server on /servers with its live state, renew
from the wallet, miss a payment (the lifecycle task suspends it in the panel), pay and renew
again (the panel unsuspends it); choose the egg and region at checkout, rename the server and
change plan (refused across regions), the panel following each; buy while the node daemon is
down (refunded, no server kept) and get the server once staff retry.
"""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from kernel import clock
from kernel.extensions import db
from kernel.testing import TEST_PASSWORD
from tests.browser.panels import panel_app

ADMIN = ("root@example.com", "root-password-1")
EMAIL = "buyer@example.com"
VARIABLES = "MINECRAFT_VERSION=1.20.4 | visible, editable\nBUILD_NUMBER=latest | visible"


@pytest.fixture
def live_app(panel, instance):  # overrides the browser fixture: a shop selling on ``panel``
    from kernel.accounts.services import create_user
    from kernel.testing import make_customer

    app = panel_app(panel.template, instance, [panel])
    with app.app_context():
        create_user(*ADMIN, name="Root", role="admin", verified=True)
        make_customer(EMAIL, 25_00, name="Buyer")
        db.session.remove()
    return app


@pytest.fixture
def app(live_app):  # the ``cli`` fixture's app
    return live_app


def log_in(page, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/dashboard")


def eventually(check, what: str, seconds: float = 30):
    """``check()``'s first truthy answer (the panel follows the store through a job)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def service_row(app, name: str):
    """The store's service named ``name`` (read in a fresh session)."""
    from builtin_plugins.store.models import Service

    with app.app_context():
        service = db.session.scalar(db.select(Service).where(Service.name == name))
        db.session.expunge(service)
        db.session.remove()
    return service


def buy(page, base: str, slug: str, name: str) -> str:
    """Checkout ``slug`` as ``name`` and wait for the server page; its address."""
    page.goto(f"{base}/store/product/{slug}/checkout")
    page.fill("#name", name)
    page.click("button[type=submit]:has-text('Pay and create the server')")
    page.wait_for_url(re.compile(r"/servers/\d+$"))
    return page.url


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
        buyer = _user_id(live_app)
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


def _user_id(app) -> int:
    from kernel.accounts.models import User

    with app.app_context():
        user_id = db.session.scalar(db.select(User.id).where(User.email == EMAIL))
        db.session.remove()
    return user_id


def pick(page, select: str, wanted) -> None:
    """Choose the option of ``select`` whose text ``wanted(text)`` accepts (exactly one)."""
    options = page.locator(f"{select} option").all_inner_texts()
    [label] = [o for o in options if wanted(o.strip().lower())]
    page.select_option(select, label=label.strip())


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
