"""Every client page in a real browser, with the default theme and with a theme made by
``pteroca theme create``: the sandbox keeps themes from the database, not from their pages.

The panel is the hostile-theme survey's (tests/themes/world.py): all builtin plugins, a
Pterodactyl simulator, payments; the customer visits every page the survey covers (the
store, checkout, servers, each Pterodactyl tab, the wallet, the account...) and a visitor
the public ones. Every page must answer 200 with its content, from the theme itself (no
page may fall back to the default theme, none may be refused by the sandbox).
"""

from __future__ import annotations

import logging

import pytest

from kernel.extensions import db
from kernel.testing import run_cli
from tests.themes.world import PASSWORD, PUBLIC, build_world

MARKER = "made-with-theme-create"


@pytest.fixture
def sim():
    from simulators.pterodactyl import Simulator

    simulator = Simulator(seed=True, install_seconds=0, power_seconds=0, backup_seconds=0)
    simulator.start()
    yield simulator
    simulator.stop()


@pytest.fixture
def world(instance, plugins_dir, sim):
    from builtin_plugins.pterodactyl.client import PanelClient
    from tests.fakes.osv_server import FakeOsv

    with FakeOsv() as osv, PanelClient(sim.url, sim.application_key, sim.client_key) as panel:
        return build_world(instance, sim, panel, osv.url)


@pytest.fixture
def live_app(world):  # the browser fixtures' live server serves the world
    return world.app


def visit_all(page, base: str, urls: list[str], marker: str | None) -> list[str]:
    problems = []
    for url in urls:
        response = page.goto(base + url)
        text = page.content()
        if response is None or response.status != 200:
            problems.append(f"{url}: {response.status if response else 'no answer'}")
        elif "Something went wrong" in text or "<main" not in text:
            problems.append(f"{url}: not a page of the theme")
        elif marker and marker not in text:
            problems.append(f"{url}: not rendered by the active theme")
    return problems


def log_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/dashboard")


def test_every_page_with_the_default_and_a_created_theme(world, live_server, browser, caplog):
    base = live_server
    pages = world.pages()
    customer_urls = [url for urls in pages.values() for url in urls]
    visitor_urls = [url for endpoint in PUBLIC for url in pages[endpoint]]
    assert world.missing_pages() == set()
    caplog.set_level(logging.ERROR)

    def run(marker: str | None) -> list[str]:
        customer = browser.new_context()
        visitor = browser.new_context()
        try:
            page = customer.new_page()
            log_in(page, base, world.viewer)
            found = visit_all(page, base, customer_urls, marker)
            found += visit_all(visitor.new_page(), base, visitor_urls, marker)
        finally:
            customer.close()
            visitor.close()
        return found

    assert run(None) == []

    # A theme made by `pteroca theme create`, marked so we see it is the one rendering.
    from kernel.themes import set_active_theme

    result = run_cli(world.app, "theme", "create", "sunset")
    assert result.exit_code == 0, result.output
    layout = world.app.config["THEMES_DIR"] + "/sunset/panel/layout.html"
    with open(layout, encoding="utf-8") as fh:
        source = fh.read()
    with open(layout, "w", encoding="utf-8") as fh:
        fh.write(source.replace("</head>", f'<meta name="theme" content="{MARKER}"></head>', 1))
    with world.app.app_context():
        set_active_theme("sunset")  # bumps the generation: the live server swaps its app
        db.session.remove()
    probe = browser.new_page()
    for _ in range(50):
        if MARKER in probe.goto(f"{base}/login").text():
            break
        probe.wait_for_timeout(200)
    probe.close()
    assert run(MARKER) == []
    refused = [
        r.getMessage()
        for r in caplog.records
        if "rendering the default theme" in r.getMessage()
        or "refused by the sandbox" in r.getMessage()
    ]
    assert refused == []
