"""A customer buys a plan, watches the server install, starts it from the power buttons,
changes an allowed startup variable and is refused a hidden one: in a real browser, against the
simulator (panel and Wings websocket) over HTTP, once a panel (the ``panel`` fixture,
``tests/browser/panels.py``): the console and startup tabs are the panel kit's on both.

The product form's pickers stay Pterodactyl-only: Pelican's admin form has no live picker (its
egg and node tags are typed in)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from kernel.testing import TEST_PASSWORD
from tests.browser.panels import panel_app

EMAIL, PASSWORD = "gamer@example.com", TEST_PASSWORD


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


def test_buy_install_start_and_edit_startup(live_server, page, panel, screenshot):
    base, sim = live_server, panel.sim
    page.set_default_timeout(15_000)
    fetched: list[str] = []
    page.on("request", lambda r: fetched.append(r.url) if "/console/credentials" in r.url else None)
    page.goto(f"{base}/login")
    page.fill("input[name=email]", EMAIL)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/dashboard")

    page.goto(f"{base}/store/product/paper-small/checkout")
    page.fill("#name", "gamer survival")
    page.click("button[type=submit]:has-text('Pay and create the server')")
    page.wait_for_url(re.compile(r"/servers/\d+$"))
    service_url = page.url
    assert "is on its way" in page.inner_text("main")
    assert page.inner_text(".live-state") == "Installing"  # the panel is still installing

    page.click(".server-tabs a:has-text('Console')")
    # still installing (5 s in the simulator): no power actions yet, the install's output shows
    assert page.get_attribute("#ptero-state", "data-state") == "installing"
    assert page.inner_text("#ptero-state") == "Installing"
    assert "still installing" in page.inner_text("#ptero-state-message")
    page.wait_for_selector("button.power-start[disabled]")
    screenshot(f"{panel.kind}-console-installing")
    # then ready: the badge follows the panel without a reload
    page.wait_for_selector("#ptero-state[data-state=offline]", timeout=20_000)
    assert page.is_enabled("button.power-start")
    page.wait_for_selector("#ptero-console-status:has-text('Connected')")  # the Wings socket

    page.click("button.power-start")
    page.wait_for_selector("#ptero-state[data-state=running]", timeout=15_000)
    assert page.inner_text("#ptero-state") == "Running"
    expect(page.locator(".xterm-rows")).to_contain_text("Done")  # the game's own output
    # "token expiring" made the page fetch fresh credentials and re-authenticate the socket
    for _ in range(100):
        if len(fetched) >= 3:
            break
        page.wait_for_timeout(100)
    assert len(fetched) >= 3, fetched
    assert page.inner_text("#ptero-console-status") == "Connected."
    page.fill("#ptero-command-input", "say hello from the browser")
    page.press("#ptero-command-input", "Enter")
    expect(page.locator(".xterm-rows")).to_contain_text("[Server] hello from the browser")
    screenshot(f"{panel.kind}-console-running")

    page.click(".server-tabs a:has-text('Startup')")
    assert page.locator("#var-SERVER_JARFILE").count() == 0  # hidden by the product
    assert page.locator("#var-BUILD_NUMBER").get_attribute("readonly") is not None
    page.fill("#var-MINECRAFT_VERSION", "1.21.1")
    page.click("form[data-env=MINECRAFT_VERSION] button[type=submit]")
    assert "Minecraft Version is now 1.21.1" in page.inner_text("main")
    assert page.input_value("#var-MINECRAFT_VERSION") == "1.21.1"
    screenshot(f"{panel.kind}-startup")

    # a crafted request for the hidden variable, with the page's valid CSRF token
    token = page.locator("form[data-env=MINECRAFT_VERSION] input[name=csrf_token]").input_value()
    action = page.locator("form[data-env=MINECRAFT_VERSION]").get_attribute("action")
    refused = page.request.post(
        f"{base}{action}", form={"csrf_token": token, "key": "SERVER_JARFILE", "value": "evil.jar"}
    )
    assert refused.status == 403
    assert "SERVER_JARFILE is not a setting you can change" in refused.text()
    server = next(iter(sim.snapshot()["servers"]))
    with sim.state.lock:
        values = sim.state.environment(sim.state.servers[server["id"]])
    assert values["SERVER_JARFILE"] == "server.jar" and values["MINECRAFT_VERSION"] == "1.21.1"

    page.goto(service_url)
    assert page.inner_text(".live-state") == "Running"
    assert page.js_errors == [], page.js_errors

    # the node goes away: the page says so instead of breaking
    sim.set_switches(wings_down=True)
    page.click(".server-tabs a:has-text('Console')")
    expect(page.locator("#ptero-state-message")).to_contain_text("node is unreachable")
    expect(page.locator("#ptero-console-note")).to_contain_text("could not connect")
    assert all("WebSocket" in e for e in page.js_errors), page.js_errors  # Chromium's report


@pytest.mark.parametrize("panel", ["pterodactyl"], indirect=True)  # Pelican's form has no picker
def test_product_form_pickers_fill_the_settings_from_the_panel(
    live_app, live_server, page, panel, screenshot
):
    sim = panel.sim
    from kernel.accounts.services import create_user

    with live_app.app_context():
        create_user("root@example.com", "root-password-1", name="Root", role="admin")
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{live_server}/login")
    page.fill("input[name=email]", "root@example.com")
    page.fill("input[name=password]", "root-password-1")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/dashboard")
    page.goto(f"{live_server}/admin/store/products/new?provisioner=pterodactyl")
    from builtin_plugins.pterodactyl.client import PanelClient

    with PanelClient(sim.url, sim.application_key, sim.client_key) as panel:
        nests = {n["name"]: n["id"] for n in panel.app.list_nests()}
        eggs = {e["name"]: e["id"] for e in panel.app.list_eggs(nests["Minecraft"])}
        us = next(x["id"] for x in panel.app.list_locations() if x["short"] == "sim-us")
    expect(page.locator("#ptero-picker-status")).to_have_text("live from the panel")
    page.select_option("#ptero-pick-nest", value=str(nests["Minecraft"]))
    expect(page.locator(f"#ptero-pick-egg option[value='{eggs['Paper']}']")).to_have_count(1)
    page.select_option("#ptero-pick-egg", value=str(eggs["Paper"]))
    expect(page.locator("#ptero-pick-variables")).to_contain_text("MAX_PLAYERS = 20")
    page.select_option("#ptero-pick-locations", value=str(us))
    assert page.input_value("[name=ps_nest_id]") == str(nests["Minecraft"])
    assert page.input_value("[name=ps_egg_id]") == str(eggs["Paper"])
    assert page.input_value("[name=ps_location_ids]") == str(us)
    variables = page.input_value("[name=ps_variables]")
    assert "MINECRAFT_VERSION | visible, editable" in variables and "DL_PATH" in variables
    screenshot("pterodactyl-product-pickers")
    assert not [e for e in errors if "Content Security Policy" in e], errors
