"""Playwright on Debian's Chromium: one browser per test process (registered for the whole suite
by tests/conftest.py, so browser tests in any folder share it: Playwright's sync API cannot run
twice in one thread).

Every context the browser opens runs axe-core on each page it loads (``tests/axe_audit.py``); a
test fails when a page it visited has a serious or critical WCAG 2.1 A/AA violation."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.axe_audit import AxeAudit, audited
from tests.services import require_chromium

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOTS = Path(os.environ.get("PTEROCA_SCREENSHOTS", "test-artifacts/screenshots"))


@pytest.fixture(scope="session")
def browser():
    executable = require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        yield audited(browser, lambda: _AUDIT[0])
        browser.close()


_AUDIT: list[AxeAudit | None] = [None]


@pytest.fixture(autouse=True)
def axe_audit():
    """The accessibility audit of this test's pages (empty for tests that open no browser)."""
    audit = _AUDIT[0] = AxeAudit()
    yield audit
    _AUDIT[0] = None
    found = audit.verdict()
    assert not found, f"axe-core: serious or critical accessibility violations\n{found}"


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.js_errors = errors
    yield page
    context.close()


@pytest.fixture
def screenshot(page):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
