"""Authorisation of the Pelican server tabs (the client key is a Root Admin's, so these rules
are all that keeps customers apart), subusers with Pelican's permission names, and panel
failures (Wings down, 429, installing, suspended) as clear answers."""

from __future__ import annotations

import re

import pytest

from kernel.testing import TEST_PASSWORD, login
from tests.pelican_plugin.conftest import configure, customer
from tests.pelican_plugin.tabs_helpers import *  # noqa: F403 - the fixtures
from tests.pelican_plugin.tabs_helpers import buy_server, flashes, sim_server, tab_url

ENDPOINT_PREFIX = "pelican_tabs."
LIMITED = ["backup.read", "control.console", "control.start", "startup.read"]


@pytest.fixture
def bob_server(pel_app, paper_product, owner):
    """A second customer's Pelican server with one of everything on it."""
    bought = buy_server(pel_app, paper_product, "bob@example.com", "bob creative")
    bob = login(pel_app, bought.email, TEST_PASSWORD)
    for path, data in (
        ("backups", {"name": "bob's"}),
        ("databases", {"database": "bobdb"}),
        ("network", {}),
        ("schedules", {"name": "bob nightly", "minute": "0", "hour": "4"}),
    ):
        made = bob.post(tab_url(bought.service_id, path), data=data)
        assert made.status_code == 303, (path, flashes(made.text))
    return bought


def things_on(sim, bought) -> dict:
    """Ids of everything on a simulated server, and its state."""
    with sim.state.lock:
        sim.state.tick()
        s = sim.state
        server = sim_server(sim, bought.identifier)
        schedules = [x for x in s.schedules.values() if x.server_id == server.id]
        return {
            "backup": [b.uuid for b in s.backups.values() if b.server_id == server.id],
            "locked": [b.is_locked for b in s.backups.values() if b.server_id == server.id],
            "database": [d.id for d in s.databases.values() if d.server_id == server.id],
            "passwords": [d.password for d in s.databases.values() if d.server_id == server.id],
            "allocation": sorted(a.id for a in s.allocations.values() if a.server_id == server.id),
            "notes": sorted(
                str(a.notes) for a in s.allocations.values() if a.server_id == server.id
            ),
            "primary": server.allocation_id,
            "schedule_id": [x.id for x in schedules],
            "task_id": [
                t.id for t in s.tasks.values() if t.schedule_id in {x.id for x in schedules}
            ],
            "uuid": [
                s.users[x.user_id].uuid for x in s.subusers.values() if x.server_id == server.id
            ],
            "power": server.power_state,
            "status": server.status,
            "environment": dict(server.variables),
            "name": server.name,
        }


def tab_rules(app) -> list:
    rules = [
        r
        for r in app.url_map.iter_rules()
        if r.endpoint.startswith(ENDPOINT_PREFIX) and "service_id" in r.arguments
    ]
    assert len(rules) >= 35, [r.rule for r in rules]
    return rules


def url_for_rule(app, rule, service_id: int, values: dict) -> str:
    args = {"service_id": service_id}
    for name in rule.arguments - {"service_id"}:
        args[name] = values[name]
    with app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **args)


FORM = {
    "signal": "start",
    "command": "say pwned",
    "key": "MINECRAFT_VERSION",
    "value": "pwned",
    "name": "pwned",
    "database": "pwned",
    "permissions": ["control.console"],
    "confirm": "1",
    "truncate": "1",
    "action": "command",
    "payload": "say pwned",
    "notes": "pwned",
}


def test_a_customer_reaches_no_tab_endpoint_of_another_customers_pelican_server(
    pel_app, alice, owner, bob_server, sim
):
    before = things_on(sim, bob_server)
    values = {
        name: (found[0] if found else 1)
        for name, found in before.items()
        if isinstance(found, list)
    }
    values.update(allocation=before["allocation"][-1])
    methods: dict[str, set] = {}
    for rule in tab_rules(pel_app):
        methods.setdefault(rule.rule, set()).update(rule.methods)
    checked = 0
    for rule in tab_rules(pel_app):
        url = url_for_rule(pel_app, rule, bob_server.service_id, values)
        for method in ("GET", "POST"):
            response = alice.open(url, method=method, data={**FORM, "email": owner.email})
            expected = 404 if method in methods[rule.rule] else 405
            assert response.status_code == expected, (method, url, response.status_code)
            assert "bob creative" not in response.text
            checked += 1
        assert alice.get(url, headers={"Accept": "application/json"}).status_code in (404, 405)
    assert checked >= 70
    assert things_on(sim, bob_server) == before
    assert "bob creative" not in alice.get("/plugins/pelican/shared").text


@pytest.mark.parametrize("forged", ["0", "999999", "-1", "1e3", "%2e%2e", "1;2"])
def test_forged_service_ids_are_404s(alice, owner, forged):
    for path in ("console", "backups", "users", "power"):
        response = alice.open(
            f"/plugins/pelican/servers/{forged}/{path}",
            method="POST" if path == "power" else "GET",
            data={"signal": "start"},
        )
        assert response.status_code == 404, (forged, path)


def test_nobody_logged_out_reaches_the_tabs(pel_app, owner):
    anonymous = pel_app.test_client()
    for rule in tab_rules(pel_app):
        url = url_for_rule(
            pel_app,
            rule,
            owner.service_id,
            {
                "backup": "x",
                "database": 1,
                "allocation": 1,
                "uuid": "x",
                "schedule_id": 1,
                "task_id": 1,
            },
        )
        method = "GET" if "GET" in rule.methods else "POST"
        response = anonymous.open(url, method=method)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url


def test_ids_of_another_server_do_not_work_through_your_own(alice, owner, bob_server, sim):
    theirs = things_on(sim, bob_server)
    mine = owner.service_id
    for path in (
        f"backups/{theirs['backup'][0]}/delete",
        f"backups/{theirs['backup'][0]}/lock",
        f"backups/{theirs['backup'][0]}/restore",
        f"databases/{theirs['database'][0]}/rotate",
        f"databases/{theirs['database'][0]}/delete",
        f"network/{theirs['allocation'][-1]}/notes",
        f"network/{theirs['allocation'][-1]}/primary",
        f"network/{theirs['allocation'][-1]}/delete",
        f"schedules/{theirs['schedule_id'][0]}/run",
        f"schedules/{theirs['schedule_id'][0]}/delete",
        f"schedules/{theirs['schedule_id'][0]}/tasks",
    ):
        response = alice.post(tab_url(mine, path), data=FORM)
        assert response.status_code == 404, (path, response.status_code, flashes(response.text))
    assert alice.get(tab_url(mine, f"backups/{theirs['backup'][0]}/download")).status_code == 404
    assert things_on(sim, bob_server) == theirs


def test_a_pterodactyl_share_row_gives_no_access_to_a_pelican_server(pel_app, owner, sim):
    """The two panels' share tables are apart: a row in ``pterodactyl_subuser`` (forged, or
    left from a moved product) opens nothing on a Pelican server."""
    from builtin_plugins.pterodactyl.tabs.models import Subuser as PterodactylShare
    from kernel.extensions import db

    with pel_app.app_context():
        mallory = customer("mallory@example.com", name="Mallory", balance=0)
        db.session.add(
            PterodactylShare(service_id=owner.service_id, user_id=mallory.id, panel_uuid="x")
        )
        db.session.commit()
    client = login(pel_app, "mallory@example.com", TEST_PASSWORD)
    assert client.get(tab_url(owner.service_id, "console")).status_code == 404
    assert "alice survival" not in client.get("/plugins/pelican/shared").text


# --- subusers -------------------------------------------------------------------------------


@pytest.fixture
def carol(pel_app, owner, alice):
    """Carol, a local customer Alice shares her Pelican server with."""
    with pel_app.app_context():
        customer("carol@example.com", name="Carol Friend", balance=0)
    invited = alice.post(
        tab_url(owner.service_id, "users"),
        data={"email": "Carol@Example.com", "permissions": LIMITED},
    )
    assert invited.status_code == 303, flashes(invited.text)
    return login(pel_app, "carol@example.com", TEST_PASSWORD)


def carols_subuser(sim, owner):
    server = sim_server(sim, owner.identifier)
    return next(x for x in sim.state.subusers.values() if x.server_id == server.id)


def test_inviting_makes_a_pelican_subuser_and_a_share_row(pel_app, owner, alice, carol, sim):
    from builtin_plugins.pelican.models import Subuser, UserLink
    from kernel.extensions import db

    sub = carols_subuser(sim, owner)
    assert sim.state.users[sub.user_id].email == "carol@example.com"
    assert set(sub.permissions) == set(LIMITED) | {"websocket.connect"}
    with pel_app.app_context():
        row = db.session.scalar(db.select(Subuser))
        assert row.service_id == owner.service_id
        assert row.panel_uuid == sim.state.users[sub.user_id].uuid
        assert db.session.get(UserLink, row.user_id) is not None  # Carol's Pelican user
    page = alice.get(tab_url(owner.service_id, "users")).text
    assert "Carol Friend" in page
    assert "alice survival" in carol.get("/plugins/pelican/shared").text
    assert "/plugins/pelican/shared" in carol.get("/dashboard").text


def test_the_permission_form_uses_pelicans_names(alice, owner):
    page = alice.get(tab_url(owner.service_id, "users")).text
    for name in ("database.view-password", "settings.description", "mount.read"):
        assert f'value="{name}"' in page, name
    assert 'value="database.view_password"' not in page
    old_name = alice.post(
        tab_url(owner.service_id, "users"),
        data={"email": "alice@example.com", "permissions": ["database.view_password"]},
    )
    assert old_name.status_code == 400 and "Unknown permission" in flashes(old_name.text)


def test_a_subuser_gets_exactly_what_its_permissions_allow(pel_app, owner, carol, sim):
    allowed = {
        ("GET", "console"),
        ("GET", "console/status"),
        ("POST", "power"),
        ("POST", "command"),
        ("GET", "startup"),
        ("GET", "backups"),
    }
    values = {
        "backup": "0b5e2c2a-1b1e-4c1d-9f7e-3a0f5e8d9c11",
        "database": 1,
        "allocation": 1,
        "uuid": "0b5e2c2a-1b1e-4c1d-9f7e-3a0f5e8d9c11",
        "schedule_id": 1,
        "task_id": 1,
    }
    before = things_on(sim, owner)
    for rule in tab_rules(pel_app):
        url = url_for_rule(pel_app, rule, owner.service_id, values)
        path = url.split(f"/servers/{owner.service_id}/", 1)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = carol.open(url, method=method, data={"signal": "start", "command": "say hi"})
            if (method, path) in allowed:
                assert response.status_code in (200, 303, 409), (method, path, response.status_code)
            else:
                assert response.status_code == 403, (method, path, response.status_code)
    after = things_on(sim, owner)
    assert {k: v for k, v in after.items() if k != "power"} == {
        k: v for k, v in before.items() if k != "power"
    }
    assert (
        carol.post(tab_url(owner.service_id, "power"), data={"signal": "stop"}).status_code == 403
    )
    console = carol.get(tab_url(owner.service_id, "console")).text
    nav = console.split('class="nav nav-tabs mb-3 server-tabs"', 1)[1].split("</ul>", 1)[0]
    assert [t.rsplit("/", 1)[1] for t in re.findall(r'href="([^"]+)"', nav)] == [
        "console",
        "startup",
        "backups",
    ]
    assert carol.get(f"/servers/{owner.service_id}").status_code == 404


def test_a_database_password_needs_pelicans_hyphenated_permission(
    pel_app, owner, alice, carol, sim
):
    assert (
        alice.post(tab_url(owner.service_id, "databases"), data={"database": "world"}).status_code
        == 303
    )
    uuid = things_on(sim, owner)["uuid"][0]
    reader = alice.post(
        tab_url(owner.service_id, f"users/{uuid}"), data={"permissions": ["database.read"]}
    )
    assert reader.status_code == 303, flashes(reader.text)
    page = carol.get(tab_url(owner.service_id, "databases")).text
    assert "world" in page and 'class="db-password"' not in page
    seer = alice.post(
        tab_url(owner.service_id, f"users/{uuid}"),
        data={"permissions": ["database.read", "database.view-password"]},
    )
    assert seer.status_code == 303
    assert 'class="db-password"' in carol.get(tab_url(owner.service_id, "databases")).text


def test_a_pterodactyl_permission_carried_over_is_shown_as_dropped(owner, alice, carol, sim):
    """A subuser migrated from Pterodactyl keeps ``database.view_password`` in Pelican, where
    it grants nothing: the owner is told which were dropped and what they are called now."""
    with sim.state.lock:
        carols_subuser(sim, owner).permissions += ["database.view_password"]
    page = alice.get(tab_url(owner.service_id, "users")).text
    notice = flashes(page)
    assert "Dropped" in notice and "database.view_password" in notice
    assert "now called database.view-password" in notice
    assert "Tick the new names below" in notice
    # the subuser does not get the password through it
    assert (
        alice.post(tab_url(owner.service_id, "databases"), data={"database": "world"}).status_code
        == 303
    )
    uuid = things_on(sim, owner)["uuid"][0]
    alice.post(
        tab_url(owner.service_id, f"users/{uuid}"),
        data={"permissions": LIMITED + ["database.read"]},
    )
    with sim.state.lock:
        carols_subuser(sim, owner).permissions += ["database.view_password"]
    assert 'class="db-password"' not in carol.get(tab_url(owner.service_id, "databases")).text
    # a subuser without retired names gets no notice
    with sim.state.lock:
        carols_subuser(sim, owner).permissions.remove("database.view_password")
    assert "Dropped" not in flashes(alice.get(tab_url(owner.service_id, "users")).text)


def test_permissions_pelican_drops_silently_are_reported(pel_app, owner, alice, sim):
    """Pelican answers 200 and leaves out permissions it does not know (§4.3): an older
    panel without ``settings.change-icon`` grants the rest, and the owner is told."""
    with pel_app.app_context():
        customer("dave@example.com", name="Dave", balance=0)
    sim.permission_keys = sim.permission_keys - {"settings.change-icon"}
    try:
        invited = alice.post(
            tab_url(owner.service_id, "users"),
            data={
                "email": "dave@example.com",
                "permissions": ["control.console", "settings.change-icon"],
            },
            follow_redirects=True,
        )
        assert invited.status_code == 200
        said = flashes(invited.text)
        assert "did not grant these permissions" in said and "settings.change-icon" in said
        assert "can now manage this server" in said
        uuid = things_on(sim, owner)["uuid"][0]
        updated = alice.post(
            tab_url(owner.service_id, f"users/{uuid}"),
            data={"permissions": ["backup.read", "settings.change-icon"]},
            follow_redirects=True,
        )
        assert "did not grant" in flashes(updated.text)
        plain = alice.post(
            tab_url(owner.service_id, f"users/{uuid}"),
            data={"permissions": ["backup.read"]},
            follow_redirects=True,
        )
        assert "did not grant" not in flashes(plain.text)
    finally:
        del sim.permission_keys
    with pel_app.app_context():
        from kernel.audit import AuditLog  # noqa: F401 - the model name below
        from kernel.extensions import db

        entry = db.session.scalar(
            db.select(AuditLog).where(AuditLog.action == "pelican.subuser_invite")
        )
        assert entry.details["not_granted"] == ["settings.change-icon"]


def test_a_subuser_cannot_grant_more_than_it_has(pel_app, owner, alice, carol, sim):
    with pel_app.app_context():
        customer("dave@example.com", name="Dave", balance=0)
    uuid = things_on(sim, owner)["uuid"][0]
    assert (
        alice.post(
            tab_url(owner.service_id, f"users/{uuid}"),
            data={"permissions": LIMITED + ["user.create", "user.read"]},
        ).status_code
        == 303
    )
    beyond = carol.post(
        tab_url(owner.service_id, "users"),
        data={"email": "dave@example.com", "permissions": ["control.console", "backup.delete"]},
    )
    assert beyond.status_code == 403
    assert "cannot grant permissions you do not have" in flashes(beyond.text)
    own = carol.post(
        tab_url(owner.service_id, f"users/{uuid}"), data={"permissions": ["user.read"]}
    )
    assert own.status_code == 403
    assert len(things_on(sim, owner)["uuid"]) == 1


def test_removing_a_subuser_here_or_in_pelican_ends_its_access(owner, alice, carol, sim, panel):
    assert carol.get(tab_url(owner.service_id, "console")).status_code == 200
    uuid = things_on(sim, owner)["uuid"][0]
    assert alice.post(tab_url(owner.service_id, f"users/{uuid}/delete")).status_code == 303
    assert carol.get(tab_url(owner.service_id, "console")).status_code == 404
    again = alice.post(
        tab_url(owner.service_id, "users"),
        data={"email": "carol@example.com", "permissions": LIMITED},
    )
    assert again.status_code == 303
    assert carol.get(tab_url(owner.service_id, "console")).status_code == 200
    panel.client.delete_subuser(owner.identifier, things_on(sim, owner)["uuid"][0])
    assert carol.get(tab_url(owner.service_id, "console")).status_code == 404


def test_a_pelican_side_subuser_with_a_local_account_is_adopted(pel_app, owner, alice, panel):
    from builtin_plugins.pelican import panel as pelican_panel
    from builtin_plugins.pelican import sync
    from kernel.extensions import db

    with pel_app.app_context():
        erin = customer("erin@example.com", name="Erin", balance=0)
        with pelican_panel.connect() as client:
            sync.ensure_linked(client, erin)
        db.session.commit()
    panel.client.create_subuser(owner.identifier, "erin@example.com", ["control.console"])
    erin_client = login(pel_app, "erin@example.com", TEST_PASSWORD)
    assert erin_client.get(tab_url(owner.service_id, "console")).status_code == 404
    page = alice.get(tab_url(owner.service_id, "users")).text
    assert "Erin" in page and "panel account only" not in page
    assert erin_client.get(tab_url(owner.service_id, "console")).status_code == 200


# --- panel failures -------------------------------------------------------------------------


@pytest.mark.parametrize("switch", ["wings_down", "wings_error"])
def test_wings_down_or_failing_is_a_clear_answer(alice, owner, sim, switch):
    """Pelican answers a Wings fault with a 500 ConnectionException/RequestException (§2.5);
    resources then say ``missing`` (a 200): the console says the node is unreachable, as on
    Pterodactyl, instead of a bare "Unknown"."""
    sim.set_switches(**{switch: True})
    power = alice.post(tab_url(owner.service_id, "power"), data={"signal": "start"})
    assert power.status_code == 503, flashes(power.text)
    assert "node" in flashes(power.text).lower()
    status = alice.get(tab_url(owner.service_id, "console/status")).json
    assert status["ok"] is False and status["state"] == "unknown", status
    assert "node is unreachable" in status["message"] and status["status"] == 503
    page = alice.get(tab_url(owner.service_id, "console"))
    assert page.status_code == 200 and "node is unreachable" in page.text
    backup = alice.post(tab_url(owner.service_id, "backups"), data={"name": "x"})
    assert backup.status_code == 503 and "node" in flashes(backup.text).lower()


def test_an_installing_or_reinstall_failed_server_answers_409(alice, owner, sim):
    things_on(sim, owner)
    for status in ("installing", "reinstall_failed"):  # Pelican gates reinstall_failed too
        sim.set_server_state(sim_server(sim, owner.identifier).id, status=status)
        page = alice.get(tab_url(owner.service_id, "backups"))
        assert page.status_code == 409, status
        assert "install" in flashes(page.text), (status, flashes(page.text))


def test_a_server_suspended_here_is_409(pel_app, alice, owner):
    from builtin_plugins.store.models import Service
    from kernel.extensions import db

    with pel_app.app_context():
        db.session.get(Service, owner.service_id).state = "suspended"
        db.session.commit()
    for path in ("console", "backups", "reinstall"):
        response = alice.get(tab_url(owner.service_id, path))
        assert response.status_code == 409 and "This server is suspended" in flashes(response.text)


def test_an_unreachable_panel_or_missing_key(pel_app, alice, owner):
    configure(pel_app, panel_url="http://127.0.0.1:9")
    page = alice.get(tab_url(owner.service_id, "backups"))
    assert page.status_code == 503 and "panel is unreachable" in flashes(page.text)
    configure(pel_app, panel_url="http://127.0.0.1:9", client_key="")
    page = alice.get(tab_url(owner.service_id, "databases"))
    assert page.status_code == 503 and "not available right now" in flashes(page.text)


def test_pelicans_429_is_a_429_with_its_wait(alice, owner, sim):
    sim.set_switches(rate_limit={"count": 3, "retry_after": 30})
    page = alice.get(tab_url(owner.service_id, "backups"))
    assert page.status_code == 429
    assert "The panel is busy; try again in 30 s." in flashes(page.text)
    sent = len(sim.requests)
    again = alice.get(tab_url(owner.service_id, "databases"))
    assert again.status_code == 429 and "try again in" in flashes(again.text)
    assert len(sim.requests) == sent


def test_a_per_server_throttle_of_pelican_is_explained(alice, owner, sim):
    """Pelican allows 2 database creations a minute per server (§1.3)."""
    sim.set_switches(resource_limits={"database-create": [0, 60]})
    refused = alice.post(tab_url(owner.service_id, "databases"), data={"database": "world"})
    assert refused.status_code == 429 and "try again in" in flashes(refused.text)


def test_a_subusers_shares_are_in_their_export_and_go_with_their_erasure(
    pel_app, owner, carol, sim
):
    from builtin_plugins.pelican import privacy
    from builtin_plugins.pelican.models import Subuser
    from kernel.accounts.models import User
    from kernel.extensions import db

    with pel_app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == "carol@example.com"))
        shares = privacy.export(user)["pelican_shared_servers"]
        assert [s["service_id"] for s in shares] == [owner.service_id]
        privacy.erase(user)
        assert db.session.scalars(db.select(Subuser)).all() == []
