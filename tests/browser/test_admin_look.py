"""The admin in a real browser: the client area's design (Bootstrap 5 from the theme, the same
navigation bar), a menu on one line at 1280 px, nothing wider than a 390 px phone, a skip link
to the main landmark, and the user page's impersonation round trip. axe-core checks every page
(tests/axe_audit.py). Screenshots: admin-look-*.png."""

from __future__ import annotations

import pytest

from kernel.testing import build_app
from tests.helpers import PASSWORD, make_user, write_plugin
from tests.store.conftest import RECORDER


@pytest.fixture
def live_app(instance, plugins_dir):  # overrides the browser fixture
    return build_app(instance, WTF_CSRF_ENABLED=True, MAIL_URL=f"file://{instance}/mail.log")


@pytest.fixture
def app(live_app):
    return live_app


@pytest.fixture
def shop(live_app, cli, plugins_dir):
    write_plugin(
        plugins_dir,
        "recorder",
        RECORDER,
        capabilities=["register_provisioners"],
        requires={"store": ">=1.0"},
    )
    for args in (("recorder", "--with-dependencies", "--yes"), ("hello_world", "--accept-risk")):
        result = cli("plugin", "enable", *args)
        assert result.exit_code == 0, result.output
    from kernel.extensions import db
    from kernel.payments import adjustments

    with live_app.app_context():
        admin = make_user("root@example.com", name="Root", role="admin")
        customer = make_user("camille@example.com", name="Camille")
        adjustments.adjust(customer, 2500, "welcome credit", actor=admin.email)
        ids = {"customer": customer.id}
        db.session.remove()
    return ids


def log_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/dashboard")


def stylesheets(page) -> list[str]:
    return page.eval_on_selector_all("link[rel=stylesheet]", "links => links.map(l => l.href)")


def navbar_look(page) -> dict:
    return page.eval_on_selector(
        "nav.navbar",
        """nav => {
        const style = getComputedStyle(nav);
        const brand = getComputedStyle(nav.querySelector('.navbar-brand'));
        return {background: style.backgroundColor, font: getComputedStyle(document.body).fontFamily,
                brand: brand.color, body: getComputedStyle(document.body).backgroundColor};
    }""",
    )


def test_admin_pages_look_like_the_client_area_fit_and_are_screenshotted(
    live_server, page, screenshot, shop
):
    base = live_server
    log_in(page, base, "root@example.com")
    client_look, client_css = navbar_look(page), stylesheets(page)
    bootstrap = next(href for href in client_css if "vendor/bootstrap/bootstrap.min.css" in href)

    pages = {
        "overview": "/admin/",
        "users": "/admin/users/",
        "user": f"/admin/users/account/{shop['customer']}",
        "product-form": "/admin/store/products/new?provisioner=recorder",
        "plugins": "/admin/plugins/",
    }
    for name, path in pages.items():
        page.set_viewport_size({"width": 1280, "height": 860})
        page.goto(base + path)
        assert page.get_attribute("html", "lang") == "en", name
        assert bootstrap in stylesheets(page), name  # the theme's Bootstrap 5, as the client area
        assert not [h for h in stylesheets(page) if "bootstrap4" in h and "bootstrap.min" in h]
        assert navbar_look(page) == client_look, name
        assert page.locator("main#main").count() == 1
        # the menu stays on one line at 1280 px: every top-level entry on the same row
        tops = page.eval_on_selector_all(
            "#admin-nav .admin-menu > li", "items => items.map(i => i.getBoundingClientRect().top)"
        )
        assert len(tops) >= 5 and max(tops) - min(tops) < 4, (name, tops)
        # hello_world registers a Greetings page and a Greetings menu item: shown once
        assert page.locator("#admin-nav a", has_text="Greetings").count() == 1
        screenshot(f"admin-look-{name}")
        # a phone: nothing pushes the page sideways
        page.set_viewport_size({"width": 390, "height": 844})
        page.wait_for_timeout(50)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, (name, width)
    screenshot("admin-look-plugins-390px")
    assert page.js_errors == [], page.js_errors


def test_skip_link_and_keyboard_menu(live_server, page, shop):
    log_in(page, live_server, "root@example.com")
    page.goto(f"{live_server}/admin/")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent.trim()")
    assert focused == "Skip to main content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    # a group opens from the keyboard and its entries are links
    toggle = page.locator("#admin-nav .dropdown-toggle", has_text="Accounts")
    toggle.focus()
    page.keyboard.press("Enter")
    menu = page.locator("#admin-nav .dropdown-menu.show")
    assert menu.locator("a", has_text="Users").is_visible()


def test_impersonation_round_trip_in_the_browser(live_server, page, screenshot, shop):
    log_in(page, live_server, "root@example.com")
    page.goto(f"{live_server}/admin/users/")
    page.locator("a", has_text="camille@example.com").click()
    assert "25.00" in page.inner_text("#user-balance")
    page.fill("#adjust-amount", "-5.00")
    page.fill("#adjust-reason", "late fee")
    page.locator("#adjust-balance button").click()
    page.wait_for_load_state()
    assert "20.00" in page.inner_text("#user-balance")
    assert "late fee" in page.inner_text("#user-ledger")
    page.locator("#impersonate button").click()
    page.wait_for_url(f"{live_server}/dashboard")
    banner = page.locator("#impersonation-banner")
    assert "root@example.com is signed in as camille@example.com" in banner.inner_text()
    screenshot("admin-look-impersonating")
    banner.get_by_role("button", name="Back to my account").click()
    page.wait_for_url(f"{live_server}/admin/users/account/{shop['customer']}")
    assert page.locator("#impersonation-banner").count() == 0
