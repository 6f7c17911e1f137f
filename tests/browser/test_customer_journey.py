"""A customer registers, verifies the emailed link, turns on 2FA, logs in with a TOTP code
and resets a forgotten password: the whole account journey in a real browser."""

from __future__ import annotations

from urllib.parse import urlsplit

import pyotp
import pytest

from kernel.testing import build_app
from tests.fakes.smtp import FakeSMTPServer

EMAIL, PASSWORD, NEW_PASSWORD = "newbie@example.com", "first-password-1", "second-password-2"


@pytest.fixture
def smtp():
    with FakeSMTPServer() as server:
        yield server


@pytest.fixture
def live_app(instance, plugins_dir, smtp):  # overrides the browser fixture: real SMTP
    return build_app(instance, WTF_CSRF_ENABLED=True, MAIL_URL=smtp.url)


def local(url: str, base: str) -> str:
    """The emailed link, on the live server (BASE_URL is not the test server's port)."""
    parts = urlsplit(url)
    return f"{base}{parts.path}" + (f"?{parts.query}" if parts.query else "")


def next_code(secret: str, step: int) -> str:
    """A TOTP code for a later 30-second step: each code is accepted once (no replay), and the
    server accepts the neighbouring step, so the journey needs no waiting."""
    import time

    return pyotp.TOTP(secret).at(time.time() + 30 * step)


def log_in(page, base, password):
    page.goto(f"{base}/login")
    page.fill("input[name=email]", EMAIL)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def test_register_verify_2fa_login_and_reset(live_server, page, smtp, screenshot):
    base = live_server
    page.goto(f"{base}/register")
    page.fill("#name", "Newbie")
    page.fill("#email", EMAIL)
    page.fill("#password", PASSWORD)
    page.check("#terms")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/dashboard")
    assert "confirm your email address" in page.inner_text("main").lower()  # the banner

    page.goto(local(smtp.link_to(EMAIL, "/verify-email/"), base))
    page.goto(f"{base}/dashboard")
    assert "confirm your email address" not in page.inner_text("main").lower()

    page.goto(f"{base}/account/2fa")
    secret = page.inner_text("code.secret").replace(" ", "")
    page.fill("#code", pyotp.TOTP(secret).now())
    page.click("form button[type=submit] >> text=Switch on")
    assert "recovery" in page.inner_text("main").lower()
    recovery = page.locator("ul.recovery-codes li").first.inner_text()

    page.click("nav form.logout button[type=submit]")
    log_in(page, base, PASSWORD)
    page.fill("#code", next_code(secret, 1))
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/dashboard")
    screenshot("customer-dashboard")

    page.click("nav form.logout button[type=submit]")
    page.goto(f"{base}/forgot-password")
    page.fill("#email", EMAIL)
    page.click("button[type=submit]")
    page.goto(local(smtp.link_to(EMAIL, "/reset-password/"), base))
    page.fill("#password", NEW_PASSWORD)
    page.fill("#confirm", NEW_PASSWORD)
    page.click("button[type=submit]")

    log_in(page, base, PASSWORD)
    assert "/dashboard" not in page.url  # the old password no longer works
    log_in(page, base, NEW_PASSWORD)
    page.fill("#code", recovery)  # each TOTP step is accepted once: use a recovery code
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/dashboard")
    # the refused login above answered 400, which Chromium reports on the console (at its
    # own pace); anything else there is a real problem
    assert [e for e in page.js_errors if "status of 400" not in e] == [], page.js_errors
