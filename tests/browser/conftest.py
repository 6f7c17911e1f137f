"""A live pteroca server (with the hot swap) and the panel its store journeys sell on; the
browser, page and screenshot fixtures live in ``tests/browser_fixtures.py`` (one Playwright per
test process, shared with tests/topology)."""

from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server

from kernel.testing import build_app, rebuild
from kernel.wsgi import HotSwapApplication
from tests.browser.panels import KINDS, Panel, start_simulator
from tests.pelican_plugin.conftest import pelican_template  # noqa: F401 - a fixture
from tests.pterodactyl.conftest import ptero_template  # noqa: F401 - a fixture


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


@pytest.fixture(params=KINDS)
def panel(request) -> Panel:
    """The panel a store journey sells on, once a kind (``tests/browser/panels.py``): its
    running simulator and the instance template with its plugin enabled."""
    kind = request.param
    template = request.getfixturevalue(
        "ptero_template" if kind == "pterodactyl" else "pelican_template"
    )
    simulator = start_simulator(kind)
    try:
        yield Panel(kind=kind, sim=simulator, template=template)
    finally:
        simulator.stop()
