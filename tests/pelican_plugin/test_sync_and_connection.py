"""User sync (Pelican users have no names) and the connection test, against the simulator."""

from __future__ import annotations

from builtin_plugins.pelican import links, sync
from builtin_plugins.pelican.connection import check_connection
from builtin_plugins.pelican.panel import load_settings
from kernel.extensions import db
from tests.pelican_plugin.conftest import configure, customer


def panel_users(sim) -> dict[str, dict]:
    return {u["email"]: u for u in sim.snapshot()["users"]}


def test_registration_creates_a_pelican_user_without_names(ctx, panel, sim):
    user = customer("New.Player@Example.com")
    sync.link_user(user.id)
    link = links.user_link(user.id)
    assert link is not None and link.origin == "created"
    made = panel.app.get_user(link.panel_user_id)
    assert made["email"] == "new.player@example.com" and made["username"] == "new.player"
    assert made["external_id"] == f"pteroca-user-{user.id}"
    assert "first_name" not in made


def test_an_existing_pelican_user_is_linked_by_email(ctx, panel, sim):
    existing = sim.seed_users(["old.player@example.com"])[0]
    user = customer("OLD.player@example.com")
    sync.link_user(user.id)
    link = links.user_link(user.id)
    assert link.panel_user_id == existing and link.origin == "linked"


def test_a_taken_username_gets_a_number(ctx, panel, sim):
    panel.app.create_user(email="other@elsewhere.example", username="sam")
    user = customer("sam@example.com")
    sync.link_user(user.id)
    assert panel.app.get_user(links.user_link(user.id).panel_user_id)["username"] == "sam2"


def test_email_and_password_changes_reach_pelican(ctx, panel, sim, sent):
    user = customer("first@example.com")
    sync.link_user(user.id)
    user.email = "Second@Example.com"
    db.session.commit()
    sync.push_email(user.id)
    panel_id = links.user_link(user.id).panel_user_id
    assert panel.app.get_user(panel_id)["email"] == "second@example.com"
    sent.clear()
    sync.on_password_changed(user, "a new secret 123")
    patch = next(r for r in sent if r["method"] == "PATCH")
    assert patch["body"]["password"] == "a new secret 123"
    assert patch["body"]["username"] and patch["body"]["email"] == "second@example.com"


def test_a_panel_that_is_away_is_noted_not_raised(ctx, pel_app, panel, sim):
    sim.set_switches(fail_next=[{"count": 20, "status": 503}])
    user = customer("away@example.com")  # registering links at once: the panel is away
    sync.link_user(user.id)  # no exception: registration must not fail
    assert links.user_link(user.id) is None
    sim.set_switches(fail_next=[])
    report = sync.sync_all()
    assert "away@example.com" in report.created


def test_the_sync_task_links_every_account(ctx, pel_app, panel, sim):
    configure(pel_app, sync_users=False)  # registrations do not link
    for n in range(3):
        customer(f"p{n}@example.com")
    assert sync.sync_task() is None  # user sync is off
    configure(pel_app, sync_users=True)
    result = sync.sync_task()
    assert sorted(result["created"]) == ["p0@example.com", "p1@example.com", "p2@example.com"]
    assert sync.sync_task()["created"] == []


# --- connection test ---------------------------------------------------------------------------


def test_the_connection_test_accepts_the_simulator(ctx, sim):
    report = check_connection(load_settings())
    assert report.ok, report.problems
    assert "egg, node, user, server" in report.checks[1].message
    assert "Root Admin" in report.checks[2].message


def test_the_connection_test_names_each_wrong_setting(ctx, pel_app, sim):
    configure(pel_app, application_key=sim.client_key)
    report = check_connection(load_settings())
    assert "starts with papp_" in report.problems[0]
    configure(pel_app, application_key=sim.application_key, client_key=sim.application_key)
    assert "starts with pacc_" in check_connection(load_settings()).problems[0]
    configure(pel_app, client_key="pacc_" + "x" * 43)
    assert "401" in check_connection(load_settings()).problems[0]
    configure(pel_app, panel_url=sim.url + "/api/application")
    assert "without the API path" in check_connection(load_settings()).problems[0]
    configure(pel_app, panel_url="http://127.0.0.1:9")
    assert "Cannot reach the panel" in check_connection(load_settings()).problems[0]


def test_a_key_without_egg_permission_is_named(ctx, pel_app, sim):
    admin = next(u for u in sim.snapshot()["users"] if u["root_admin"])
    limited = sim.create_key(
        admin["id"],
        "application",
        permissions={"server": 3, "node": 3, "allocation": 3, "user": 3, "egg": 0},
    )
    configure(pel_app, application_key=limited)
    problems = check_connection(load_settings()).problems
    assert problems == [
        "The application key lacks read permission on egg: give it read & write on server, "
        "node, allocation, user and egg (Admin > API Keys)."
    ]


def test_a_client_key_of_a_user_who_is_not_root_admin_is_refused(ctx, pel_app, sim):
    someone = sim.seed_users(["plain@example.com"])[0]
    configure(pel_app, client_key=sim.create_key(someone, "client"))
    problems = check_connection(load_settings()).problems
    assert problems and "not a Root Admin" in problems[0]


def test_the_cli_test_command(ctx, sim):
    from kernel.testing import run_cli

    result = run_cli(ctx, "pelican", "test")
    assert result.exit_code == 0, result.output
    assert "ok   client_key" in result.output
