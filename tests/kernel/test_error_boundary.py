"""A plugin cannot break the panel: every hook implementation runs in its plugin's error boundary.

Events go on without the plugin that raised, collections (menus, widgets, slots, assets) leave
its part empty, vetoes refuse with a generic reason, and every failure is logged with the
plugin's name and counted in its health (tests/kernel/test_plugin_health.py).
"""

from __future__ import annotations

import sys
from types import SimpleNamespace

import pluggy
import pytest
from flask import Flask

from kernel import hookimpl, hookspecs
from kernel.accounts.services import AccountError, create_user
from kernel.extensions import db
from kernel.hooks import HookCallError, call_hook, call_veto, collect
from kernel.plugins.health import PluginHealth
from kernel.testing import login, rebuild
from tests.helpers import PASSWORD, write_plugin


def enable(cli, *names: str) -> None:
    for name in names:
        result = cli("plugin", "enable", name, "--accept-risk")
        assert result.exit_code == 0, result.output


def errors(app, plugin: str) -> dict[str, int]:
    """hook -> failures stored for ``plugin``."""
    with app.app_context():
        return {
            row.hook: row.failures
            for row in db.session.scalars(
                db.select(PluginHealth).where(PluginHealth.plugin == plugin)
            )
        }


# --- events -----------------------------------------------------------------------------------


def test_registering_with_a_250_character_name_creates_the_account(app, cli, client, caplog):
    """hello_world greets every new account, and refuses greetings over 200 characters: its
    user_registered listener raises. The account is made and the answer is a normal one."""
    enable(cli, "hello_world")
    live = rebuild(app)
    client = live.test_client()
    long_name = "N" * 250
    response = client.post(
        "/register",
        data={"email": "long@example.com", "name": long_name, "password": PASSWORD, "terms": "1"},
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("/dashboard")
    assert client.get("/dashboard").status_code == 200  # logged in, the page renders
    with live.app_context():
        from kernel.accounts.services import find_user

        user = find_user("long@example.com")
        assert user is not None and user.name == long_name
    assert errors(live, "hello_world") == {"user_registered": 1}
    assert any(
        "plugin hello_world: user_registered raised GreetingError" in r.getMessage()
        for r in caplog.records
    )
    listed = cli("plugin", "list")
    assert (
        "hook errors: 1 (last: user_registered: GreetingError: keep it under 200" in listed.output
    )
    short = live.test_client().post(
        "/register",
        data={"email": "short@example.com", "name": "Sam", "password": PASSWORD, "terms": "1"},
    )
    assert short.status_code == 302  # the plugin still greets the next one
    from builtin_plugins.hello_world.services import recent

    with live.app_context():
        assert [g.text for g in recent()][0].endswith("Sam")


LISTENERS = """
from kernel import hookimpl

@hookimpl
def user_registered(user):
    raise RuntimeError("{name} exploded")

@hookimpl
def wallet_changed(user, entry):
    raise RuntimeError("{name} exploded")
"""

RECORDER = """
from kernel import hookimpl

SEEN = []

@hookimpl
def user_registered(user):
    SEEN.append(user.email)
"""


def test_an_event_goes_to_every_other_plugin_and_the_flow_goes_on(app, cli, plugins_dir):
    write_plugin(
        plugins_dir, "a_broken", LISTENERS.format(name="a_broken"), capabilities=["events"]
    )
    write_plugin(
        plugins_dir, "z_broken", LISTENERS.format(name="z_broken"), capabilities=["events"]
    )
    write_plugin(plugins_dir, "m_recorder", RECORDER, capabilities=["events"])
    enable(cli, "a_broken", "z_broken", "m_recorder")
    live = rebuild(app)
    with live.app_context():
        user = create_user("ev@example.com", PASSWORD)
        from kernel.payments import ledger

        ledger.credit(user.id, 500, "adjustment", "test:credit")
        assert ledger.balance(user.id) == 500 == ledger.ledger_sum(user.id)
    assert sys.modules["pteroca_plugins.m_recorder"].SEEN == ["ev@example.com"]
    for broken in ("a_broken", "z_broken"):
        assert errors(live, broken) == {"user_registered": 1, "wallet_changed": 1}


SESSION_BREAKER = """
from sqlalchemy import text
from kernel import db, hookimpl

@hookimpl
def user_registered(user):
    db.session.execute(text("INSERT INTO no_such_table VALUES (1)"))
"""


def test_a_listener_that_breaks_the_session_is_rolled_back(app, cli, plugins_dir):
    """A failed statement leaves the session unusable; the boundary rolls it back so the
    registration's own bookkeeping after the event still works."""
    write_plugin(plugins_dir, "breaker", SESSION_BREAKER, capabilities=["events"])
    enable(cli, "breaker")
    live = rebuild(app)
    response = live.test_client().post(
        "/register",
        data={"email": "rb@example.com", "name": "Rob", "password": PASSWORD, "terms": "1"},
    )
    assert response.status_code == 302
    with live.app_context():
        from kernel.models import AuditLog

        actions = set(
            db.session.scalars(
                db.select(AuditLog.action).where(AuditLog.target == "rb@example.com")
            )
        )
        assert {"user.created", "user.registered"} <= actions
    assert errors(live, "breaker") == {"user_registered": 1}


MAIL_BREAKER = """
from kernel import hookimpl

@hookimpl
def before_email_send(message):
    message["X-Half-Done"] = "yes"
    raise RuntimeError("mail plugin exploded")
"""


def test_a_raising_mail_hook_does_not_stop_the_email(app, cli, plugins_dir, tmp_path):
    write_plugin(plugins_dir, "mailer", MAIL_BREAKER, capabilities=["outgoing_mail"])
    enable(cli, "mailer")
    box = tmp_path / "box.txt"
    live = rebuild(app)
    live.config["MAIL_URL"] = f"file://{box}"
    with live.app_context():
        create_user("mail@example.com", PASSWORD)
        from kernel.mail import send_email

        entry = send_email("mail@example.com", "Hello", "test")
        assert entry.status == "sent", entry.error
    assert "Subject: Hello" in box.read_text()
    assert errors(live, "mailer") == {"before_email_send": 1}


# --- collections: the page renders without the broken part ----------------------------------

WIDGETS = """
from markupsafe import Markup
from kernel import hookimpl

@hookimpl
def dashboard_widgets(user):
    return [{"title": "Good card", "html": Markup("<p>good</p>"), "order": "not a number"}]

@hookimpl
def client_menu_items(user):
    return [{"label": "Good link", "url": "/good"}]

@hookimpl
def template_slots(slot, context):
    return "good slot text" if slot == "dashboard_top" else None

@hookimpl
def extra_css_urls(request):
    return ["/good.css"]
"""

BROKEN_WIDGETS = """
from kernel import hookimpl

@hookimpl
def dashboard_widgets(user):
    raise RuntimeError("widget exploded")

@hookimpl
def client_menu_items(user):
    raise RuntimeError("menu exploded")

@hookimpl
def template_slots(slot, context):
    raise RuntimeError("slot exploded")

@hookimpl
def extra_css_urls(request):
    raise RuntimeError("css exploded")
"""

ODD_WIDGETS = """
from kernel import hookimpl

@hookimpl
def dashboard_widgets(user):
    return "<p>not a list</p>"

@hookimpl
def client_menu_items(user):
    return ["not a dict"]

@hookimpl
def template_slots(slot, context):
    return 42 if slot == "dashboard_top" else None

@hookimpl
def extra_css_urls(request):
    return [{"url": "not a string"}]
"""


def test_a_raising_widget_leaves_the_dashboard_rendering_with_the_others(app, cli, plugins_dir):
    write_plugin(
        plugins_dir, "good_parts", WIDGETS, capabilities=["widgets", "menus", "templates", "assets"]
    )
    write_plugin(
        plugins_dir,
        "broken_parts",
        BROKEN_WIDGETS,
        capabilities=["widgets", "menus", "templates", "assets"],
    )
    write_plugin(
        plugins_dir,
        "odd_parts",
        ODD_WIDGETS,
        capabilities=["widgets", "menus", "templates", "assets"],
    )
    enable(cli, "good_parts", "broken_parts", "odd_parts")
    live = rebuild(app)
    with live.app_context():
        create_user("dash@example.com", PASSWORD)
    page = login(live, "dash@example.com", PASSWORD).get("/dashboard")
    assert page.status_code == 200
    assert "Good card" in page.text and 'data-testid="balance"' in page.text  # kernel's widget
    assert "Good link" in page.text and "good slot text" in page.text and "/good.css" in page.text
    assert "not a list" not in page.text and "not a dict" not in page.text
    broken = errors(live, "broken_parts")
    assert broken.pop("template_slots") >= 1  # asked once per slot of the page
    assert broken == {"dashboard_widgets": 1, "client_menu_items": 1, "extra_css_urls": 1}
    odd = errors(live, "odd_parts")
    assert odd["dashboard_widgets"] == odd["client_menu_items"] == odd["template_slots"] == 1
    assert odd["extra_css_urls"] == 1


# --- vetoes: all must agree -------------------------------------------------------------------

VETO = """
from kernel import hookimpl

ASKED = []

@hookimpl
def veto_registration(email, name):
    ASKED.append(email)
    return {answer}
"""


@pytest.mark.parametrize("answer", ["False", '""', "None"])
def test_a_false_veto_does_not_stop_a_later_veto_from_refusing(app, cli, plugins_dir, answer):
    """pluggy calls the plugin registered last first: "b_lenient" answers before "a_strict"."""
    write_plugin(
        plugins_dir,
        "a_strict",
        VETO.format(answer='"No registrations today."'),
        capabilities=["vetoes"],
    )
    write_plugin(plugins_dir, "b_lenient", VETO.format(answer=answer), capabilities=["vetoes"])
    enable(cli, "a_strict", "b_lenient")
    live = rebuild(app)
    with live.app_context(), pytest.raises(AccountError, match="No registrations today."):
        create_user("veto@example.com", PASSWORD)
    assert sys.modules["pteroca_plugins.b_lenient"].ASKED == ["veto@example.com"]
    assert sys.modules["pteroca_plugins.a_strict"].ASKED == ["veto@example.com"]
    response = live.test_client().post(
        "/register",
        data={"email": "form@example.com", "name": "F", "password": PASSWORD, "terms": "1"},
    )
    assert response.status_code == 400 and "No registrations today." in response.text


RAISING_VETO = """
from kernel import hookimpl

@hookimpl
def veto_login(user):
    raise RuntimeError("the maintenance service is down")

@hookimpl
def veto_wallet_credit(user, amount, reference):
    return True
"""


def test_a_raising_veto_refuses_with_a_generic_message(app, cli, plugins_dir, caplog):
    write_plugin(plugins_dir, "gatekeeper", RAISING_VETO, capabilities=["vetoes"])
    enable(cli, "gatekeeper")
    live = rebuild(app)
    with live.app_context():
        user = create_user("gate@example.com", PASSWORD)
        from kernel.payments import ledger

        with pytest.raises(ledger.CreditRefused, match="could not be checked right now"):
            ledger.credit(user.id, 100, "adjustment", "test:true-veto")  # True: no reason given
        assert ledger.balance(user.id) == 0
    refused = live.test_client().post(
        "/login", data={"email": "gate@example.com", "password": PASSWORD}
    )
    assert refused.status_code == 400
    assert "could not be checked right now" in refused.text
    assert "maintenance service" not in refused.text  # the exception is for the log only
    assert any(
        "plugin gatekeeper: veto_login raised RuntimeError: the maintenance service"
        in r.getMessage()
        for r in caplog.records
    )
    assert errors(live, "gatekeeper") == {"veto_login": 1}


TOPUP = """
from kernel import hookimpl

@hookimpl
def topup_adjustment(user, amount, form):
    mode = form.get("mode")
    if mode == "raise":
        raise RuntimeError("coupon service down")
    if mode == "odd":
        return {"charge": "a lot"}
    if mode == "float":
        return {"credit": 10.5}
    if mode == "false":
        return False
    return None
"""

TOPUP_REFUSER = """
from kernel import hookimpl

@hookimpl
def topup_adjustment(user, amount, form):
    return "Top-ups are paused." if form.get("mode") == "false" else None
"""


def test_topup_adjustments_refuse_on_errors_and_odd_answers(app, cli, plugins_dir):
    write_plugin(plugins_dir, "a_refuser", TOPUP_REFUSER, capabilities=["payments"])
    write_plugin(plugins_dir, "b_coupons", TOPUP, capabilities=["payments"])
    enable(cli, "a_refuser", "b_coupons")
    live = rebuild(app)
    from kernel.payments.settlement import PaymentError, topup_terms

    with live.test_request_context():
        user = create_user("top@example.com", PASSWORD)
        assert topup_terms(user, 1000, {}) == (1000, None, {})
        for mode in ("raise", "odd", "float"):
            with pytest.raises(PaymentError, match="could not be checked right now"):
                topup_terms(user, 1000, {"mode": mode})
        with pytest.raises(PaymentError, match="Top-ups are paused."):  # False objects to nothing
            topup_terms(user, 1000, {"mode": "false"})
    assert errors(live, "b_coupons") == {"topup_adjustment": 3}


# --- the caller itself --------------------------------------------------------------------------


def bare_app(*plugins: tuple[str, object]) -> Flask:
    """A Flask app holding only a plugin manager with the kernel's hookspecs (no database)."""
    app = Flask("bare")
    pm = pluggy.PluginManager("pteroca")
    pm.add_hookspecs(hookspecs)
    for name, obj in plugins:
        pm.register(obj, name=name)
    app.extensions["pteroca"] = SimpleNamespace(pm=pm, loaded={}, problems={})
    return app


class Raising:
    @hookimpl
    def dashboard_widgets(self, user):
        raise RuntimeError("kernel bug")


def test_the_kernels_own_implementations_are_not_guarded():
    with (
        bare_app(("kernel", Raising())).app_context(),
        pytest.raises(RuntimeError, match="kernel bug"),
    ):
        collect("dashboard_widgets", dict, user=None)


def test_a_call_site_missing_an_argument_is_a_kernel_bug_not_a_plugin_failure():
    class Listener:
        @hookimpl
        def wallet_changed(self, user, entry):
            return None

    with bare_app(("listener", Listener())).app_context():
        with pytest.raises(HookCallError, match="without 'entry', which listener takes"):
            call_hook("wallet_changed", user=None)


def test_answers_come_in_pluggys_order_and_none_is_left_out():
    order = []

    def plugin(label, answer, **marks):
        class Impl:
            @hookimpl(**marks)
            def veto_login(self, user):
                order.append(label)
                return answer

        return label, Impl()

    app = bare_app(
        plugin("first_registered", None),
        plugin("tried_first", "", tryfirst=True),
        plugin("last_registered", None),
    )
    with app.app_context():
        assert call_veto("veto_login", user=None) is None
        assert call_hook("veto_login", user=None) == [""]
    assert order[:3] == ["tried_first", "last_registered", "first_registered"]


WRAPPER = """
from kernel import hookimpl

@hookimpl(wrapper=True)
def dashboard_widgets(user):
    result = yield
    return result
"""


def test_hook_wrappers_are_refused_at_load(app, cli, plugins_dir):
    write_plugin(plugins_dir, "wrapping", WRAPPER, capabilities=["widgets"])
    enable(cli, "wrapping")
    live = rebuild(app)
    assert "wrapping" not in live.extensions["pteroca"].loaded
    with live.app_context():
        from kernel.plugins.models import PluginRecord

        record = db.session.get(PluginRecord, "wrapping")
        assert record.state == "faulted"
        assert record.reason == (
            "hook wrappers are not supported (each implementation runs in "
            "its own error boundary): dashboard_widgets"
        )


JUNK_PERMISSIONS = """
from kernel import hookimpl

@hookimpl
def register_permissions():
    return [("junk.one", "fine"), ("junk.two", "a", "three")]

@hookimpl
def admin_menu_items(user):
    return [{"label": "Junk admin", "url": "/junk", "permission": "junk.one", "order": None}]
"""


def test_malformed_permissions_are_dropped_and_the_admin_still_renders(app, cli, plugins_dir):
    write_plugin(plugins_dir, "junk", JUNK_PERMISSIONS, capabilities=["permissions", "menus"])
    enable(cli, "junk")
    live = rebuild(app)
    with live.app_context():
        create_user("root@example.com", PASSWORD, role="admin", verified=True)
        from kernel.accounts.permissions import all_permissions

        codes = all_permissions()
        assert "admin.access" in codes and "junk.one" not in codes
    admin = login(live, "root@example.com", PASSWORD)
    assert admin.get("/admin/").status_code == 200
    assert admin.get("/admin/roles/new/").status_code == 200
    assert errors(live, "junk")["register_permissions"] >= 1
