"""Keyboard only: a customer logs in, buys a server, watches it install, starts it and sends a
console command without touching the mouse; the console is not a trap (Tab leaves it, Escape
jumps to the command line) and focus stays on a power button after it is used. Then nothing
overflows sideways at 390 px, even with a 255-character name without spaces. Each journey runs
on each panel (the ``panel`` fixture)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from kernel.testing import TEST_PASSWORD as PASSWORD
from tests.browser.panels import panel_app

EMAIL = "gamer@example.com"
ACTIVE = "document.activeElement"


@pytest.fixture
def live_app(panel, instance):  # overrides the browser fixture: a shop selling on ``panel``
    from kernel.extensions import db
    from kernel.testing import make_customer

    app = panel_app(panel.template, instance, [panel])
    with app.app_context():
        panel.product(slug="paper-small")
        make_customer(EMAIL, 50_00, name="Gamer")
        db.session.remove()
    return app


def focused(page) -> dict:
    return page.evaluate(f"""() => {{ const e = {ACTIVE}; return {{
        tag: e.tagName.toLowerCase(), id: e.id || "", name: e.getAttribute("name") || "",
        text: (e.innerText || e.value || "").trim().slice(0, 60),
        cls: e.className && e.className.baseVal === undefined ? e.className : "" }}; }}""")


def tab_to(page, selector: str, *, limit: int = 80, back: bool = False) -> None:
    """Press Tab (or Shift+Tab) until ``selector`` has the focus: reachable by keyboard."""
    for _ in range(limit):
        if page.evaluate(f"(s) => {ACTIVE}.matches(s)", selector):
            return
        page.keyboard.press("Shift+Tab" if back else "Tab")
    raise AssertionError(f"Tab never reached {selector}; stuck on {focused(page)}")


def test_keyboard_only_login_buy_and_console_command(live_server, page, panel, screenshot):
    base = live_server
    page.set_default_timeout(20_000)
    page.goto(f"{base}/login")
    tab_to(page, "input[name=email]")  # the login form starts there (autofocus)
    page.keyboard.type(EMAIL)
    tab_to(page, "input[name=password]")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/dashboard")
    page.keyboard.press("Tab")
    first = focused(page)
    assert first["tag"] == "a" and "skip" in first["cls"], first  # the skip link comes first
    page.keyboard.press("Enter")
    assert focused(page)["id"] == "main"

    page.goto(f"{base}/store/product/paper-small/checkout")
    tab_to(page, "#name")
    page.keyboard.type("keyboard world")
    tab_to(page, "button[type=submit].btn-lg")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/servers/\d+$"))
    # the Overview follows the install without a reload
    expect(page.locator("#server-status .live-state")).to_have_text("Offline", timeout=30_000)
    screenshot(f"keyboard-overview-installed-{panel.kind}")
    assert panel.server_named("keyboard world")["status"] is None  # installed in the panel
    # the console is the panel kit's tab on either panel: the same steps on both
    tab_to(page, ".server-tabs a[href$='/console']")
    page.keyboard.press("Enter")
    page.wait_for_selector("#ptero-state[data-state=offline]", timeout=30_000)
    page.wait_for_selector("#ptero-console-status:has-text('Connected')")
    tab_to(page, "button.power-start")
    page.keyboard.press("Enter")
    page.wait_for_selector("#ptero-state[data-state=running]")
    page.wait_for_function("() => !document.querySelector('button.power-start').disabled")
    assert page.evaluate(f"() => {ACTIVE}.matches('button.power-start')"), focused(page)

    # into the terminal and out again: Tab, Shift+Tab and Escape all leave it
    tab_to(page, ".xterm-helper-textarea")
    page.keyboard.press("Tab")
    assert not page.evaluate(f"() => {ACTIVE}.matches('.xterm-helper-textarea')"), "Tab trapped"
    tab_to(page, ".xterm-helper-textarea", back=True)
    page.keyboard.press("Shift+Tab")
    assert not page.evaluate(f"() => {ACTIVE}.matches('.xterm-helper-textarea')"), "trapped"
    tab_to(page, ".xterm-helper-textarea")
    page.keyboard.press("Escape")
    assert focused(page)["id"] == "ptero-command-input"
    page.keyboard.type("say typed without a mouse")
    page.keyboard.press("Enter")
    expect(page.locator(".xterm-rows")).to_contain_text("[Server] typed without a mouse")
    screenshot(f"keyboard-console-command-{panel.kind}")


@pytest.mark.parametrize("width", [390, 1280])
def test_nothing_overflows_sideways(live_app, live_server, browser, width, screenshot):
    from kernel.accounts.models import User
    from kernel.extensions import db

    long_word = "W" * 255
    with live_app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == EMAIL))
        user.name = long_word
        db.session.commit()
    context = browser.new_context(viewport={"width": width, "height": 800})
    page = context.new_page()
    try:
        page.goto(f"{live_server}/login")
        page.fill("input[name=email]", EMAIL)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server}/dashboard")
        page.goto(f"{live_server}/store/product/paper-small/checkout")
        page.fill("#name", "X" * 60)
        page.click("button[type=submit].btn-lg")
        page.wait_for_url(re.compile(r"/servers/\d+$"))
        server = page.url
        wide = {}
        for path in (
            "/dashboard",
            "/store",
            "/store/product/paper-small",
            "/store/product/paper-small/checkout",
            "/wallet",
            "/servers",
            server.removeprefix(live_server),
            "/account",
            "/no-such-page",
        ):
            page.goto(f"{live_server}{path}")
            overflow = page.evaluate("() => document.documentElement.scrollWidth")
            if overflow > width:
                wide[path] = overflow
        page.goto(f"{live_server}/dashboard")
        screenshot(f"long-name-dashboard-{width}")
        assert wide == {}
    finally:
        context.close()
