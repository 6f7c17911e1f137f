"""The customers' server tabs against the simulator over HTTP: every tab renders for the
owner and every action reaches the panel (checked in the simulator's state)."""

from __future__ import annotations

import gzip
import re

import httpx
import pytest

from kernel.testing import TEST_PASSWORD, login
from tests.pterodactyl.tabs_helpers import *  # noqa: F403 - the fixtures
from tests.pterodactyl.tabs_helpers import flashes, sim_server, tab_url

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
    from builtin_plugins.pterodactyl.client import server_environment

    internal_id = panel.client.server(owner.identifier)["internal_id"]
    return server_environment(panel.app.get_server(internal_id))


def test_every_tab_renders_inside_the_server_page(alice, owner):
    for tab in TABS:
        page = alice.get(tab_url(owner.service_id, tab))
        assert page.status_code == 200, (tab, page.text[:500])
        assert f"ptero-tab-{tab}" in page.text
        for other in TABS:  # the store's shell lists every tab
            assert tab_url(owner.service_id, other) in page.text
    overview = alice.get(f"/servers/{owner.service_id}")
    assert tab_url(owner.service_id, "console") in overview.text


def test_tabs_are_not_offered_for_other_provisioners(ptero_app, alice, owner):
    from builtin_plugins.pterodactyl.tabs.adapter import tabs_for
    from builtin_plugins.store.models import Service
    from kernel.extensions import db

    with ptero_app.test_request_context():
        from flask_login import login_user

        service = db.session.get(Service, owner.service_id)
        login_user(service_user(service))
        assert [t["id"] for t in tabs_for(service, service_user(service))][:2] == [
            "console",
            "startup",
        ]
        service.product.provisioner = "manual"
        assert tabs_for(service, service_user(service)) == []
        db.session.rollback()


def power_state(sim, owner) -> str:
    """The simulated server's power state once due steps have happened."""
    return sim_server(sim, owner.identifier).power_state


def service_user(service):
    from kernel.accounts.models import User
    from kernel.extensions import db

    return db.session.get(User, service.user_id)


# --- console, power, usage ------------------------------------------------------------------


def test_power_buttons_and_live_usage(alice, owner, sim):
    page = alice.get(tab_url(owner.service_id, "console"))
    assert "power-start" in page.text and "power-kill" in page.text
    assert alice.get(tab_url(owner.service_id, "console/status")).json["state"] == "offline"

    done = alice.post(tab_url(owner.service_id, "power"), data={"signal": "start"})
    assert done.status_code == 303 and done.headers["Location"].endswith("/console")
    assert power_state(sim, owner) == "running"
    status = alice.get(tab_url(owner.service_id, "console/status")).json
    assert status["ok"] and status["state"] == "running"
    assert status["memory_bytes"] > 0 and status["memory_limit_bytes"] == 2048 * 1024 * 1024

    as_json = alice.post(
        tab_url(owner.service_id, "power"),
        data={"signal": "stop"},
        headers={"Accept": "application/json"},
    )
    assert as_json.status_code == 200 and as_json.json["ok"]
    assert power_state(sim, owner) == "offline"

    wrong = alice.post(tab_url(owner.service_id, "power"), data={"signal": "explode"})
    assert wrong.status_code == 400
    assert "Choose start, stop, restart or kill" in flashes(wrong.text)


def test_console_commands_need_a_running_server(alice, owner, sim):
    offline = alice.post(tab_url(owner.service_id, "command"), data={"command": "say hi"})
    assert offline.status_code == 409
    assert "must be running" in flashes(offline.text)
    alice.post(tab_url(owner.service_id, "power"), data={"signal": "start"})
    sent = alice.post(tab_url(owner.service_id, "command"), data={"command": "say hello there"})
    assert sent.status_code == 303
    assert any("hello there" in line for line in sim_server(sim, owner.identifier).console)
    empty = alice.post(tab_url(owner.service_id, "command"), data={"command": "  "})
    assert empty.status_code == 400


def test_console_credentials_come_from_the_panel_and_open_the_websocket(alice, owner, sim):
    page = alice.get(tab_url(owner.service_id, "console"))
    # the page may open the node's websocket, and nothing else off-site
    policy = page.headers["Content-Security-Policy"]
    assert f"connect-src 'self' ws://127.0.0.1:{sim.port}" in policy
    found = alice.get(tab_url(owner.service_id, "console/credentials"))
    assert found.status_code == 200 and found.headers["Cache-Control"] == "no-store"
    body = found.json
    server = sim_server(sim, owner.identifier)
    assert body["socket"] == f"ws://127.0.0.1:{sim.port}/api/servers/{server.uuid}/ws"
    messages = websocket_session(body["socket"], body["token"])
    assert messages[0] == {"event": "auth success"}
    assert {"event": "status", "args": ["offline"]} in messages


def websocket_session(url: str, token: str) -> list[dict]:
    """Authenticate on the simulator's Wings socket; the first few messages."""
    import base64
    import json
    import os
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=5)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    assert head.startswith(b"HTTP/1.1 101"), head
    payload = json.dumps({"event": "auth", "args": [token]}).encode()
    mask = os.urandom(4)
    frame = (
        bytes([0x81, 0x80 | 126])
        + len(payload).to_bytes(2, "big")
        + mask
        + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    )
    sock.sendall(frame)
    messages, buffer = [], b""
    while len(messages) < 2:
        buffer += sock.recv(65536)
        while len(buffer) >= 2:
            length, start = buffer[1] & 0x7F, 2
            if length == 126:
                length, start = int.from_bytes(buffer[2:4], "big"), 4
            if len(buffer) < start + length:
                break
            messages.append(json.loads(buffer[start : start + length]))
            buffer = buffer[start + length :]
    sock.close()
    return messages


# --- startup variables ----------------------------------------------------------------------


def test_startup_shows_only_the_variables_the_product_exposes(alice, owner):
    page = alice.get(tab_url(owner.service_id, "startup")).text
    assert 'data-env="MINECRAFT_VERSION"' in page and 'data-env="BUILD_NUMBER"' in page
    for hidden in ("SERVER_JARFILE", "DL_PATH", "MAX_PLAYERS"):
        assert f'data-env="{hidden}"' not in page
    assert "-jar [hidden]" in page  # the startup command does not leak hidden values
    assert 'id="var-BUILD_NUMBER" name="value" value="latest"\n               readonly' in page


def test_an_editable_variable_is_validated_then_saved(alice, owner, panel):
    saved = alice.post(
        tab_url(owner.service_id, "startup"), data={"key": "MINECRAFT_VERSION", "value": "1.21.1"}
    )
    assert saved.status_code == 303
    assert environment(panel, owner)["MINECRAFT_VERSION"] == "1.21.1"

    too_long = alice.post(
        tab_url(owner.service_id, "startup"), data={"key": "MINECRAFT_VERSION", "value": "x" * 21}
    )
    assert too_long.status_code == 400
    assert "Minecraft Version variable may not be greater than 20 characters" in flashes(
        too_long.text
    )
    assert environment(panel, owner)["MINECRAFT_VERSION"] == "1.21.1"


@pytest.mark.parametrize(
    "key, status, message",
    [
        ("SERVER_JARFILE", 403, "SERVER_JARFILE is not a setting you can change"),  # hidden
        ("DL_PATH", 403, "DL_PATH is not a setting you can change"),  # hidden in the egg too
        ("NO_SUCH_THING", 403, "NO_SUCH_THING is not a setting you can change"),
        ("BUILD_NUMBER", 403, "Build Number is read-only"),  # visible, not editable
        ("MAX_PLAYERS", 403, "MAX_PLAYERS is not a setting you can change"),  # slots, hidden
    ],
)
def test_crafted_changes_of_other_variables_are_refused(alice, owner, panel, key, status, message):
    before = environment(panel, owner)
    refused = alice.post(tab_url(owner.service_id, "startup"), data={"key": key, "value": "evil"})
    assert refused.status_code == status
    assert message in flashes(refused.text)
    assert environment(panel, owner) == before


def test_a_variable_the_egg_hides_but_the_product_lets_customers_edit(ptero_app, panel, sim):
    from tests.pterodactyl.conftest import panel_product, paper_settings
    from tests.pterodactyl.tabs_helpers import buy_server

    with ptero_app.app_context():
        variables = "DL_PATH | editable\nMINECRAFT_VERSION | visible\nMAX_PLAYERS | editable, slots"
        settings = paper_settings(panel, variables=variables)
        product_id = panel_product(settings, slug="paper-dl").id
    bought = buy_server(ptero_app, product_id, "dl@example.com")
    client = login(ptero_app, bought.email, TEST_PASSWORD)
    page = client.get(tab_url(bought.service_id, "startup")).text
    assert 'data-env="DL_PATH"' in page
    saved = client.post(
        tab_url(bought.service_id, "startup"),
        data={"key": "DL_PATH", "value": "https://example.com/server.jar"},
    )
    assert saved.status_code == 303, flashes(saved.text)
    assert environment(panel, bought)["DL_PATH"] == "https://example.com/server.jar"
    assert environment(panel, bought)["MINECRAFT_VERSION"] == "latest"  # others kept
    read_only = client.post(
        tab_url(bought.service_id, "startup"), data={"key": "MINECRAFT_VERSION", "value": "1.20"}
    )
    assert read_only.status_code == 403 and "read-only" in flashes(read_only.text)
    slots = client.post(
        tab_url(bought.service_id, "startup"), data={"key": "MAX_PLAYERS", "value": "100"}
    )  # paid for, not edited here
    assert slots.status_code == 403 and "comes from your plan" in flashes(slots.text)
    assert environment(panel, bought)["MAX_PLAYERS"] == "20"


# --- backups --------------------------------------------------------------------------------


def backups_of(sim, owner) -> list:
    server = sim_server(sim, owner.identifier)
    return [b for b in sim.state.backups.values() if b.server_id == server.id]


def test_backups_create_lock_download_restore_delete(alice, owner, sim):
    made = alice.post(tab_url(owner.service_id, "backups"), data={"name": "before update"})
    assert made.status_code == 303
    backup = backups_of(sim, owner)[0]
    page = alice.get(tab_url(owner.service_id, "backups")).text
    assert "before update" in page and "1 of 2 backups used." in page

    locked = alice.post(tab_url(owner.service_id, f"backups/{backup.uuid}/lock"))
    assert locked.status_code == 303 and backup.is_locked
    refused = alice.post(tab_url(owner.service_id, f"backups/{backup.uuid}/delete"))
    assert refused.status_code == 400 and "locked" in flashes(refused.text)

    link = alice.get(tab_url(owner.service_id, f"backups/{backup.uuid}/download"))
    assert link.status_code == 303 and link.headers["Location"].startswith(sim.url + "/download/")
    archive = httpx.get(link.headers["Location"])
    assert archive.status_code == 200 and b"before update" in gzip.decompress(archive.content)

    unconfirmed = alice.post(tab_url(owner.service_id, f"backups/{backup.uuid}/restore"))
    assert unconfirmed.status_code == 400 and "confirm" in flashes(unconfirmed.text)
    restored = alice.post(
        tab_url(owner.service_id, f"backups/{backup.uuid}/restore"),
        data={"confirm": "1", "truncate": "1"},
    )
    assert restored.status_code == 303
    assert any(r["path"].endswith(f"/backups/{backup.uuid}/restore") for r in sim.requests)

    alice.post(tab_url(owner.service_id, f"backups/{backup.uuid}/lock"))
    assert not backup.is_locked
    deleted = alice.post(tab_url(owner.service_id, f"backups/{backup.uuid}/delete"))
    assert deleted.status_code == 303 and backups_of(sim, owner) == []


def test_backups_stay_within_the_plan(alice, owner, sim):
    assert alice.post(tab_url(owner.service_id, "backups"), data={"name": "one"}).status_code == 303
    assert alice.post(tab_url(owner.service_id, "backups"), data={"name": "two"}).status_code == 303
    third = alice.post(tab_url(owner.service_id, "backups"), data={"name": "three"})
    assert third.status_code == 400
    assert "Your plan allows 2 backups" in flashes(third.text)
    assert len(backups_of(sim, owner)) == 2
    bad = alice.get(tab_url(owner.service_id, "backups/not-a-uuid/download"))
    assert bad.status_code == 404


# --- databases ------------------------------------------------------------------------------


def databases_of(sim, owner) -> list:
    server = sim_server(sim, owner.identifier)
    return [d for d in sim.state.databases.values() if d.server_id == server.id]


def test_databases_create_rotate_delete_within_the_plan(alice, owner, sim):
    bad = alice.post(tab_url(owner.service_id, "databases"), data={"database": "a b"})
    assert bad.status_code == 400 and "3 to 48 letters" in flashes(bad.text)
    made = alice.post(
        tab_url(owner.service_id, "databases"), data={"database": "world", "remote": "%"}
    )
    assert made.status_code == 303
    page = alice.get(tab_url(owner.service_id, "databases")).text
    assert "world" in page and 'class="db-password"' in page
    again = alice.post(tab_url(owner.service_id, "databases"), data={"database": "second"})
    assert again.status_code == 400 and "Your plan allows 1 databases" in flashes(again.text)

    database = databases_of(sim, owner)[0]
    hashid = page.split('data-database="')[1].split('"')[0]
    old = database.password
    rotated = alice.post(tab_url(owner.service_id, f"databases/{hashid}/rotate"))
    assert rotated.status_code == 303 and database.password != old
    deleted = alice.post(tab_url(owner.service_id, f"databases/{hashid}/delete"))
    assert deleted.status_code == 303 and databases_of(sim, owner) == []


# --- network --------------------------------------------------------------------------------


def test_ports_add_note_primary_and_remove(alice, owner, sim):
    server = sim_server(sim, owner.identifier)
    first = server.allocation_id
    added = alice.post(tab_url(owner.service_id, "network"))
    assert added.status_code == 303
    ports = [a for a in sim.state.allocations.values() if a.server_id == server.id]
    assert len(ports) == 2
    second = next(a.id for a in ports if a.id != first)
    full = alice.post(tab_url(owner.service_id, "network"))
    assert full.status_code == 400 and "Your plan allows 2 ports" in flashes(full.text)

    noted = alice.post(
        tab_url(owner.service_id, f"network/{second}/notes"), data={"notes": "query port"}
    )
    assert noted.status_code == 303 and sim.state.allocations[second].notes == "query port"
    primary_refused = alice.post(tab_url(owner.service_id, f"network/{first}/delete"))
    assert primary_refused.status_code == 400 and "primary port" in flashes(primary_refused.text)
    made_primary = alice.post(tab_url(owner.service_id, f"network/{second}/primary"))
    assert made_primary.status_code == 303
    assert sim_server(sim, owner.identifier).allocation_id == second
    removed = alice.post(tab_url(owner.service_id, f"network/{first}/delete"))
    assert removed.status_code == 303
    assert sim.state.allocations[first].server_id is None
    missing = alice.post(tab_url(owner.service_id, "network/999999/delete"))
    assert missing.status_code == 404


# --- schedules ------------------------------------------------------------------------------


def test_schedules_and_tasks(alice, owner, sim):
    bad = alice.post(
        tab_url(owner.service_id, "schedules"),
        data={"name": "nightly", "minute": "0;rm", "hour": "3"},
    )
    assert bad.status_code == 400 and "Minute must be a cron value" in flashes(bad.text)
    made = alice.post(
        tab_url(owner.service_id, "schedules"),
        data={
            "name": "nightly",
            "minute": "0",
            "hour": "3",
            "day_of_month": "*",
            "month": "*",
            "day_of_week": "*",
            "is_active": "1",
        },
    )
    assert made.status_code == 303
    schedule = next(iter(sim.state.schedules.values()))
    assert made.headers["Location"].endswith(f"/schedules/{schedule.id}")
    assert schedule.name == "nightly" and schedule.hour == "3"

    base = f"schedules/{schedule.id}"
    assert (
        alice.post(
            tab_url(owner.service_id, f"{base}/tasks"),
            data={"action": "command", "payload": "say backup soon"},
        ).status_code
        == 303
    )
    assert (
        alice.post(
            tab_url(owner.service_id, f"{base}/tasks"),
            data={"action": "power", "payload": "restart", "time_offset": "30"},
        ).status_code
        == 303
    )
    wrong = alice.post(
        tab_url(owner.service_id, f"{base}/tasks"), data={"action": "power", "payload": "explode"}
    )
    assert wrong.status_code == 400
    late = alice.post(
        tab_url(owner.service_id, f"{base}/tasks"),
        data={"action": "command", "payload": "x", "time_offset": "901"},
    )
    assert late.status_code == 400 and "between 0 and 900" in flashes(late.text)
    detail = alice.get(tab_url(owner.service_id, base)).text
    assert "say backup soon" in detail and "restart" in detail

    ran = alice.post(tab_url(owner.service_id, f"{base}/run"))
    assert ran.status_code == 303
    task = next(t for t in sim.state.tasks.values() if t.schedule_id == schedule.id)
    removed = alice.post(tab_url(owner.service_id, f"{base}/tasks/{task.id}/delete"))
    assert removed.status_code == 303
    assert task.id not in sim.state.tasks
    assert alice.post(tab_url(owner.service_id, f"{base}/delete")).status_code == 303
    assert schedule.id not in sim.state.schedules
    assert alice.get(tab_url(owner.service_id, base)).status_code == 404


# --- reinstall and activity -----------------------------------------------------------------


def test_reinstall_needs_confirmation(alice, owner, sim):
    unconfirmed = alice.post(tab_url(owner.service_id, "reinstall"))
    assert unconfirmed.status_code == 400 and "Tick the box" in flashes(unconfirmed.text)
    assert not any(r["path"].endswith("/settings/reinstall") for r in sim.requests)
    done = alice.post(tab_url(owner.service_id, "reinstall"), data={"confirm": "1"})
    assert done.status_code == 303 and done.headers["Location"].endswith("/console")
    assert any(
        r["path"].endswith("/settings/reinstall") and r["status"] == 202 for r in sim.requests
    )


def test_activity_lists_what_happened_in_words_and_by_whom(alice, owner):
    alice.post(tab_url(owner.service_id, "power"), data={"signal": "start"})
    alice.post(tab_url(owner.service_id, "backups"), data={"name": "logged"})
    page = alice.get(tab_url(owner.service_id, "activity")).text
    table = page.split('class="table table-sm align-middle ptero-activity"', 1)[1]
    body = table.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
    events = {re.search(r'<span title="([^"]+)">([^<]+)</span>', r).groups(): r for r in rows}
    assert ("server:power.start", "Server started") in events
    assert ("server:backup.start", "Backup started") in events
    assert "<code>server:" not in body  # no raw event keys
    for row in events.values():  # done through pteroca's key: the owner's name, no IP
        assert re.search(r'<td class="small">Alice Survival</td>', row), row
    assert ">pteroca<" not in body and "admin" not in body
    with_page = alice.get(tab_url(owner.service_id, "activity") + "?page=abc")
    assert with_page.status_code == 200


def test_actions_need_the_csrf_token(ptero_app, alice, owner, sim):
    ptero_app.config["WTF_CSRF_ENABLED"] = True
    forged = alice.post(tab_url(owner.service_id, "power"), data={"signal": "start"})
    assert forged.status_code == 400
    assert power_state(sim, owner) == "offline"
    page = alice.get(tab_url(owner.service_id, "console")).text
    token = re.search(r'data-csrf="([^"]+)"', page).group(1)
    scripted = alice.post(
        tab_url(owner.service_id, "power"),
        data={"signal": "start"},
        headers={"Accept": "application/json", "X-CSRFToken": token},
    )
    assert scripted.status_code == 200 and scripted.json["ok"]
    assert power_state(sim, owner) == "running"


def test_overview_shows_the_servers_address_from_the_panel(alice, owner, sim):
    page = alice.get(f"/servers/{owner.service_id}").text
    found = re.search(rf'<code id="server-address-{owner.service_id}">([^<]+)</code>', page)
    assert found, page[:2000]
    host, port = found.group(1).rsplit(":", 1)
    assert host and port.isdigit()
    assert f'data-copy="server-address-{owner.service_id}"' in page
