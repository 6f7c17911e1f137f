"""The API's plugin hooks: ``register_api_blueprints`` and ``register_webhook_events``."""

from __future__ import annotations

import marshmallow as ma

from tests.api.conftest import bearer


def _plugin_api():
    from kernel import ApiBlueprint, hookimpl

    bp = ApiBlueprint("notes", __name__, description="A plugin's endpoints")

    class Note(ma.Schema):
        text = ma.fields.String(required=True)

    @bp.get("/note")
    @bp.scope("read:account")
    @bp.response(200, Note)
    def note():
        return {"text": "hello from a plugin"}

    @bp.get("/undeclared")
    @bp.response(200, Note)
    def undeclared():
        return {"text": "nobody may read this"}

    class Plugin:
        @hookimpl
        def register_api_blueprints(self):
            return [bp]

    return Plugin()


def test_hook_register_api_blueprints(
    pteroca_instance, register_test_plugin, make_user, make_token
):
    app = register_test_plugin(_plugin_api(), "notes_plugin")
    client = app.test_client()
    spec = client.get("/api/v1/openapi.json").json
    # not shipped with pteroca: mounted under /api/v1/plugins/<name>, in the one document
    operation = spec["paths"]["/api/v1/plugins/notes_plugin/note"]["get"]
    assert operation["x-scope"] == "read:account"
    secret = make_token(make_user(), ["read:account"])
    assert client.get("/api/v1/plugins/notes_plugin/note", headers=bearer(secret)).json == {
        "text": "hello from a plugin"
    }
    assert client.get("/api/v1/plugins/notes_plugin/note").status_code == 401
    # a view that declares no scope is closed, not open
    closed = client.get("/api/v1/plugins/notes_plugin/undeclared", headers=bearer(secret))
    assert closed.status_code == 403


def test_a_plain_flask_blueprint_is_refused(pteroca_instance, register_test_plugin):
    from flask import Blueprint

    from kernel import hookimpl
    from kernel.plugins.host import plugin_host

    class Plugin:
        @hookimpl
        def register_api_blueprints(self):
            return [Blueprint("plain", __name__)]

    app = register_test_plugin(Plugin(), "plain_plugin")
    assert "not a kernel ApiBlueprint" in plugin_host(app).problems["plain_plugin"]
    assert app.test_client().get("/api/v1/openapi.json").status_code == 200


def test_hook_register_webhook_events(pteroca_instance, register_test_plugin):
    from kernel import hookimpl
    from kernel.extensions import db
    from kernel.webhooks.services import known_events

    class Plugin:
        @hookimpl
        def register_webhook_events(self):
            return [("ticket.opened", "A support ticket was opened"), "not a pair"]

    app = register_test_plugin(Plugin(), "events_plugin")
    with app.app_context():
        events = known_events()
        db.session.remove()
    assert events["ticket.opened"] == "A support ticket was opened"
    assert "user.created" in events and "not a pair" not in events
