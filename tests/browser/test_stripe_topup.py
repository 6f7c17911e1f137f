"""A customer tops up through the Stripe fake's hosted Checkout page and sees the new balance."""

from __future__ import annotations

import pytest

from kernel.testing import build_app
from simulators.stripe import stripe_server  # noqa: F401 - fixture
from tests.fakes.osv_server import osv_server  # noqa: F401 - fixture
from tests.helpers import PASSWORD, make_user
from tests.stripe.conftest import configure, fake_settings


def arrive(page, url: str) -> None:
    """Wait for the browser to reach ``url``; if it does not, say where it is and why."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_url(url, timeout=10_000)
    except PlaywrightTimeout:
        raise AssertionError(
            f"still on {page.url}, not {url}; browser errors: {page.js_errors}"
        ) from None


@pytest.fixture
def live_app(instance, plugins_dir, osv_server):  # noqa: F811 - overrides the browser fixture
    return build_app(instance, WTF_CSRF_ENABLED=True, OSV_URL=osv_server.url)


@pytest.fixture
def app(live_app):
    """``cli`` runs against the live app's configuration (the OSV fake included)."""
    return live_app


def test_topup_through_stripe_checkout(live_app, live_server, cli, page, screenshot, stripe_server):  # noqa: F811
    result = cli("plugin", "enable", "stripe_payments")
    assert result.exit_code == 0, result.output
    configure(live_app, **fake_settings(stripe_server))
    stripe_server.webhook_url = f"{live_server}/payments/stripe/webhook"
    with live_app.app_context():
        make_user("shopper@example.com", name="Shopper")

    page.goto(f"{live_server}/login")
    page.fill("input[name=email]", "shopper@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/dashboard")

    page.goto(f"{live_server}/wallet")
    assert page.inner_text("[data-testid=balance]") == "0.00 USD"
    page.fill("input[name=amount]", "25.00")
    page.get_by_label("Card (Stripe)").check()
    page.get_by_role("button", name="Continue to payment").click()

    arrive(page, f"{stripe_server.url}/pay/*")
    assert "25.00 USD" in page.inner_text("#amount")
    page.get_by_role("button", name="Pay").click()

    arrive(page, f"{live_server}/wallet/return/*")
    assert "Payment received" in page.inner_text("body")
    assert page.inner_text("[data-testid=balance]") == "25.00 USD"
    assert [d.status for d in stripe_server.deliveries] == [200]
    screenshot("stripe_topup_return")
    page.goto(f"{live_server}/wallet")
    assert page.inner_text("[data-testid=balance]") == "25.00 USD"
    assert page.js_errors == []
