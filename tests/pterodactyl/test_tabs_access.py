"""Authorisation of the server tabs (the client key is a root admin's, so these rules are all
that keeps customers apart) and the mapping of panel failures to clear 4xx/5xx answers."""

from __future__ import annotations

import re

import pytest

from kernel.testing import TEST_PASSWORD, login
from tests.pterodactyl.conftest import configure, panel_customer
from tests.pterodactyl.tabs_helpers import *  # noqa: F403 - the fixtures
from tests.pterodactyl.tabs_helpers import buy_server, flashes, sim_server, tab_url

ENDPOINT_PREFIX = "pterodactyl_tabs."


@pytest.fixture
def bob_server(ptero_app, paper_product, owner):
    """A second customer's server with one of everything on it."""
    bought = buy_server(ptero_app, paper_product, "bob@example.com", "bob creative")
    bob = login(ptero_app, bought.email, TEST_PASSWORD)
    made = bob.post(tab_url(bought.service_id, "backups"), data={"name": "bob's"})
    assert made.status_code == 303
    assert (
        bob.post(tab_url(bought.service_id, "databases"), data={"database": "bobdb"}).status_code
        == 303
    )
    assert bob.post(tab_url(bought.service_id, "network")).status_code == 303
    assert (
        bob.post(
            tab_url(bought.service_id, "schedules"),
            data={"name": "bob nightly", "minute": "0", "hour": "4"},
        ).status_code
        == 303
    )
    return bought


def things_on(sim, bought) -> dict:
    """Ids of everything on a simulated server, and its state."""
    with sim.state.lock:
        sim.state.tick()
        s = sim.state
        server = sim_server(sim, bought.identifier)
        schedules = [x for x in s.schedules.values() if x.server_id == server.id]
        tasks = [t for t in s.tasks.values() if t.schedule_id in {x.id for x in schedules}]
        return {
            "backup": [b.uuid for b in s.backups.values() if b.server_id == server.id],
            "locked": [b.is_locked for b in s.backups.values() if b.server_id == server.id],
            "database": [d.hashid for d in s.databases.values() if d.server_id == server.id],
            "passwords": [d.password for d in s.databases.values() if d.server_id == server.id],
            "allocation": sorted(a.id for a in s.allocations.values() if a.server_id == server.id),
            "primary": server.allocation_id,
            "schedule_id": [x.id for x in schedules],
            "task_id": [t.id for t in tasks],
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
    assert len(rules) >= 35, [r.rule for r in rules]  # every tab endpoint is registered here
    return rules


def url_for_rule(app, rule, service_id: int, values: dict) -> str:
    args = {"service_id": service_id}
    for name in rule.arguments - {"service_id"}:
        args[name] = values[name]
    with app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **args)


def test_a_customer_reaches_no_tab_endpoint_of_another_customers_server(
    ptero_app, alice, owner, bob_server, sim
):
    before = things_on(sim, bob_server)
    values = {
        name: (found[0] if found else 1)
        for name, found in before.items()
        if isinstance(found, list)
    }
    values.update(allocation=before["allocation"][-1], uuid="0b5e2c2a-1b1e-4c1d-9f7e-3a0f5e8d9c11")
    checked = 0
    methods: dict[str, set] = {}
    for rule in tab_rules(ptero_app):  # one path may have a GET and a POST endpoint
        methods.setdefault(rule.rule, set()).update(rule.methods)
    for rule in tab_rules(ptero_app):
        url = url_for_rule(ptero_app, rule, bob_server.service_id, values)
        for method in ("GET", "POST"):
            response = alice.open(
                url,
                method=method,
                data={
                    "signal": "start",
                    "command": "say pwned",
                    "key": "MINECRAFT_VERSION",
                    "value": "pwned",
                    "name": "pwned",
                    "database": "pwned",
                    "email": owner.email,
                    "permissions": ["control.console"],
                    "confirm": "1",
                    "truncate": "1",
                    "action": "command",
                    "payload": "say pwned",
                    "notes": "pwned",
                },
            )
            allowed = method in methods[rule.rule]
            assert response.status_code == (404 if allowed else 405), (
                method,
                url,
                response.status_code,
            )
            assert "bob creative" not in response.text
            checked += 1
        json = alice.get(url, headers={"Accept": "application/json"})
        assert json.status_code in (404, 405), url
    assert checked >= 70
    assert things_on(sim, bob_server) == before  # nothing of Bob's changed
    assert alice.get("/plugins/pterodactyl/shared").status_code == 200
    assert "bob creative" not in alice.get("/plugins/pterodactyl/shared").text


def test_nobody_logged_out_reaches_the_tabs(ptero_app, owner):
    anonymous = ptero_app.test_client()
    for rule in tab_rules(ptero_app):
        url = url_for_rule(
            ptero_app,
            rule,
            owner.service_id,
            {
                "backup": "x",
                "database": "x",
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
    attempts = [
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
    ]
    for path in attempts:
        response = alice.post(
            tab_url(mine, path),
            data={"confirm": "1", "notes": "x", "action": "command", "payload": "x"},
        )
        assert response.status_code == 404, (path, response.status_code, flashes(response.text))
    download = alice.get(tab_url(mine, f"backups/{theirs['backup'][0]}/download"))
    assert download.status_code == 404
    assert things_on(sim, bob_server) == theirs


# --- subusers -------------------------------------------------------------------------------


LIMITED = ["backup.read", "control.console", "control.start", "startup.read"]


@pytest.fixture
def carol(ptero_app, owner, alice):
    """Carol, a local customer Alice shares her server with (console, start, read backups
    and startup)."""
    with ptero_app.app_context():
        panel_customer(email="carol@example.com", name="Carol Friend", balance=0)
    invited = alice.post(
        tab_url(owner.service_id, "users"),
        data={"email": "Carol@Example.com", "permissions": LIMITED},
    )
    assert invited.status_code == 303, flashes(invited.text)
    return login(ptero_app, "carol@example.com", TEST_PASSWORD)


def test_inviting_a_local_account_makes_a_panel_subuser(ptero_app, owner, alice, carol, sim):
    with sim.state.lock:
        server = sim_server(sim, owner.identifier)
        subs = [x for x in sim.state.subusers.values() if x.server_id == server.id]
        assert len(subs) == 1
        assert sim.state.users[subs[0].user_id].email == "carol@example.com"
        assert set(subs[0].permissions) == set(LIMITED) | {"websocket.connect"}
    page = alice.get(tab_url(owner.service_id, "users")).text
    assert "Carol Friend" in page and "carol@example.com" in page
    shared = carol.get("/plugins/pterodactyl/shared")
    assert "alice survival" in shared.text
    assert "/plugins/pterodactyl/shared" in carol.get("/dashboard").text  # the menu entry


def test_a_subuser_gets_exactly_what_its_permissions_allow(ptero_app, owner, carol, sim):
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
        "database": "abcdefgh",
        "allocation": 1,
        "uuid": "0b5e2c2a-1b1e-4c1d-9f7e-3a0f5e8d9c11",
        "schedule_id": 1,
        "task_id": 1,
    }
    before = things_on(sim, owner)
    for rule in tab_rules(ptero_app):
        url = url_for_rule(ptero_app, rule, owner.service_id, values)
        path = url.split(f"/servers/{owner.service_id}/", 1)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = carol.open(url, method=method, data={"signal": "start", "command": "say hi"})
            if (method, path) in allowed:
                assert response.status_code in (200, 303, 409), (method, path, response.status_code)
            else:
                assert response.status_code == 403, (method, path, response.status_code)
                assert "permission" in (flashes(response.text) + response.text).lower()
    after = things_on(sim, owner)
    assert after["power"] in ("starting", "running")  # the one action she may do
    assert {k: v for k, v in after.items() if k != "power"} == {
        k: v for k, v in before.items() if k != "power"
    }

    stop = carol.post(tab_url(owner.service_id, "power"), data={"signal": "stop"})
    assert stop.status_code == 403
    console = carol.get(tab_url(owner.service_id, "console")).text
    assert "power-start" in console and "power-stop" not in console
    assert "needs the console and power permissions" in console  # no root-admin socket token
    nav = console.split('class="nav nav-tabs mb-3 server-tabs"', 1)[1].split("</ul>", 1)[0]
    tabs = re.findall(r'href="([^"]+)"', nav)
    assert [t.rsplit("/", 1)[1] for t in tabs] == ["console", "startup", "backups"]
    assert carol.get(f"/servers/{owner.service_id}").status_code == 404  # the owner's pages
    assert carol.get(f"/servers/{owner.service_id}/renew").status_code == 404


def test_a_subuser_cannot_grant_more_than_it_has(ptero_app, owner, alice, carol, sim):
    with ptero_app.app_context():
        panel_customer(email="dave@example.com", name="Dave", balance=0)
    carol_uuid = things_on(sim, owner)["uuid"][0]
    changed = alice.post(
        tab_url(owner.service_id, f"users/{carol_uuid}"),
        data={"permissions": LIMITED + ["user.create", "user.read"]},
    )
    assert changed.status_code == 303
    beyond = carol.post(
        tab_url(owner.service_id, "users"),
        data={"email": "dave@example.com", "permissions": ["control.console", "backup.delete"]},
    )
    assert beyond.status_code == 403
    assert "cannot grant permissions you do not have" in flashes(beyond.text)
    own = carol.post(
        tab_url(owner.service_id, f"users/{carol_uuid}"), data={"permissions": ["control.console"]}
    )
    assert own.status_code == 403  # no user.update, and never her own
    fine = carol.post(
        tab_url(owner.service_id, "users"),
        data={"email": "dave@example.com", "permissions": ["control.console"]},
    )
    assert fine.status_code == 303, flashes(fine.text)
    assert len(things_on(sim, owner)["uuid"]) == 2


def test_invitations_that_cannot_work_are_explained(ptero_app, owner, alice):
    cases = [
        (
            {"email": "nobody@example.com", "permissions": ["control.console"]},
            400,
            "No account here uses nobody@example.com",
        ),
        (
            {"email": "alice@example.com", "permissions": ["control.console"]},
            400,
            "owns this server already",
        ),
        ({"email": "not-an-email", "permissions": ["control.console"]}, 400, "email address"),
        ({"email": "alice@example.com"}, 400, "Choose at least one permission"),
        (
            {"email": "alice@example.com", "permissions": ["admin.everything"]},
            400,
            "Unknown permission",
        ),
    ]
    for data, status, message in cases:
        response = alice.post(tab_url(owner.service_id, "users"), data=data)
        assert response.status_code == status, data
        assert message in flashes(response.text), (data, flashes(response.text))


def test_removing_a_subuser_here_or_in_the_panel_ends_its_access(
    ptero_app, owner, alice, carol, sim, panel
):
    assert carol.get(tab_url(owner.service_id, "console")).status_code == 200
    carol_uuid = things_on(sim, owner)["uuid"][0]
    removed = alice.post(tab_url(owner.service_id, f"users/{carol_uuid}/delete"))
    assert removed.status_code == 303
    assert carol.get(tab_url(owner.service_id, "console")).status_code == 404
    assert "alice survival" not in carol.get("/plugins/pterodactyl/shared").text

    again = alice.post(
        tab_url(owner.service_id, "users"),
        data={"email": "carol@example.com", "permissions": LIMITED},
    )
    assert again.status_code == 303
    assert carol.get(tab_url(owner.service_id, "console")).status_code == 200
    # removed in the panel, behind pteroca's back
    panel.client.delete_subuser(owner.identifier, things_on(sim, owner)["uuid"][0])
    assert carol.get(tab_url(owner.service_id, "console")).status_code == 404
    with ptero_app.app_context():
        from builtin_plugins.pterodactyl.tabs.adapter import shared_with
        from kernel.accounts.models import User
        from kernel.extensions import db

        user = db.session.scalar(db.select(User).where(User.email == "carol@example.com"))
        assert shared_with(user) == []


def test_a_panel_side_subuser_with_a_local_account_is_adopted(ptero_app, owner, alice, sim, panel):
    with ptero_app.app_context():
        panel_customer(email="erin@example.com", name="Erin", balance=0)
    panel.client.create_subuser(owner.identifier, "erin@example.com", ["control.console"])
    erin = login(ptero_app, "erin@example.com", TEST_PASSWORD)
    assert erin.get(tab_url(owner.service_id, "console")).status_code == 404  # not known yet
    page = alice.get(tab_url(owner.service_id, "users")).text  # the owner's list adopts her
    assert "Erin" in page and "panel account only" not in page
    assert erin.get(tab_url(owner.service_id, "console")).status_code == 200


# --- panel failures -------------------------------------------------------------------------


def test_the_node_being_down_is_a_clear_503(alice, owner, sim):
    sim.set_switches(wings_down=True)
    power = alice.post(tab_url(owner.service_id, "power"), data={"signal": "start"})
    assert power.status_code == 503
    assert "node is unreachable" in flashes(power.text)
    status = alice.get(tab_url(owner.service_id, "console/status")).json
    assert status["ok"] is False and "node is unreachable" in status["message"]
    page = alice.get(tab_url(owner.service_id, "console"))
    assert page.status_code == 200 and "node is unreachable" in page.text
    backup = alice.post(tab_url(owner.service_id, "backups"), data={"name": "x"})
    assert backup.status_code == 503


def test_an_installing_server_answers_409_with_the_reason(alice, owner, sim):
    things_on(sim, owner)  # let the purchase's install finish first
    sim.set_server_state(sim_server(sim, owner.identifier).id, status="installing")
    for path in ("backups", "databases", "network", "schedules", "startup"):
        page = alice.get(tab_url(owner.service_id, path))
        assert page.status_code == 409, path
        assert "still installing" in flashes(page.text), path
    power = alice.post(
        tab_url(owner.service_id, "power"),
        data={"signal": "start"},
        headers={"Accept": "application/json"},
    )
    assert power.status_code == 409 and "still installing" in power.json["error"]
    status = alice.get(tab_url(owner.service_id, "console/status")).json
    assert status["state"] == "installing"


def test_a_server_suspended_in_the_panel_or_here(ptero_app, alice, owner, sim):
    things_on(sim, owner)
    sim.set_server_state(sim_server(sim, owner.identifier).id, status="suspended")
    page = alice.get(tab_url(owner.service_id, "backups"))
    assert page.status_code == 409 and "suspended" in flashes(page.text)
    with ptero_app.app_context():
        from builtin_plugins.store.models import Service
        from kernel.extensions import db

        db.session.get(Service, owner.service_id).state = "suspended"
        db.session.commit()
    for path in ("console", "backups", "reinstall"):
        response = alice.get(tab_url(owner.service_id, path))
        assert response.status_code == 409
        assert "This server is suspended" in flashes(response.text)
    status = alice.get(
        tab_url(owner.service_id, "console") + "/status", headers={"Accept": "application/json"}
    )
    assert status.status_code == 409
    assert status.get_json()["state"] == "suspended"  # the open console's badge follows it


def test_an_unreachable_panel_or_missing_key(ptero_app, alice, owner):
    configure(ptero_app, panel_url="http://127.0.0.1:9")
    page = alice.get(tab_url(owner.service_id, "backups"))
    assert page.status_code == 503 and "panel is unreachable" in flashes(page.text)
    configure(ptero_app, panel_url="http://127.0.0.1:9", client_key="")
    page = alice.get(tab_url(owner.service_id, "databases"))
    assert page.status_code == 503 and "not available right now" in flashes(page.text)


def test_the_panel_throttling_us_is_a_429(alice, owner, sim):
    sim.set_switches(rate_limit={"count": 3, "retry_after": 30})
    page = alice.get(tab_url(owner.service_id, "backups"))
    assert page.status_code == 429 and "The panel is busy; try again in 30 s." in flashes(page.text)
    sent = len(sim.requests)
    again = alice.get(tab_url(owner.service_id, "databases"))  # inside the window: not sent
    assert again.status_code == 429 and "try again in" in flashes(again.text)
    assert len(sim.requests) == sent
