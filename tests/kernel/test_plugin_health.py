"""Plugin health: hook failures are counted and shown; a plugin that keeps failing is faulted
on every process of the cluster within the plugin poll interval."""

from __future__ import annotations

import json
import time

from werkzeug.test import Client

from kernel import generation
from kernel.accounts.services import create_user
from kernel.extensions import db
from kernel.plugins.models import PluginRecord
from kernel.site_settings import set_many
from kernel.testing import HEALTH_HEADERS, rebuild
from kernel.wsgi import HotSwapApplication
from tests.helpers import PASSWORD, write_plugin

FLAKY = """
from markupsafe import Markup
from kernel import hookimpl

@hookimpl
def user_registered(user):
    if user.email.startswith("bad"):
        raise ValueError("cannot greet " + user.email)

@hookimpl
def dashboard_widgets(user):
    return [{"title": "Flaky card", "html": Markup("<p>flaky</p>")}]
"""


def flaky(app, cli, plugins_dir, threshold: int | None = None):
    write_plugin(plugins_dir, "flaky", FLAKY, capabilities=["events", "widgets"])
    result = cli("plugin", "enable", "flaky")
    assert result.exit_code == 0, result.output
    live = rebuild(app)
    if threshold is not None:
        with live.app_context():
            set_many({"plugin_failure_threshold": threshold})
    return rebuild(live)


def register(app, email: str) -> None:
    with app.app_context():
        create_user(email, PASSWORD)


def info(cli) -> dict:
    result = cli("plugin", "info", "flaky", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def state(app, name: str = "flaky") -> PluginRecord:
    with app.app_context():
        record = db.session.get(PluginRecord, name)
        return (record.state, record.reason)


def test_failures_are_counted_and_shown_in_the_cli_and_the_admin(app, cli, plugins_dir):
    live = flaky(app, cli, plugins_dir)
    register(live, "bad1@example.com")
    register(live, "bad2@example.com")
    errors = info(cli)["hook_errors"]
    assert errors["count"] == 2 and errors["in_a_row"] == 2
    assert errors["last_hook"] == "user_registered"
    assert errors["last_error"] == "ValueError: cannot greet bad2@example.com"
    listed = cli("plugin", "list").output
    assert "hook errors: 2 (last: user_registered: ValueError: cannot greet bad2" in listed
    assert "hook errors   2, 2 in a row" in cli("plugin", "info", "flaky").output
    with live.app_context():
        create_user("boss@example.com", PASSWORD, role="admin", verified=True)
    admin = live.test_client()
    assert (
        admin.post("/login", data={"email": "boss@example.com", "password": PASSWORD}).status_code
        == 302
    )
    page = admin.get("/admin/plugins/").text
    card = page.split('id="plugin-flaky"', 1)[1].split('class="card mb-3 plugin"', 1)[0]
    assert 'class="col-sm-10 hook-errors"><span class="badge badge-danger">2</span>' in card
    assert "cannot greet bad2@example.com" in card


def test_a_success_resets_the_failures_in_a_row(app, cli, plugins_dir):
    live = flaky(app, cli, plugins_dir, threshold=3)
    register(live, "bad1@example.com")
    register(live, "bad2@example.com")
    register(live, "good@example.com")
    register(live, "bad3@example.com")
    errors = info(cli)["hook_errors"]
    assert errors["count"] == 3 and errors["in_a_row"] == 1
    assert state(live)[0] == "enabled"


def test_a_plugin_failing_n_times_in_a_row_is_faulted_on_every_process(app, cli, plugins_dir):
    """Two apps on one database: A sees the failures, B serves the dashboard. A stops calling
    the plugin at once; B drops it at its next generation poll."""
    a = flaky(app, cli, plugins_dir, threshold=3)
    poll = 0.5
    generation.take_local_change()  # B is another process: it learns through the database only
    b = HotSwapApplication(factory=lambda: rebuild(app), poll_seconds=poll)
    with b.app.app_context():
        create_user("viewer@example.com", PASSWORD)
    browser = Client(b)  # requests go through the hot swap, as in production
    assert (
        browser.post(
            "/login", data={"email": "viewer@example.com", "password": PASSWORD}
        ).status_code
        == 302
    )
    assert "Flaky card" in browser.get("/dashboard").get_data(as_text=True)
    swaps = b.swaps

    for n in range(1, 4):
        register(a, f"bad{n}@example.com")
    current, reason = state(a)
    assert current == "faulted"
    assert reason == (
        "faulted after 3 failures in a row of user_registered; last: ValueError: "
        "cannot greet bad3@example.com"
    )
    assert "flaky" not in a.extensions["pteroca"].loaded  # A stops calling it at once
    register(a, "bad4@example.com")
    assert info(cli)["hook_errors"]["count"] == 3
    generation.take_local_change()  # B is another process: it learns through the database only

    time.sleep(poll + 0.1)
    page = browser.get("/dashboard").get_data(as_text=True)
    assert b.swaps == swaps + 1 and "Flaky card" not in page
    assert "flaky" not in b.app.extensions["pteroca"].loaded
    with a.app_context():
        from kernel.models import AuditLog

        [entry] = db.session.scalars(db.select(AuditLog).where(AuditLog.action == "plugin.faulted"))
        assert entry.target == "flaky" and "3 failures in a row" in entry.details["reason"]
    assert "faulted" in cli("plugin", "list").output

    # Fixed (or not): enabling it again starts the count in a row from zero
    assert cli("plugin", "enable", "flaky").exit_code == 0
    errors = info(cli)["hook_errors"]
    assert errors == {**errors, "count": 3, "in_a_row": 0}
    assert state(a)[0] == "enabled"


def test_threshold_zero_never_faults(app, cli, plugins_dir):
    live = flaky(app, cli, plugins_dir, threshold=0)
    for n in range(12):
        register(live, f"bad{n}@example.com")
    assert state(live)[0] == "enabled"
    assert info(cli)["hook_errors"]["in_a_row"] == 12


def test_the_default_threshold_faults_after_ten(app, cli, plugins_dir):
    live = flaky(app, cli, plugins_dir)
    for n in range(9):
        register(live, f"bad{n}@example.com")
    assert state(live)[0] == "enabled"
    register(live, "bad9@example.com")
    assert state(live)[0] == "faulted"


ADMIN_BREAKER = """
from kernel import hookimpl

@hookimpl
def register_admin_views(admin):
    raise RuntimeError("admin view exploded")
"""


def test_admin_views_that_fail_fault_their_plugin(app, cli, plugins_dir):
    write_plugin(plugins_dir, "adminbad", ADMIN_BREAKER, capabilities=["admin"])
    assert cli("plugin", "enable", "adminbad").exit_code == 0
    live = rebuild(app)
    assert live.test_client().get("/admin/").status_code in (200, 302)
    assert state(live, "adminbad") == (
        "faulted",
        "register_admin_views failed: RuntimeError: admin view exploded",
    )


PROVIDERS = """
from kernel import hookimpl

class Good:
    identifier, display_name, currencies = "good_pay", "Good", ("USD",)

    def is_configured(self):
        return True

@hookimpl
def register_payment_providers():
    return [Good()]
"""

BROKEN_PROVIDERS = """
from kernel import hookimpl

@hookimpl
def register_payment_providers():
    raise RuntimeError("provider registry exploded")

@hookimpl
def health_checks():
    raise RuntimeError("health list exploded")
"""


def test_a_broken_provider_list_leaves_the_others_offered(app, cli, plugins_dir):
    write_plugin(plugins_dir, "good_pay", PROVIDERS, capabilities=["payments"])
    write_plugin(plugins_dir, "bad_pay", BROKEN_PROVIDERS, capabilities=["payments", "health"])
    for name in ("good_pay", "bad_pay"):
        assert cli("plugin", "enable", name).exit_code == 0
    live = rebuild(app)
    with live.test_request_context():
        from kernel.health import run_health_checks
        from kernel.payments.providers import available_providers

        assert [p.identifier for p in available_providers("USD")] == ["good_pay"]
        assert run_health_checks()["bad_pay"] == {
            "health_checks": "RuntimeError: health list exploded"
        }
    health = live.test_client().get("/-/health", headers=HEALTH_HEADERS).get_json()
    assert health["plugin_health"]["bad_pay"]["health_checks"].startswith("RuntimeError")
