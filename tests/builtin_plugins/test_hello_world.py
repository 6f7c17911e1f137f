"""hello_world uses every kernel hook; each ``test_hook_<name>`` shows one working end to end."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from kernel.accounts.services import AccountError, create_user
from kernel.audit import AuditLog
from kernel.clock import now as utcnow
from kernel.extensions import db
from kernel.testing import HEALTH_HEADERS, login

PASSWORD = "correct horse battery"


@pytest.fixture
def hello(app, cli, fresh):
    result = cli("plugin", "enable", "hello_world", "--accept-risk")
    assert result.exit_code == 0, result.output
    app = fresh(app)
    with app.app_context():
        create_user("admin@example.com", PASSWORD, name="Ada", role="admin")
        create_user("cust@example.com", PASSWORD, name="Cus", role="customer")
    return app


def audit_actions(app):
    with app.app_context():
        return [a.action for a in db.session.scalars(db.select(AuditLog))]


def greetings(app):
    from builtin_plugins.hello_world.services import recent

    with app.app_context():
        return [g.text for g in recent()]


def test_hook_startup(hello):
    assert "hello_shout" in hello.jinja_env.filters
    page = login(hello, "cust@example.com", PASSWORD).get("/plugins/hello_world/")
    assert "Hello from hello_world!" in page.text


def test_hook_plugin_enabled(hello):
    assert "hello_world.saw_plugin_enabled" in audit_actions(hello)


def test_hook_plugin_disabled(hello, cli):
    cli("plugin", "disable", "hello_world")
    assert "hello_world.saw_plugin_disabled" in audit_actions(hello)


def test_hook_register_blueprints(hello):
    client = login(hello, "cust@example.com", PASSWORD)
    assert client.post("/plugins/hello_world/", data={"text": "world"}).status_code == 302
    assert "Hello, world" in client.get("/plugins/hello_world/").text
    empty = client.post("/plugins/hello_world/", data={"text": "  "})
    assert empty.status_code == 400 and "the greeting is empty" in empty.text


def test_hook_template_slots(hello):
    page = login(hello, "cust@example.com", PASSWORD).get("/dashboard")
    assert '<div class="hello-banner">Hello from hello_world</div>' in page.text


def test_hook_extra_css_urls(hello):
    client = login(hello, "cust@example.com", PASSWORD)
    page = client.get("/dashboard").text
    assert "/-/plugin-static/hello_world/hello.css" in page
    assert "hello-banner" in client.get("/-/plugin-static/hello_world/hello.css").text


def test_hook_extra_js_urls(hello):
    client = login(hello, "cust@example.com", PASSWORD)
    assert "/-/plugin-static/hello_world/hello.js" in client.get("/dashboard").text
    assert client.get("/-/plugin-static/hello_world/hello.js").status_code == 200


def test_hook_client_menu_items(hello, cli, fresh):
    assert (
        'href="/plugins/hello_world/"'
        in login(hello, "cust@example.com", PASSWORD).get("/dashboard").text
    )
    cli("plugin", "disable", "hello_world")
    after = fresh(hello)
    assert (
        'href="/plugins/hello_world/"'
        not in login(after, "cust@example.com", PASSWORD).get("/dashboard").text
    )


def test_hook_admin_menu_items(hello):
    from flask_login import login_user

    from kernel.accounts.models import User
    from kernel.web.shell import admin_menu_items

    with hello.test_request_context():
        admin = db.session.scalar(db.select(User).where(User.email == "admin@example.com"))
        customer = db.session.scalar(db.select(User).where(User.email == "cust@example.com"))
        login_user(admin)
        assert [i["label"] for i in admin_menu_items(admin)] == ["Greetings"]
        assert admin_menu_items(customer) == []


def test_hook_dashboard_widgets(hello):
    client = login(hello, "cust@example.com", PASSWORD)
    before = len(greetings(hello))
    client.post("/plugins/hello_world/", data={"text": "there"})
    assert f"{before + 1} greetings so far" in client.get("/dashboard").text


def test_hook_migrations_dir(hello):
    from sqlalchemy import inspect

    with hello.app_context():
        tables = inspect(db.engine).get_table_names()
    assert {"hello_world_greeting", "alembic_version_hello_world"} <= set(tables)


def test_hook_register_admin_views(hello):
    admin = login(hello, "admin@example.com", PASSWORD)
    admin.post("/plugins/hello_world/", data={"text": "admins"})
    assert "Hello, admins" in admin.get("/admin/greetings/").text
    assert login(hello, "cust@example.com", PASSWORD).get("/admin/greetings/").status_code == 403


def test_hook_register_permissions(hello):
    from kernel.accounts.permissions import all_permissions

    with hello.app_context():
        perms = all_permissions()
    assert perms["hello_world.manage"] == "Manage hello_world greetings"
    assert "admin.access" in perms


def test_hook_register_cron_tasks(hello, cli):
    from builtin_plugins.hello_world.models import Greeting

    with hello.app_context():
        db.session.add(Greeting(text="old", created_at=utcnow() - timedelta(days=40)))
        db.session.add(Greeting(text="new"))
        db.session.commit()
    tasks = json.loads(cli("cron", "list", "--json").output)
    assert "hello_world.tidy" in {t["name"] for t in tasks}
    result = cli("cron", "run", "--task", "hello_world.tidy", "--force")
    assert result.exit_code == 0 and "hello_world.tidy: ok" in result.output
    assert "old" not in greetings(hello) and "new" in greetings(hello)


def test_hook_register_commands(hello):
    from kernel.testing import run_cli

    result = run_cli(hello, "hello", "greet", "from the shell")
    assert result.exit_code == 0, result.output
    assert "Hello, from the shell" in greetings(hello)


def test_hook_demo_seed(hello):
    from kernel.accounts.services import create_user

    with hello.app_context():
        admin = create_user("boss@example.com", "boss-password-1", role="admin")
        customer = create_user("ann@example.com", "ann-password-1", name="Ann")
        pm = hello.extensions["pteroca"].pm
        said = [
            line for lines in pm.hook.demo_seed(admin=admin, customer=customer) for line in lines
        ]
        pm.hook.demo_seed(admin=admin, customer=customer)  # a second run adds nothing
    assert "hello_world: a welcome greeting is on /plugins/hello_world/" in said
    assert greetings(hello).count("Hello, welcome to the demo, Ann!") == 1


def test_hook_health_checks(hello):
    report = hello.test_client().get("/-/health", headers=HEALTH_HEADERS).get_json()
    assert report["plugin_health"]["hello_world"] == {"greetings_table": "ok"}


def test_hook_register_payment_providers(hello, monkeypatch):
    from kernel.payments.providers import available_providers, registered_providers

    with hello.app_context():
        assert "hello_world_demo" in registered_providers()
        assert available_providers("EUR") == []
    monkeypatch.setenv("PTEROCA_PLUGIN_HELLO_WORLD_DEMO_PROVIDER", "1")
    with hello.app_context():
        assert [p.identifier for p in available_providers("eur")] == ["hello_world_demo"]
        assert available_providers("JPY") == []


def test_hook_register_hookspecs(hello, plugins_dir, cli, fresh):
    from tests.helpers import write_plugin

    write_plugin(
        plugins_dir,
        "listener",
        """
from kernel import hookimpl
HEARD = []

@hookimpl
def hello_world_greeted(greeting):
    HEARD.append(greeting.text)
""",
        capabilities=["hello_world_greeted"],
        requires={"hello_world": ">=1.0"},
    )
    assert cli("plugin", "enable", "listener").exit_code == 0
    app = fresh(hello)
    login(app, "cust@example.com", PASSWORD).post("/plugins/hello_world/", data={"text": "ears"})
    import pteroca_plugins.listener as listener

    assert listener.HEARD == ["Hello, ears"]


def test_hook_user_registered(hello):
    with hello.app_context():
        create_user("new@example.com", PASSWORD, name="Newton")
    assert "Hello, Newton" in greetings(hello)


def test_hook_user_logged_in(hello):
    login(hello, "cust@example.com", PASSWORD)
    assert "hello_world.welcome_back" in audit_actions(hello)


def test_hook_veto_registration(hello, monkeypatch):
    monkeypatch.setenv("PTEROCA_PLUGIN_HELLO_WORLD_BLOCKED_DOMAINS", "spam.test, junk.test")
    with hello.app_context():
        with pytest.raises(AccountError, match="registrations from spam.test are not accepted"):
            create_user("x@spam.test", PASSWORD)
        create_user("x@fine.test", PASSWORD)


def test_hook_veto_login(hello, monkeypatch):
    monkeypatch.setenv("PTEROCA_PLUGIN_HELLO_WORLD_LOGIN_NOTICE", "Back at 6pm")
    refused = hello.test_client().post(
        "/login", data={"email": "cust@example.com", "password": PASSWORD}
    )
    assert refused.status_code == 400 and "Back at 6pm" in refused.text
    login(hello, "admin@example.com", PASSWORD)  # staff still get in


def test_settings_override_by_environment(hello, monkeypatch):
    monkeypatch.setenv("PTEROCA_PLUGIN_HELLO_WORLD_GREETING", "Ahoy")
    page = login(hello, "cust@example.com", PASSWORD).get("/plugins/hello_world/")
    assert "Ahoy from hello_world!" in page.text


def test_hook_user_updated(hello):
    client = login(hello, "cust@example.com", PASSWORD)
    assert (
        client.post("/account/profile", data={"name": "Cusanus", "language": "pl"}).status_code
        == 302
    )
    with hello.app_context():
        entry = db.session.scalars(
            db.select(AuditLog).where(AuditLog.action == "hello_world.saw_profile_update")
        ).one()
        assert entry.target == "cust@example.com"
        assert entry.details == {"fields": ["language", "name"]}


def test_hook_user_password_changed(hello):
    client = login(hello, "cust@example.com", PASSWORD)
    response = client.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": "an even better password",
            "confirm": "an even better password",
        },
    )
    assert response.status_code == 302
    assert "hello_world.saw_password_change" in audit_actions(hello)
    with hello.app_context():
        details = [a.details for a in db.session.scalars(db.select(AuditLog))]
    assert "an even better password" not in json.dumps(details)


def test_hook_before_email_send(hello, tmp_path):
    from kernel.mail import send_email

    box = tmp_path / "outbox"
    hello.config["MAIL_URL"] = f"file://{box}"
    with hello.test_request_context():
        send_email(
            "cust@example.com",
            "Hi",
            "email_changed",
            user={"name": "Cus"},
            old_email="a@x.test",
            new_email="b@x.test",
        )
    assert "X-Hello-World: Hello from hello_world" in box.read_text()
