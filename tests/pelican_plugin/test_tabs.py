"""The customers' server tabs of a Pelican server against the Pelican simulator over HTTP:
every tab renders for the owner and every action reaches the panel (checked in the
simulator's state), with Pelican's differences (docs/reference/pelican_api.md §10.14-15)."""

from __future__ import annotations

import re

import httpx

from kernel.testing import TEST_PASSWORD, login
from tests.pelican_plugin.tabs_helpers import *  # noqa: F403 - the fixtures
from tests.pelican_plugin.tabs_helpers import buy_server, flashes, sim_server, tab_url

TABS = (
    "console",
    "startup",
    "backups",
    "databases",
    "network",
    "users",
    "schedules",
    "activity",
    "reinstall",
)


def environment(panel, owner) -> dict:
    from builtin_plugins.panel_kit.api import server_environment

    internal_id = panel.client.server(owner.identifier)["internal_id"]
    return server_environment(panel.app.get_server(internal_id))


def power_state(sim, owner) -> str:
    return sim_server(sim, owner.identifier).power_state


def test_every_tab_renders_inside_the_server_page(alice, owner):
    for tab in TABS:
        page = alice.get(tab_url(owner.service_id, tab))
        assert page.status_code == 200, (tab, page.text[:500])
        assert f"ptero-tab-{tab}" in page.text
        for other in TABS:
            assert tab_url(owner.service_id, other) in page.text
    overview = alice.get(f"/servers/{owner.service_id}")
    assert tab_url(owner.service_id, "console") in overview.text
    assert "/plugins/pterodactyl/servers/" not in overview.text  # not the other panel's tabs


def test_each_panel_offers_tabs_only_for_its_own_services(pel_app, alice, owner):
    from builtin_plugins.pelican.tabs.adapter import tabs_for
    from builtin_plugins.pterodactyl.tabs.adapter import tabs_for as pterodactyl_tabs
    from builtin_plugins.store.models import Service
    from kernel.accounts.models import User
    from kernel.extensions import db

    with pel_app.test_request_context():
        service = db.session.get(Service, owner.service_id)
        user = db.session.get(User, service.user_id)
        assert [t["id"] for t in tabs_for(service, user)] == list(TABS)
        assert pterodactyl_tabs(service, user) == []
        service.product.provisioner = "manual"
        assert tabs_for(service, user) == []
        db.session.rollback()
    # the Pterodactyl plugin's URLs do not reach a Pelican service
    assert alice.get(f"/plugins/pterodactyl/servers/{owner.service_id}/console").status_code == 404


# --- console, power, usage ------------------------------------------------------------------


def test_power_buttons_and_live_usage(alice, owner, sim):
    assert alice.get(tab_url(owner.service_id, "console/status")).json["state"] == "offline"
    done = alice.post(tab_url(owner.service_id, "power"), data={"signal": "start"})
    assert done.status_code == 303 and done.headers["Location"].endswith("/console")
    assert power_state(sim, owner) == "running"
    status = alice.get(tab_url(owner.service_id, "console/status")).json
    assert status["ok"] and status["state"] == "running"
    assert status["memory_limit_bytes"] == 2048 * 1024 * 1024
    stopped = alice.post(
        tab_url(owner.service_id, "power"),
        data={"signal": "stop"},
        headers={"Accept": "application/json"},
    )
    assert stopped.status_code == 200 and stopped.json["ok"]
    assert power_state(sim, owner) == "offline"
    wrong = alice.post(tab_url(owner.service_id, "power"), data={"signal": "explode"})
    assert wrong.status_code == 400 and "Choose start, stop, restart or kill" in flashes(wrong.text)


def test_a_command_to_an_offline_server_is_refused_here_not_lost(alice, owner, sim):
    """Pelican answers 204 to a command for an offline server and drops it (§4.2), so the
    tab checks the state first and never sends it."""
    sim.clear_requests()
    offline = alice.post(tab_url(owner.service_id, "command"), data={"command": "say hi"})
    assert offline.status_code == 409 and "must be running" in flashes(offline.text)
    assert not any(r["path"].endswith("/command") for r in sim.requests)
    alice.post(tab_url(owner.service_id, "power"), data={"signal": "start"})
    sent = alice.post(tab_url(owner.service_id, "command"), data={"command": "say hello there"})
    assert sent.status_code == 303
    assert any("hello there" in line for line in sim_server(sim, owner.identifier).console)


def test_the_console_token_is_reused_within_pelicans_websocket_throttle(alice, owner, sim):
    """Pelican allows 5 websocket tokens a minute per server (§1.3): pages reuse one."""
    sim.clear_requests()
    for _ in range(8):
        found = alice.get(tab_url(owner.service_id, "console/credentials"))
        assert found.status_code == 200 and found.json["token"]
    server = sim_server(sim, owner.identifier)
    assert found.json["socket"].endswith(f"/api/servers/{server.uuid}/ws")
    asked = [r for r in sim.requests if r["path"].endswith("/websocket")]
    assert len(asked) == 1


# --- startup variables ----------------------------------------------------------------------


def test_startup_variables_editable_read_only_and_hidden(alice, owner, panel):
    page = alice.get(tab_url(owner.service_id, "startup")).text
    assert 'data-env="MINECRAFT_VERSION"' in page and 'data-env="BUILD_NUMBER"' in page
    for hidden in ("SERVER_JARFILE", "MAX_PLAYERS"):
        assert f'data-env="{hidden}"' not in page
    saved = alice.post(
        tab_url(owner.service_id, "startup"), data={"key": "MINECRAFT_VERSION", "value": "1.21.1"}
    )
    assert saved.status_code == 303, flashes(saved.text)
    assert environment(panel, owner)["MINECRAFT_VERSION"] == "1.21.1"
    too_long = alice.post(
        tab_url(owner.service_id, "startup"), data={"key": "MINECRAFT_VERSION", "value": "x" * 21}
    )
    assert too_long.status_code == 400 and "20 characters" in flashes(too_long.text)
    for key, message in (
        ("SERVER_JARFILE", "is not a setting you can change"),
        ("NO_SUCH_THING", "is not a setting you can change"),
        ("BUILD_NUMBER", "read-only"),
        ("MAX_PLAYERS", "is not a setting you can change"),
    ):
        refused = alice.post(tab_url(owner.service_id, "startup"), data={"key": key, "value": "x"})
        assert refused.status_code == 403 and message in flashes(refused.text), key
    assert environment(panel, owner)["MINECRAFT_VERSION"] == "1.21.1"


def test_a_variable_the_egg_hides_is_written_through_the_application_api(pel_app, panel):
    """The egg's rules come as an array from Pelican's application API (§8)."""
    from kernel.extensions import db
    from tests.pelican_plugin.conftest import paper_settings, pelican_product

    with pel_app.app_context():
        variables = "SERVER_JARFILE | editable\nMINECRAFT_VERSION | visible\nMAX_PLAYERS | slots"
        product_id = pelican_product(paper_settings(panel, variables=variables), slug="jar").id
        db.session.remove()
    bought = buy_server(pel_app, product_id, "jar@example.com")
    client = login(pel_app, bought.email, TEST_PASSWORD)
    assert 'data-env="SERVER_JARFILE"' in client.get(tab_url(bought.service_id, "startup")).text
    before = environment(panel, bought)
    bad = client.post(
        tab_url(bought.service_id, "startup"), data={"key": "SERVER_JARFILE", "value": "bad jar!"}
    )
    assert bad.status_code == 400, flashes(bad.text)
    saved = client.post(
        tab_url(bought.service_id, "startup"), data={"key": "SERVER_JARFILE", "value": "paper.jar"}
    )
    assert saved.status_code == 303, flashes(saved.text)
    # Pelican blanks the variables a startup PATCH leaves out: every other one is kept
    assert environment(panel, bought) == {**before, "SERVER_JARFILE": "paper.jar"}


# --- backups, databases, network ------------------------------------------------------------


def backups_of(sim, owner) -> list:
    server = sim_server(sim, owner.identifier)
    return [b for b in sim.state.backups.values() if b.server_id == server.id]


def test_backups_create_lock_download_restore_delete_within_the_plan(alice, owner, sim):
    made = alice.post(tab_url(owner.service_id, "backups"), data={"name": "before update"})
    assert made.status_code == 303
    backup = backups_of(sim, owner)[0]
    assert "1 of 2 backups used." in alice.get(tab_url(owner.service_id, "backups")).text
    locked = alice.post(tab_url(owner.service_id, f"backups/{backup.uuid}/lock"))
    assert locked.status_code == 303 and backup.is_locked
    refused = alice.post(tab_url(owner.service_id, f"backups/{backup.uuid}/delete"))
    assert refused.status_code == 400 and "locked" in flashes(refused.text)
    link = alice.get(tab_url(owner.service_id, f"backups/{backup.uuid}/download"))
    assert link.status_code == 303 and link.headers["Location"].startswith(sim.url + "/download/")
    assert httpx.get(link.headers["Location"]).status_code == 200
    restored = alice.post(
        tab_url(owner.service_id, f"backups/{backup.uuid}/restore"),
        data={"confirm": "1", "truncate": "1"},
    )
    assert restored.status_code == 303, flashes(restored.text)
    alice.post(tab_url(owner.service_id, f"backups/{backup.uuid}/lock"))
    assert alice.post(tab_url(owner.service_id, "backups"), data={"name": "two"}).status_code == 303
    third = alice.post(tab_url(owner.service_id, "backups"), data={"name": "three"})
    assert third.status_code == 400 and "Your plan allows 2 backups" in flashes(third.text)
    deleted = alice.post(tab_url(owner.service_id, f"backups/{backup.uuid}/delete"))
    assert deleted.status_code == 303 and len(backups_of(sim, owner)) == 1


def test_databases_have_integer_ids_and_pelicans_view_password_permission(alice, owner, sim):
    made = alice.post(tab_url(owner.service_id, "databases"), data={"database": "world"})
    assert made.status_code == 303, flashes(made.text)
    page = alice.get(tab_url(owner.service_id, "databases")).text
    database_id = page.split('data-database="')[1].split('"')[0]
    assert database_id.isdigit()  # Pelican's ids are integers (Pterodactyl: hashids)
    assert 'class="db-password"' in page  # the owner holds database.view-password
    server = sim_server(sim, owner.identifier)
    database = next(d for d in sim.state.databases.values() if d.server_id == server.id)
    old = database.password
    rotated = alice.post(tab_url(owner.service_id, f"databases/{database_id}/rotate"))
    assert rotated.status_code == 303 and database.password != old
    again = alice.post(tab_url(owner.service_id, "databases"), data={"database": "second"})
    assert again.status_code == 400 and "Your plan allows 1 databases" in flashes(again.text)
    deleted = alice.post(tab_url(owner.service_id, f"databases/{database_id}/delete"))
    assert deleted.status_code == 303
    assert not [d for d in sim.state.databases.values() if d.server_id == server.id]


def test_ports_and_the_primary_port_pelican_would_let_go(alice, owner, sim):
    server = sim_server(sim, owner.identifier)
    first = server.allocation_id
    assert alice.post(tab_url(owner.service_id, "network")).status_code == 303
    second = next(
        a.id for a in sim.state.allocations.values() if a.server_id == server.id and a.id != first
    )
    noted = alice.post(
        tab_url(owner.service_id, f"network/{second}/notes"), data={"notes": "query port"}
    )
    assert noted.status_code == 303 and sim.state.allocations[second].notes == "query port"
    # Pelican deletes a primary allocation (§4.3): the tab refuses it itself
    primary = alice.post(tab_url(owner.service_id, f"network/{first}/delete"))
    assert primary.status_code == 400 and "primary port" in flashes(primary.text)
    assert sim.state.allocations[first].server_id == server.id
    assert alice.post(tab_url(owner.service_id, f"network/{second}/primary")).status_code == 303
    assert sim_server(sim, owner.identifier).allocation_id == second
    assert alice.post(tab_url(owner.service_id, f"network/{first}/delete")).status_code == 303
    assert sim.state.allocations[first].server_id is None


# --- schedules, reinstall, activity ---------------------------------------------------------


def test_schedules_and_tasks(alice, owner, sim):
    made = alice.post(
        tab_url(owner.service_id, "schedules"),
        data={"name": "nightly", "minute": "0", "hour": "3", "is_active": "1"},
    )
    assert made.status_code == 303, flashes(made.text)
    schedule = next(iter(sim.state.schedules.values()))
    base = f"schedules/{schedule.id}"
    task = alice.post(
        tab_url(owner.service_id, f"{base}/tasks"), data={"action": "command", "payload": "say hi"}
    )
    assert task.status_code == 303, flashes(task.text)
    assert "say hi" in alice.get(tab_url(owner.service_id, base)).text
    assert alice.post(tab_url(owner.service_id, f"{base}/run")).status_code == 303
    task_id = next(t.id for t in sim.state.tasks.values() if t.schedule_id == schedule.id)
    gone = alice.post(tab_url(owner.service_id, f"{base}/tasks/{task_id}/delete"))
    assert gone.status_code == 303 and task_id not in sim.state.tasks
    assert alice.post(tab_url(owner.service_id, f"{base}/delete")).status_code == 303
    assert alice.get(tab_url(owner.service_id, base)).status_code == 404


def test_reinstall_needs_confirmation_and_pelican_answers_202(alice, owner, sim):
    unconfirmed = alice.post(tab_url(owner.service_id, "reinstall"))
    assert unconfirmed.status_code == 400 and "Tick the box" in flashes(unconfirmed.text)
    done = alice.post(tab_url(owner.service_id, "reinstall"), data={"confirm": "1"})
    assert done.status_code == 303
    assert any(
        r["path"].endswith("/settings/reinstall") and r["status"] == 202 for r in sim.requests
    )


def test_activity_names_pelicans_events_in_words(pel_app, alice, owner):
    alice.post(tab_url(owner.service_id, "power"), data={"signal": "start"})
    alice.post(tab_url(owner.service_id, "backups"), data={"name": "logged"})
    page = alice.get(tab_url(owner.service_id, "activity")).text
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    assert "Server started" in body and "Backup started" in body
    assert "<code>server:" not in body
    assert re.search(r'<td class="small">Alice Survival</td>', body)
    with pel_app.test_request_context():  # the tabs' own audit entries have words too
        from kernel.audit_labels import label_for

        assert label_for("pelican.power") == "Power action"
        assert label_for("pelican.subuser_invite") == "Shared access granted"
