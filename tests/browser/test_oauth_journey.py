"""A customer signs up with a provider (the fake one, over HTTP), then links a second provider
and unlinks the first on the account page: in a real browser."""

from __future__ import annotations

import socket
import threading

import pytest
from werkzeug.serving import make_server

from kernel.testing import build_app, rebuild, run_cli
from kernel.wsgi import HotSwapApplication
from tests.fakes.osv_server import osv_server  # noqa: F401 - fixture
from tests.oauth_login.conftest import configure, provider_settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def oauth_live(instance, plugins_dir, osv_server, oauth_simulator):  # noqa: F811
    """A live server whose BASE_URL is its own address (the provider redirects back there)."""

    port = free_port()
    app = build_app(
        instance, WTF_CSRF_ENABLED=True, OSV_URL=osv_server.url, BASE_URL=f"http://127.0.0.1:{port}"
    )
    result = run_cli(app, "plugin", "enable", "oauth_login")
    assert result.exit_code == 0, result.output
    app = rebuild(app)
    configure(app, **provider_settings(oauth_simulator, "discord", "github"))
    oauth_simulator.auto_approve = False  # the provider shows its "Authorize" page
    wsgi = HotSwapApplication(factory=lambda: rebuild(app), poll_seconds=0.2)
    server = make_server("127.0.0.1", port, wsgi, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()


def sign_in_methods(page) -> str:
    return page.inner_text("#sign-in-methods")


def test_sign_up_with_a_provider_then_link_and_unlink(
    oauth_live, oauth_simulator, page, screenshot
):
    base = oauth_live
    oauth_simulator.sign_in_as(
        "31337", "raider@example.com", verified=True, name="Raid Leader", username="raider"
    )
    page.goto(f"{base}/register")
    page.click("button[data-provider=discord]")
    page.wait_for_selector("#approve")  # the provider's page
    page.click("#approve")
    page.wait_for_url(f"{base}/oauth/signup")
    assert page.input_value("#email") == "raider@example.com"
    assert page.input_value("#name") == "Raid Leader"
    page.check("#terms")
    page.click("#oauth-signup button[type=submit]")
    page.wait_for_url(f"{base}/dashboard")
    assert "Welcome" in page.inner_text("main")

    page.goto(f"{base}/account")
    methods = sign_in_methods(page)
    assert "Discord" in methods and "raider" in methods
    assert "your only way to log in" in methods
    screenshot("oauth-account-one-method")

    oauth_simulator.sign_in_as("4242", "raider-gh@example.com", username="raidergh")
    page.click("#sign-in-methods button:has-text('Link GitHub')")
    page.wait_for_selector("#approve")
    page.click("#approve")
    page.wait_for_url(f"{base}/account#sign-in-methods")
    methods = sign_in_methods(page)
    assert "GitHub is linked" in page.inner_text("main") and "raidergh" in methods
    assert "your only way to log in" not in methods

    page.click("[data-provider=discord] button:has-text('Unlink')")
    page.wait_for_url(f"{base}/account#sign-in-methods")
    assert "Discord is no longer linked" in page.inner_text("main")
    discord_row = page.inner_text("#sign-in-methods [data-provider=discord]")
    assert "not linked" in discord_row
    assert "your only way to log in" in sign_in_methods(page)  # GitHub is now the last one
    screenshot("oauth-account-relinked")

    page.click("form[action='/logout'] button")
    page.goto(f"{base}/login")
    page.click("button[data-provider=github]")
    page.wait_for_selector("#approve")
    page.click("#approve")
    page.wait_for_url(f"{base}/dashboard")
