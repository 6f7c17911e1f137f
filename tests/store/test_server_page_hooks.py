"""What other plugins put on a server's page through the store: header buttons
(``server_actions``), the ``server_page`` slot, and where servers run (``server_nodes``,
``known_nodes``); a plugin that answers badly never breaks the page."""

from __future__ import annotations

import pytest

from builtin_plugins.store.testing import buy
from kernel.testing import login, make_customer, rebuild, run_cli
from tests.helpers import write_plugin
from tests.store.conftest import recorder_product

GOOD = """
from markupsafe import Markup
from kernel import hookimpl


@hookimpl
def server_actions(service, user):
    return [{"label": "Open console <b>", "url": f"/x/{service.id}", "icon": "terminal",
             "order": 5},
            {"label": "Later", "url": "/later", "order": 99}]


@hookimpl
def template_slots(slot, context):
    if slot == "server_page":
        return Markup("<div class='node-note'>notice for {}</div>").format(context["service"].name)
    return None


@hookimpl
def server_nodes(services):
    return {s.id: "rack:7" for s in services}


@hookimpl
def known_nodes():
    return [{"id": "rack:7", "label": "Rack seven"}, {"id": "rack:7", "label": "duplicate"},
            {"label": "no id"}]
"""

BAD = """
from kernel import hookimpl


@hookimpl
def server_actions(service, user):
    raise RuntimeError("actions exploded")


@hookimpl
def server_nodes(services):
    raise RuntimeError("nodes exploded")


@hookimpl
def known_nodes():
    return "not a list"
"""

ODD = """
from kernel import hookimpl


@hookimpl
def server_actions(service, user):
    return [{"label": 42, "url": "/bad"}, {"url": "/no-label"}, {"label": "no url"}]


@hookimpl
def server_nodes(services):
    return ["not", "a", "dict"]
"""


@pytest.fixture
def page_app(store_app, recorder):
    for name, code in (("good_actions", GOOD), ("bad_actions", BAD), ("odd_actions", ODD)):
        write_plugin(
            store_app.config["PLUGINS_DIR"],
            name,
            code,
            requires={"store": ">=1.0"},
            capabilities=["server_actions", "templates", "server_nodes", "known_nodes"],
        )
        result = run_cli(store_app, "plugin", "enable", name)
        assert result.exit_code == 0, result.output
    app = rebuild(store_app)
    with app.app_context():
        service = buy(make_customer(balance=5000), recorder_product(), name="Box")
        service_id = service.id
    return app, service_id


def test_hook_server_actions_and_the_server_page_slot(page_app):
    app, service_id = page_app
    page = login(app, "buyer@example.com").get(f"/servers/{service_id}")
    assert page.status_code == 200
    text = page.text
    assert f'href="/x/{service_id}"' in text and "Open console &lt;b&gt;" in text
    assert "bi-terminal" in text
    assert text.index("Open console") < text.index("Later")  # by order
    assert "/bad" not in text and "/no-label" not in text and "no url" not in text
    assert "<div class='node-note'>notice for Box</div>" in text
    settings = login(app, "buyer@example.com").get(f"/servers/{service_id}/settings").text
    assert "Open console" in settings and "notice for Box" in settings  # every tab page


def test_hook_server_nodes(page_app):
    from builtin_plugins.store.api import Service, nodes_of
    from kernel.extensions import db

    app, service_id = page_app
    with app.app_context():
        service = db.session.get(Service, service_id)
        assert nodes_of([service]) == {service_id: "rack:7"}  # the raising and odd ones: ignored


def test_hook_known_nodes(page_app):
    from builtin_plugins.store.api import known_nodes

    app, _ = page_app
    with app.app_context():
        assert known_nodes() == [{"id": "rack:7", "label": "Rack seven"}]
