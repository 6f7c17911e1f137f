"""What a request costs the kernel: SQL statements per page, read-only transactions on SQLite,
the shown balance's memo, and the light app of ``pteroca plugin ...`` commands."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from flask import flash, get_flashed_messages

from kernel import audit, read_only, site_settings
from kernel.extensions import db
from kernel.models import AuditLog
from kernel.payments import ledger
from kernel.testing import build_app, login, statements
from tests.helpers import PASSWORD, make_user

ROOT = Path(__file__).resolve().parents[2]
EMAIL = "cost@example.com"


def sqlite_app(instance: Path):
    """An app on SQLite whatever the suite's database (the transaction rules are SQLite's)."""
    return build_app(instance, DATABASE_URL=f"sqlite:///{instance / 'pteroca.db'}")


@pytest.fixture
def site(instance, plugins_dir):
    app = sqlite_app(instance)
    with app.app_context():
        user = make_user(EMAIL, name="Cost")
        ledger.credit(user.id, 1234, "adjustment", "cost:seed")
        site_settings.set_many({"motd": "Hello from the test", "site_name": "Cost Panel"})
    return app


def logged_in(app):
    client = app.test_client()
    login(client, EMAIL, PASSWORD)
    return client


def database_file(app) -> str:
    return app.config["DATABASE_URL"].removeprefix("sqlite:///")


# --- SQL statements per page ---------------------------------------------------------


def test_dashboard_runs_one_query_per_thing_it_shows(site):
    client = logged_in(site)
    assert client.get("/dashboard").status_code == 200  # warm: templates compiled
    with statements(site) as seen:
        page = client.get("/dashboard")
    assert page.status_code == 200
    assert "Hello from the test" in page.text and "Cost Panel" in page.text
    assert page.text.count("12.34 USD") == 2  # balance widget and the menu
    settings = [s for s in seen if "FROM site_setting" in s]
    wallets = [s for s in seen if "FROM wallet" in s]
    assert len(settings) == 1, settings  # every setting the page reads, in one query
    assert len(wallets) == 1, wallets  # the widget and the menu share one read
    assert not [s for s in seen if s.startswith("PRAGMA")], seen  # database_ready remembered
    # BEGIN, the user, the settings, the wallet, the recent activity: nothing else
    assert len(seen) <= 5, seen


def test_settings_load_at_once_and_changes_are_seen(site):
    with site.app_context():
        with statements(site) as seen:
            assert site_settings.get("currency") == "USD"
            assert site_settings.get("motd") == "Hello from the test"
            assert site_settings.get("require_2fa_roles") == ""
            assert site_settings.get("min_password_length") == 10  # a default, coerced
        assert len([s for s in seen if "site_setting" in s]) == 1
        changed = site_settings.set_many({"motd": "Changed", "min_password_length": "12"})
        assert changed == {
            "motd": ("Hello from the test", "Changed"),
            "min_password_length": (10, 12),
        }
        assert site_settings.get("motd") == "Changed"
        assert site_settings.get("min_password_length") == 12
    with site.app_context():  # a new app context (a new request) reads them again
        assert site_settings.get("motd") == "Changed"


def test_database_ready_is_checked_until_true_then_remembered(instance, plugins_dir):
    from kernel.app import create_app
    from kernel.extensions import database_ready

    cfg = {
        "TESTING": True,
        "INSTANCE_PATH": str(instance),
        "PLUGINS_DIR": str(plugins_dir),
        "SECRET_KEY": "k",
        "DATABASE_URL": f"sqlite:///{instance / 'pteroca.db'}",
    }
    app = create_app(cfg)  # nothing migrated yet
    with app.app_context():
        assert database_ready() is False
        assert database_ready() is False  # "not ready" is never remembered
        from kernel.plugin_lifecycle.services import upgrade_all

        upgrade_all()
        assert database_ready() is True
        with statements(app) as seen:
            assert database_ready() is True
        assert seen == []


# --- the shown balance ------------------------------------------------------------------


def test_balance_shown_after_a_credit_in_the_same_request_is_the_new_one(site):
    from kernel.accounts.models import User
    from kernel.web.wallet_views import balance_label

    with site.test_request_context("/dashboard"):
        user = db.session.scalar(db.select(User).where(User.email == EMAIL))
        with statements(site) as seen:
            assert balance_label(user) == "12.34 USD"
            assert balance_label(user) == "12.34 USD"
        assert len([s for s in seen if "FROM wallet" in s]) == 1
        ledger.credit(user.id, 100, "adjustment", "cost:1", commit=False)  # same transaction
        assert balance_label(user) == "13.34 USD"
        ledger.debit(user.id, 34, "adjustment", "cost:2")  # committed: a new transaction
        assert balance_label(user) == "13.00 USD"
        ledger.credit(user.id, 500, "adjustment", "cost:3", commit=False)
        assert balance_label(user) == "18.00 USD"
        db.session.rollback()  # the credit is undone, and so is what was shown
        assert balance_label(user) == "13.00 USD"
        assert ledger.balance(user.id) == 1300


def test_balance_shown_after_a_credit_in_a_real_request(site):
    from flask_login import current_user

    from kernel.web.wallet_views import balance_label

    @read_only
    def credit_between():
        before = balance_label(current_user)
        ledger.credit(current_user.id, 66, "adjustment", "cost:view")
        return f"{before} -> {balance_label(current_user)}"

    site.add_url_rule("/test/credit-between", view_func=credit_between)
    client = logged_in(site)
    assert client.get("/test/credit-between").text == "12.34 USD -> 13.00 USD"


# --- SQLite: read-only requests begin deferred ---------------------------------------------


def test_read_only_pages_begin_deferred_and_others_immediate(site):
    @read_only
    def either():
        return str(db.session.scalar(db.select(db.func.count(AuditLog.id))))

    site.add_url_rule("/test/either", view_func=either, methods=["GET", "POST"])
    client = logged_in(site)

    def begins(method: str, url: str) -> list[str]:
        with statements(site) as seen:
            assert client.open(url, method=method).status_code == 200
        return [s for s in seen if s.startswith("BEGIN")]

    assert begins("GET", "/dashboard") == ["BEGIN"]
    assert begins("HEAD", "/dashboard") == ["BEGIN"]
    assert begins("GET", "/account") == ["BEGIN IMMEDIATE"]  # not marked read-only
    assert begins("GET", "/test/either") == ["BEGIN"]
    assert begins("POST", "/test/either") == ["BEGIN IMMEDIATE"]  # the mark is for GET/HEAD


def test_read_only_requests_read_in_parallel_while_a_writer_commits(site):
    """Two dashboards-like requests hold their transactions at the same time (with BEGIN
    IMMEDIATE the second would wait for the first, and the barrier would break), and a
    writer commits meanwhile."""
    barrier = threading.Barrier(3, timeout=10)

    @read_only
    def slow_read():
        count = db.session.scalar(db.select(db.func.count(AuditLog.id)))
        barrier.wait()  # both readers are inside their transactions, the writer goes
        barrier.wait()  # the writer committed
        return str(count)

    site.add_url_rule("/test/slow-read", view_func=slow_read)
    results: list = []

    def reader():
        results.append(site.test_client().get("/test/slow-read").status_code)

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for thread in threads:
        thread.start()
    barrier.wait()
    with site.app_context():
        audit.record("test.write", "x", actor="test")  # commits while both read
    barrier.wait()
    for thread in threads:
        thread.join(15)
    assert results == [200, 200]


def test_a_write_sqlite_refuses_runs_the_request_again_under_the_write_lock(site):
    runs: list[int] = []

    @read_only
    def conflicted():
        runs.append(1)
        flash("shown once")
        db.session.scalar(db.select(db.func.count(AuditLog.id)))  # the snapshot starts here
        if len(runs) == 1:  # another process commits after our snapshot began
            other = sqlite3.connect(database_file(site), isolation_level=None)
            other.execute(
                "INSERT INTO audit_log (created_at, actor, action, target, details, "
                "ip) VALUES (CURRENT_TIMESTAMP, 'other', 'test.other', '', '{}', '')"
            )
            other.close()
        audit.record("test.conflicted", "x", actor="test")  # refused on the first run
        return " | ".join(get_flashed_messages())

    site.add_url_rule("/test/conflicted", view_func=conflicted)
    with statements(site) as seen:
        response = site.test_client().get("/test/conflicted")
    assert response.status_code == 200
    assert response.text == "shown once"  # the first run's flash was forgotten
    assert len(runs) == 2
    assert [s for s in seen if s.startswith("BEGIN")] == ["BEGIN", "BEGIN IMMEDIATE"]
    with site.app_context():
        actions = db.session.scalars(db.select(AuditLog.action)).all()
    assert actions.count("test.conflicted") == 1 and actions.count("test.other") == 1


def test_a_request_that_committed_after_a_refusal_is_not_run_again(site):
    """A view that catches the refused write and commits other work is left as it is:
    running it again would commit that work twice."""
    from sqlalchemy.exc import OperationalError

    runs: list[int] = []

    @read_only
    def swallows():
        runs.append(1)
        db.session.scalar(db.select(db.func.count(AuditLog.id)))
        other = sqlite3.connect(database_file(site), isolation_level=None)
        other.execute(
            "INSERT INTO audit_log (created_at, actor, action, target, details, ip) "
            "VALUES (CURRENT_TIMESTAMP, 'other', 'test.other', '', '{}', '')"
        )
        other.close()
        try:
            audit.record("test.refused", "x", actor="test")
        except OperationalError:
            db.session.rollback()
        audit.record("test.after", "x", actor="test")  # begins IMMEDIATE: not refused
        return "went on"

    site.add_url_rule("/test/swallows", view_func=swallows)
    response = site.test_client().get("/test/swallows")
    assert response.status_code == 200 and response.text == "went on"
    assert runs == [1]
    with site.app_context():
        actions = db.session.scalars(db.select(AuditLog.action)).all()
    assert actions.count("test.after") == 1 and actions.count("test.refused") == 0


def test_read_only_requests_that_write_never_fail_under_concurrent_writers(site):
    @read_only
    def read_then_write():
        db.session.scalar(db.select(db.func.count(AuditLog.id)))
        audit.record("test.reader_wrote", "x", actor="test")
        return "ok"

    site.add_url_rule("/test/read-then-write", view_func=read_then_write)
    statuses: list[int] = []
    errors: list[BaseException] = []

    def reader():
        client = site.test_client()
        for _ in range(15):
            statuses.append(client.get("/test/read-then-write").status_code)

    def writer(index):
        try:
            with site.app_context():
                for i in range(15):
                    audit.record("test.writer", f"{index}:{i}", actor="test")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(3)] + [
        threading.Thread(target=writer, args=(i,)) for i in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert statuses == [200] * 45
    with site.app_context():
        actions = db.session.scalars(db.select(AuditLog.action)).all()
    assert actions.count("test.reader_wrote") == 45 and actions.count("test.writer") == 30


def test_blocked_user_on_a_read_only_page_is_logged_out_and_audited(site):
    from kernel.accounts.models import User

    client = logged_in(site)
    with site.app_context():
        user = db.session.scalar(db.select(User).where(User.email == EMAIL))
        user.is_blocked = True
        db.session.commit()
    response = client.get("/dashboard")
    assert response.status_code == 302 and "/login" in response.location
    with site.app_context():
        assert (
            db.session.scalar(
                db.select(db.func.count(AuditLog.id)).where(AuditLog.action == "user.session_ended")
            )
            == 1
        )


def test_generation_poll_does_not_wait_for_a_writer(site):
    from kernel.wsgi import HotSwapApplication

    wsgi = HotSwapApplication(factory=lambda: site, poll_seconds=0)
    writer = sqlite3.connect(database_file(site), isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # another process is in the middle of a write
    writer.execute("UPDATE kernel_state SET value = value WHERE key = 'plugin_generation'")
    answer: list[int] = []
    try:
        with statements(site) as seen:
            thread = threading.Thread(target=lambda: answer.append(wsgi.stored_generation()))
            thread.start()
            thread.join(5)  # BEGIN IMMEDIATE would wait up to 30 s for the writer
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert answer == [wsgi.generation]
    assert [s for s in seen if s.startswith("BEGIN")] == ["BEGIN"]


def test_plugin_poll_default_is_one_second():
    from kernel.config import load_config

    assert load_config({"INSTANCE_PATH": "/tmp/x", "SECRET_KEY": "k"})["PLUGIN_POLL_SECONDS"] == 1.0


# --- the light app of `pteroca plugin ...` --------------------------------------------------


def test_lazy_routes_app_builds_its_routes_on_first_url(app):
    from kernel.app import create_app

    cfg = app.config["PTEROCA_BUILD_CONFIG"]
    light = create_app(cfg, lazy_routes=True)
    assert "web.dashboard" not in light.view_functions
    with light.app_context():  # an app context alone builds nothing
        assert db.session.scalar(db.select(db.func.count(AuditLog.id))) >= 0
    assert "web.dashboard" not in light.view_functions
    with light.test_request_context("/"):
        from flask import url_for

        assert url_for("web.dashboard") == "/dashboard"
    assert "admin.index" in light.view_functions and "wallet.index" in light.view_functions
    assert light.test_client().get("/login").status_code == 200
    other = create_app(cfg, lazy_routes=True)
    assert other.test_client().get("/login").status_code == 200  # a request builds them too


CLI_PROBE = """
import sys
from kernel.cli import main
try:
    main(sys.argv[1:], prog_name="pteroca")
except SystemExit as exc:
    if exc.code:
        raise
print("imported:", ",".join(m for m in ("alembic", "flask_admin") if m in sys.modules))
"""


def cli_env(app, instance) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PTEROCA_")}
    env.update(
        {
            "PTEROCA_INSTANCE_PATH": str(instance),
            "PTEROCA_PLUGINS_DIR": str(instance / "plugins"),
            "PTEROCA_SECRET_KEY": "test-secret-key",
            "PTEROCA_DATABASE_URL": app.config["DATABASE_URL"],
            "PTEROCA_OSV_URL": app.config.get("OSV_URL", ""),
        }
    )
    return env


def test_plugin_commands_skip_routes_admin_and_alembic(app, instance, plugins_dir):
    from tests.helpers import page_plugin

    page_plugin(plugins_dir, "light_page")
    env = cli_env(app, instance)
    run = subprocess.run(
        [sys.executable, "-c", CLI_PROBE, "plugin", "list"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "light_page" in run.stdout and "imported: \n" in run.stdout + "\n"
    run = subprocess.run(
        [sys.executable, "-c", CLI_PROBE, "plugin", "enable", "light_page"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "enabled: light_page" in run.stdout
    assert "flask_admin" not in run.stdout.rsplit("imported:", 1)[1]
    # a command outside the plugin group still gets the whole app (it may build URLs)
    run = subprocess.run(
        [sys.executable, "-c", CLI_PROBE, "cron", "list"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "flask_admin" in run.stdout.rsplit("imported:", 1)[1]
    # and the running server serves what the light command enabled
    from kernel.testing import rebuild

    assert rebuild(app).test_client().get("/plugins/light_page/").text == "hello from light_page"


# --- translations: looked up once per request, and again when the locale changes -----------


def test_translations_follow_a_locale_change_within_a_request(app):
    from flask import render_template_string
    from flask_babel import force_locale, gettext, refresh

    with app.test_request_context("/", headers={"Accept-Language": "pl"}):
        assert gettext("Dashboard") == "Pulpit"
        assert render_template_string("{{ _('Dashboard') }}") == "Pulpit"
        with force_locale("en"):  # an email in the recipient's language
            assert gettext("Dashboard") == "Dashboard"
            assert render_template_string("{{ _('Dashboard') }}") == "Dashboard"
        assert gettext("Dashboard") == "Pulpit"
        refresh()  # the locale is selected again (here: the same language)
        assert render_template_string("{{ _('Dashboard') }}") == "Pulpit"
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        assert gettext("Dashboard") == "Dashboard"
