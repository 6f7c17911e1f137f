"""A live pteroca server (with the hot swap); the browser, page and screenshot fixtures live in
``tests/browser_fixtures.py`` (one Playwright per test process, shared with tests/topology)."""

from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server

from kernel.testing import build_app, rebuild
from kernel.wsgi import HotSwapApplication


@pytest.fixture
def live_app(instance, plugins_dir):
    return build_app(instance, WTF_CSRF_ENABLED=True)


@pytest.fixture
def live_server(live_app):
    """Base URL of a threaded server running HotSwapApplication over ``live_app``'s config."""
    wsgi = HotSwapApplication(factory=lambda: rebuild(live_app), poll_seconds=0.2)
    server = make_server("127.0.0.1", 0, wsgi, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
