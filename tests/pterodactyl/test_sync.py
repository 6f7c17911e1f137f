"""User sync: registration creates or links a panel user; changes are pushed."""

from __future__ import annotations

import pytest

from builtin_plugins.pterodactyl import links, sync
from kernel.accounts import services as accounts
from kernel.extensions import db
from kernel.testing import run_cli
from tests.pterodactyl.conftest import configure, panel_customer


def panel_user(sim, user):
    link = links.user_link(user.id)
    assert link is not None, "no panel user linked"
    return sim.state.users[link.panel_user_id]


def test_registration_creates_the_panel_user(ctx, sim):
    user = panel_customer("carol.smith@example.com", name="Carol Anne Smith")
    created = panel_user(sim, user)
    assert (created.email, created.username) == ("carol.smith@example.com", "carol.smith")
    assert (created.first_name, created.last_name) == ("Carol", "Anne Smith")
    assert created.external_id == f"pteroca-user-{user.id}" and not created.root_admin
    assert links.user_link(user.id).origin == "created"


def test_registration_through_the_site_creates_the_panel_user(ptero_app, sim):
    client = ptero_app.test_client()
    response = client.post(
        "/register",
        data={
            "email": "web@example.com",
            "name": "Web Person",
            "password": "a-long-password-1",
            "terms": "1",
        },
    )
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:500]
    assert any(u.email == "web@example.com" for u in sim.state.users.values())


def test_a_taken_username_is_made_unique(ctx, panel, sim):
    panel.app.create_user(
        email="other-dave@example.org", username="dave", first_name="D", last_name="Other"
    )
    user = panel_customer("dave@example.com", name="Dave")
    assert panel_user(sim, user).username == "dave2"


def test_an_existing_panel_account_with_the_same_email_is_linked(ctx, panel, sim):
    panel.app.create_user(
        email="xerin@example.com", username="xerin", first_name="X", last_name="Erin"
    )  # a partial match must not be taken
    existing = panel.app.create_user(
        email="Erin@Example.com", username="erin_old", first_name="Erin", last_name="Old"
    )
    before = len(sim.state.users)
    user = panel_customer("erin@example.com", name="Erin New")
    link = links.user_link(user.id)
    assert (link.panel_user_id, link.origin) == (existing["id"], "linked")
    assert len(sim.state.users) == before


def test_a_password_change_is_pushed(ctx, sim):
    user = panel_customer("pw@example.com")
    accounts.set_password(user, "brand-new-password-9")
    assert panel_user(sim, user).check_password("brand-new-password-9")


def test_profile_and_email_changes_are_pushed(ctx, sim):
    user = panel_customer("rename@example.com", name="Old Name")
    accounts.update_profile(user, name="Fresh Person")
    names = (panel_user(sim, user).first_name, panel_user(sim, user).last_name)
    assert names == ("Fresh", "Person")
    user.email = "renamed@example.com"
    db.session.commit()
    from builtin_plugins.pterodactyl import sync  # the module the loaded plugin uses

    sync.on_updated(user, {"email": ("rename@example.com", "renamed@example.com")})
    assert panel_user(sim, user).email == "renamed@example.com"


def test_registration_while_the_panel_is_away_is_caught_up_by_the_task(ctx, sim):
    good_url = sim.url
    configure(ctx, panel_url="http://127.0.0.1:9")
    user = panel_customer("late@example.com")  # registration itself succeeds
    assert links.user_link(user.id) is None
    configure(ctx, panel_url=good_url)
    report = sync.sync_task()
    assert report["created"] == ["late@example.com"]
    assert panel_user(sim, user).email == "late@example.com"


def test_existing_accounts_are_synced_when_the_plugin_is_enabled(ctx, sim):
    configure(ctx, sync_users=False)
    users = [panel_customer(f"old{n}@example.com") for n in range(3)]
    assert all(links.user_link(u.id) is None for u in users)
    configure(ctx, sync_users=True)
    ctx.extensions["pteroca"].pm.hook.plugin_enabled(name="pterodactyl")
    assert all(panel_user(sim, u).email == u.email for u in users)


def test_sync_users_command_reports(ptero_app, sim):

    configure(ptero_app, sync_users=False)
    with ptero_app.app_context():
        panel_customer("cli-sync@example.com")
    configure(ptero_app, sync_users=True)
    result = run_cli(ptero_app, "pterodactyl", "sync-users")
    assert result.exit_code == 0, result.output
    assert "1 created" in result.output


@pytest.mark.parametrize(
    "email, expected",
    [
        ("alice@example.com", "alice"),
        ("Bob.Smith@example.com", "bob.smith"),
        ("_x_@example.com", "xuser"),
        ("a+b@example.com", "abuser"),
        ("über@example.com", "ber"),
        ("x.@example.com", "xuser"),
        ("jo@example.com", "jouser"),
    ],
)
def test_usernames_fit_the_panel_rule(email, expected):
    name = sync.derive_username(email)
    assert name == expected and sync.USERNAME_OK.match(name)


def test_a_sync_that_stopped_asks_only_about_the_accounts_it_did_not_reach(ctx, sim, monkeypatch):
    from builtin_plugins.panel_kit.api import errors

    configure(ctx, sync_users=False)
    users = [panel_customer(f"later{n}@example.com") for n in range(4)]
    configure(ctx, sync_users=True)
    real, calls = sync.ensure_linked, []

    def away_at_the_third(client, user):
        calls.append(user.id)
        if len(calls) == 3:
            raise errors.PanelUnreachable("the panel went away")
        return real(client, user)

    with monkeypatch.context() as patch:
        patch.setattr(sync, "ensure_linked", away_at_the_third)
        with pytest.raises(errors.PanelUnreachable):
            sync.sync_all()
    assert [links.user_link(u.id) is not None for u in users] == [True, True, False, False]
    sim.clear_requests()
    report = sync.sync_all()
    assert report.created == ["later2@example.com", "later3@example.com"]
    asked = {r["path"] for r in sim.requests if r["path"].startswith("/api/application/users/")}
    assert asked == {f"/api/application/users/external/pteroca-user-{u.id}" for u in users[2:]}
