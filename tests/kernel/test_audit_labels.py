"""Audit and activity events read as words: the kernel's labels, the ones plugins add through
the ``audit_labels`` hook, a readable fallback for the rest, in the reader's language."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

import kernel
from kernel import hookimpl, record_audit
from kernel.audit_labels import humanize


class Labels:
    @hookimpl
    def audit_labels(self):
        return {"my_notes.shared": _l("Note shared"), "user.login": "plugins cannot relabel"}


class Broken:
    @hookimpl
    def audit_labels(self):
        return ["not", "a", "dict"]


def _record(app, email, *actions):
    with app.app_context():
        for action in actions:
            record_audit(action, email, actor=email)


def test_hook_audit_labels(pteroca_instance, register_test_plugin, login_as):
    app = register_test_plugin(Labels())
    client = login_as("customer")
    _record(app, client.user.email, "my_notes.shared", "hello_world.welcome_back", "user.login")
    page = client.get("/dashboard").text
    assert "Note shared" in page  # the plugin's label
    assert "Welcome back" in page  # no label anywhere: still words
    assert "my_notes.shared" not in page and "hello_world.welcome_back" not in page
    assert "plugins cannot relabel" not in page and "Logged in" in page
    with app.test_request_context():
        assert kernel.audit_label("my_notes.shared") == "Note shared"


def test_a_plugin_answering_nonsense_is_ignored(pteroca_instance, register_test_plugin, login_as):
    app = register_test_plugin(Broken())
    client = login_as("customer")
    _record(app, client.user.email, "user.login")
    assert "Logged in" in client.get("/dashboard").text


def test_labels_follow_the_readers_language(pteroca_instance, login_as, make_user):
    client = login_as("customer")
    app = pteroca_instance.app
    with app.app_context():
        from kernel.accounts.models import User
        from kernel.extensions import db

        db.session.get(User, client.user.id).language = "pl"
        db.session.commit()
    _record(app, client.user.email, "user.login")
    assert "Zalogowano" in client.get("/dashboard").text


def test_the_builtin_plugins_label_their_events(pteroca_instance):
    """Every store and server event a customer can see has words of its own."""
    from builtin_plugins.pterodactyl.labels import LABELS as PANEL
    from builtin_plugins.store.labels import LABELS as STORE

    assert str(STORE["store.purchase"]) == "Server bought"
    assert str(PANEL["server:backup.start"]) == "Backup started"
    assert str(PANEL["server:power.start"]) == "Server started"


def test_humanize_reads_any_key_as_words():
    assert humanize("hello_world.welcome_back") == "Welcome back"
    assert humanize("server:backup.start") == "Backup start"
    assert humanize("pterodactyl.user_created") == "User created"
    assert humanize("plain") == "Plain"
    assert humanize("") == ""


class Counting:
    calls = 0

    @hookimpl
    def audit_labels(self):
        Counting.calls += 1
        return {"my_notes.shared": _l("Note shared")}


def test_plugins_are_asked_once_per_app_and_language(pteroca_instance, register_test_plugin):
    """The labels are the same on every page: asking every plugin on every request was part
    of the dashboard's kernel overhead (issue 20)."""
    Counting.calls = 0
    app = register_test_plugin(Counting())
    for _ in range(3):
        with app.test_request_context(headers={"Accept-Language": "en"}):
            assert kernel.audit_label("my_notes.shared") == "Note shared"
    assert Counting.calls == 1
    with app.test_request_context(headers={"Accept-Language": "pl"}):
        kernel.audit_label("my_notes.shared")
    assert Counting.calls == 2  # another language: asked again (a plugin may answer in it)
    rebuilt = pteroca_instance.rebuild()  # the enabled plugins changed: a new app asks again
    with rebuilt.test_request_context():
        kernel.audit_label("my_notes.shared")
    assert Counting.calls == 3


def test_a_failing_labels_hook_is_asked_again(pteroca_instance, register_test_plugin):
    app = register_test_plugin(Broken())
    with app.test_request_context():
        assert kernel.audit_label("user.login") == "Logged in"
    with app.test_request_context():
        assert app.extensions.get("pteroca_audit_labels", {}) == {}  # not remembered
        assert not any(app.extensions.get("pteroca_audit_words", {}).values())  # nor the words


def test_words_are_remembered_per_language_and_follow_a_locale_change(app):
    """An activity list reads the same few labels on every page: their words are kept per app
    and language, and a language switched within a request (an email) gets its own."""
    from flask_babel import force_locale

    with app.test_request_context(headers={"Accept-Language": "pl"}):
        assert kernel.audit_label("user.login") == "Zalogowano"
        with force_locale("en"):
            assert kernel.audit_label("user.login") == "Logged in"
        assert kernel.audit_label("user.login") == "Zalogowano"
        assert kernel.audit_label("my_notes.welcome_back") == "Welcome back"
    words = app.extensions["pteroca_audit_words"]
    assert words["pl"] == {"user.login": "Zalogowano", "my_notes.welcome_back": "Welcome back"}
    assert words["en"] == {"user.login": "Logged in"}
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert kernel.audit_label("user.login") == "Logged in"
