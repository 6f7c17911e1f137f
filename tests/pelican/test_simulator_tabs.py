"""The client endpoints behind the customer's server tabs, in the Pelican simulator
(docs/reference/pelican_api.md §4.3 "Other client endpoints"): what Pelican shares with
Pterodactyl works the same, what it changed answers Pelican's way."""

from __future__ import annotations

import httpx

from tests.pelican.panel import APP, JSON, errors_of, fields, new_server, new_user

CLIENT = "/api/client/servers"


def test_backups(app, client, sim):
    owner = new_user(app, "backups@example.com")
    server = new_server(
        app, owner["id"], feature_limits={"databases": 0, "allocations": 1, "backups": 3}
    )
    base = f"{CLIENT}/{server['identifier']}"
    made = client.post(base + "/backups", json={"name": "n" * 255, "is_locked": True})
    assert made.status_code == 200, made.text
    backup = made.json()["attributes"]
    assert backup["is_scheduled"] is False and backup["is_locked"] is True
    assert fields(client.post(base + "/backups", json={"name": "n" * 256})) == {"name": "max"}
    listed = client.get(base + "/backups").json()
    assert listed["meta"]["backup_count"] == 1
    renamed = client.put(f"{base}/backups/{backup['uuid']}/rename", json={"name": "weekly"})
    assert renamed.status_code == 200 and renamed.json()["attributes"]["name"] == "weekly"
    assert fields(client.put(f"{base}/backups/{backup['uuid']}/rename", json={})) == {
        "name": "required"
    }
    # a subuser who may create but not delete backups cannot lock one
    client.post(
        base + "/users",
        json={"email": "maker@example.com", "permissions": ["backup.create", "backup.read"]},
    )
    maker_id = next(u["id"] for u in sim.snapshot()["users"] if u["email"] == "maker@example.com")
    maker = httpx.Client(
        base_url=sim.url,
        timeout=10,
        headers={"Authorization": f"Bearer {sim.create_key(maker_id)}", "Accept": JSON},
    )
    with maker:
        unlocked = maker.post(base + "/backups", json={"is_locked": True})
        assert unlocked.status_code == 200 and unlocked.json()["attributes"]["is_locked"] is False
        assert (
            maker.put(f"{base}/backups/{backup['uuid']}/rename", json={"name": "x"}).status_code
            == 403
        )
    # restore: 3 per 15 minutes per server
    sim.set_switches(resource_limits={"backup-restore": [1, 900]})
    restore = f"{base}/backups/{backup['uuid']}/restore"
    assert client.post(restore, json={"truncate": False}).status_code == 204
    sim.set_server_state(server["id"], status=None)
    again = client.post(restore, json={"truncate": False})
    assert again.status_code == 429 and int(again.headers["Retry-After"]) > 800


def test_files_schedules_allocations_startup_and_activity(app, client, sim):
    owner = new_user(app, "tabs@example.com")
    server = new_server(
        app, owner["id"], feature_limits={"databases": 0, "allocations": 3, "backups": 0}
    )
    base = f"{CLIENT}/{server['identifier']}"
    assert (
        client.post(
            base + "/files/write?file=/notes.txt",
            content=b"hello",
            headers={"Content-Type": "text/plain"},
        ).status_code
        == 204
    )
    assert client.get(base + "/files/contents?file=/notes.txt").text == "hello"
    names = [f["attributes"]["name"] for f in client.get(base + "/files/list").json()["data"]]
    assert "notes.txt" in names
    cron = {
        "name": "restart",
        "minute": "0",
        "hour": "4",
        "day_of_month": "*",
        "month": "*",
        "day_of_week": "*",
        "is_active": True,
    }
    schedule = client.post(base + "/schedules", json=cron).json()["attributes"]
    task = client.post(
        f"{base}/schedules/{schedule['id']}/tasks",
        json={"action": "power", "payload": "start", "time_offset": 0},
    )
    assert task.status_code == 200 and task.json()["attributes"]["sequence_id"] == 1
    assert client.post(f"{base}/schedules/{schedule['id']}/execute").status_code == 202
    added = client.post(base + "/network/allocations")
    assert added.status_code == 200, added.text
    extra = added.json()["attributes"]["id"]
    noted = client.post(f"{base}/network/allocations/{extra}", json={"notes": "voice"})
    assert noted.json()["attributes"]["notes"] == "voice"
    assert fields(client.post(f"{base}/network/allocations/{extra}", json={})) == {
        "notes": "present"
    }
    unknown = client.put(base + "/startup/variable", json={"key": "NOPE", "value": "1"})
    assert unknown.status_code == 400
    assert (
        errors_of(unknown)[0]["detail"]
        == "The environment variable you are trying to edit does not exist."
    )
    hidden = client.put(base + "/startup/variable", json={"key": "DL_PATH", "value": "x"})
    assert hidden.status_code == 400
    edited = client.put(base + "/startup/variable", json={"key": "MAX_PLAYERS", "value": "30"})
    assert edited.status_code == 200
    assert edited.json()["attributes"]["rules"] == "required|integer|between:1,100"
    assert fields(
        client.put(base + "/startup/variable", json={"key": "MAX_PLAYERS", "value": "500"})
    ) == {"value": "between"}
    events = [a["attributes"]["event"] for a in client.get(base + "/activity").json()["data"]]
    assert "server:startup.edit" in events and "server:allocation.create" in events


def test_subusers_look_like_pelican_users(app, client, sim):
    owner = new_user(app, "subs@example.com")
    server = new_server(app, owner["id"])
    base = f"{CLIENT}/{server['identifier']}"
    made = client.post(
        base + "/users", json={"email": "crew@example.com", "permissions": ["file.read"]}
    )
    attrs = made.json()["attributes"]
    assert made.json()["object"] == "server_subuser"
    assert {
        "uuid",
        "username",
        "email",
        "language",
        "image",
        "admin",
        "root_admin",
        "2fa_enabled",
        "created_at",
        "updated_at",
        "permissions",
    } == set(attrs)
    assert sorted(attrs["permissions"]) == ["file.read", "websocket.connect"]
    assert (
        errors_of(
            client.post(
                base + "/users", json={"email": "crew@example.com", "permissions": ["file.read"]}
            )
        )[0]["code"]
        == "ServerSubuserExistsException"
    )
    account = client.get("/api/client/account").json()["attributes"]
    assert "id" not in account and "first_name" not in account and account["root_admin"]


def test_user_language_and_timezone_come_from_fixed_lists(app):
    good = app.post(
        f"{APP}/users",
        json={
            "email": "tz@example.com",
            "username": "tz",
            "language": "fr_FR",
            "timezone": "Europe/Paris",
        },
    )
    assert good.status_code == 201
    bad = app.post(
        f"{APP}/users",
        json={
            "email": "tz2@example.com",
            "username": "tz2",
            "language": "klingon!",
            "timezone": "Mars/Olympus",
            "is_managed_externally": "yes",
        },
    )
    assert fields(bad) == {"language": "in", "timezone": "in", "is_managed_externally": "boolean"}
