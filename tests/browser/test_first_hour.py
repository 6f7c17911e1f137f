"""The first hour of a new customer, in a real browser, each step photographed: register from
the landing page, read the verification mail in the admin's email log (the demo's outbox), verify,
top up 10.00 through the Stripe-shaped page and its signed webhook, buy a server and watch the
Overview turn it active without a reload; then the admin sees the top-up and the purchase on the
overview's chart. Verification is required, so the top-up waits for it. The same steps run on
each panel (the ``panel`` fixture: Pterodactyl, Pelican)."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from kernel.extensions import db
from simulators.stripe import stripe_server  # noqa: F401 - fixture
from tests.browser.panels import panel_app
from tests.stripe.conftest import configure as configure_stripe
from tests.stripe.conftest import fake_settings

NEW = {"name": "Nova", "email": "nova@example.com", "password": "nova-password-1"}
ADMIN = ("boss@example.com", "boss-password-1")


@pytest.fixture
def live_app(panel, instance):  # overrides the browser fixture: a shop selling on ``panel``
    from kernel import site_settings
    from kernel.accounts.services import create_user

    app = panel_app(panel.template, instance, [panel], MAIL_URL="console://")
    with app.app_context():
        panel.product(slug="paper-small", price=1000)
        create_user(*ADMIN, name="Boss", role="admin", verified=True)
        site_settings.set_many({"email_verification": "required", "site_name": "Blockhost"})
        db.session.remove()
    return app


@pytest.fixture
def app(live_app):
    return live_app


def test_register_verify_top_up_buy_and_watch_it_install(
    live_app,
    live_server,
    panel,
    cli,
    browser,
    page,
    screenshot,
    stripe_server,  # noqa: F811
):
    base = live_server
    result = cli("plugin", "enable", "stripe_payments", "--accept-risk")
    assert result.exit_code == 0, result.output
    configure_stripe(live_app, **fake_settings(stripe_server))
    stripe_server.webhook_url = f"{base}/payments/stripe/webhook"
    page.set_default_timeout(20_000)

    # 1. the landing page sends a visitor to registration
    page.goto(f"{base}/")
    assert "Blockhost" in page.title()
    screenshot("first-hour-1-landing")
    page.get_by_role("link", name="Create an account").click()
    page.fill("#name", NEW["name"])
    page.fill("#email", NEW["email"])
    page.fill("#password", NEW["password"])
    if page.locator("#terms").count():
        page.check("#terms")
    page.click("form button[type=submit]")
    page.wait_for_url(re.compile(r"/dashboard$"))
    expect(page.locator(".verify-banner")).to_contain_text("until you do, you cannot buy")
    screenshot("first-hour-2-registered")

    # 2. a top-up is refused until the address is confirmed
    page.goto(f"{base}/wallet")
    page.fill("input[name=amount]", "10.00")
    page.get_by_role("button", name="Continue to payment").click()
    expect(page.locator("main")).to_contain_text("Confirm your email address first")
    assert page.js_errors == [
        "Failed to load resource: the server responded with a status of 403 (FORBIDDEN)"
    ]  # Chromium's note on the refusal page itself
    page.js_errors.clear()

    # 3. the admin reads the verification mail in the email log (the demo's outbox)
    staff = browser.new_context(viewport={"width": 1280, "height": 860})
    admin = staff.new_page()
    admin.goto(f"{base}/login")
    admin.fill("input[name=email]", ADMIN[0])
    admin.fill("input[name=password]", ADMIN[1])
    admin.click("button[type=submit]")
    admin.goto(f"{base}/admin/emails/")
    admin.get_by_role("link", name="Confirm your email address").first.click()
    link = admin.locator("pre.email-body a[href*='/verify-email/']").first.get_attribute("href")
    admin.screenshot(path=str(screenshot("first-hour-3-outbox")), full_page=True)
    staff.close()
    assert link

    # 4. the customer follows the link
    page.goto(link.replace("http://localhost:5000", base))
    expect(page.locator(".verify-banner")).to_have_count(0)
    screenshot("first-hour-4-verified")

    # 5. a top-up of 10.00 through the Stripe-shaped hosted page and its signed webhook
    page.goto(f"{base}/wallet")
    page.fill("input[name=amount]", "10.00")
    page.get_by_label("Card (Stripe)").check()
    page.get_by_role("button", name="Continue to payment").click()
    page.wait_for_url(f"{stripe_server.url}/pay/*")
    screenshot("first-hour-5-stripe-page")
    page.get_by_role("button", name="Pay").click()
    page.wait_for_url(f"{base}/wallet/return/*")
    expect(page.locator("[data-testid=balance]")).to_have_text("10.00 USD")
    assert [d.status for d in stripe_server.deliveries] == [200]
    screenshot("first-hour-6-topped-up")

    # 6. buy the server and watch the Overview turn it active without a reload
    page.goto(f"{base}/store/product/paper-small/checkout")
    page.fill("#name", "nova world")
    page.click("button[type=submit]:has-text('Pay and create the server')")
    page.wait_for_url(re.compile(r"/servers/\d+$"))
    screenshot("first-hour-7-installing")
    navigations = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))
    expect(page.locator("#server-status .live-state")).to_have_text("Offline", timeout=30_000)
    expect(page.locator("#server-state-badge")).to_contain_text("Active")
    assert navigations == []  # htmx swapped the card in: no reload
    expect(page.locator("#server-status code")).to_have_text(re.compile(r".+:\d+"))
    # the server is the panel's: created once there, under the customer's name for it
    [created] = panel.created()
    assert created["status"] == 201, created
    assert panel.server_named("nova world")["status"] is None  # installed, not suspended
    screenshot("first-hour-8-active")
    page.goto(f"{base}/wallet")
    expect(page.locator("main")).to_contain_text("Server bought: nova world")
    assert page.js_errors == [], page.js_errors

    # 7. the admin's overview shows the top-up and the purchase paid from the wallet, charted
    staff = browser.new_context(viewport={"width": 1280, "height": 860})
    admin = staff.new_page()
    admin.goto(f"{base}/login")
    admin.fill("input[name=email]", ADMIN[0])
    admin.fill("input[name=password]", ADMIN[1])
    admin.click("button[type=submit]")
    admin.goto(f"{base}/admin/")
    expect(admin.locator("#figure-topups")).to_have_text("10.00 USD")
    expect(admin.locator("#figure-spending")).to_have_text("10.00 USD")
    data = json.loads(admin.locator("#overview-data").text_content())
    assert data["topups"][-1] == 1000 and sum(data["topups"]) == 1000  # today's, minor units
    assert data["spending"][-1] == 1000 and sum(data["spending"]) == 1000
    chart = admin.locator("#money-chart")
    expect(chart).to_be_visible()
    assert admin.evaluate("() => !!Chart.getChart(document.getElementById('money-chart'))")
    admin.screenshot(path=str(screenshot("first-hour-9-admin-overview")), full_page=True)
    staff.close()
