"""The Pelican simulator's client API, Wings faults, per-server throttles, control endpoints
and CLI over real HTTP (docs/reference/pelican_api.md §4 "Client API (`/api/client`)",
§7.7 "Timeouts, retries and Wings faults" and §9 "Checklist for a faithful simulator
(Pelican mode)")."""

from __future__ import annotations

import base64
import json
import threading
from urllib.parse import urlsplit

import httpx
import pytest

from tests.pelican.panel import APP, JSON, build_body, errors_of, fields, new_server, new_user
from tests.pterodactyl.test_simulator import Ws

CLIENT = "/api/client/servers"


def as_user(sim, user_id: int) -> httpx.Client:
    key = sim.create_key(user_id)
    return httpx.Client(
        base_url=sim.url, timeout=10, headers={"Authorization": f"Bearer {key}", "Accept": JSON}
    )


def claims_of(token: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))


# --- the state gate, resources, power, command ----------------------------------------------


def test_state_gate_includes_a_failed_reinstall(app, client, sim):
    owner = new_user(app, "gate@example.com")
    server = new_server(app, owner["id"])
    base = f"{CLIENT}/{server['identifier']}"
    assert client.get(base + "/resources").status_code == 200
    sim.set_server_state(server["id"], status="reinstall_failed")
    gated = client.get(base + "/resources")
    assert gated.status_code == 409
    assert errors_of(gated)[0] == {
        "code": "ServerStateConflictException",
        "status": "409",
        "detail": "This server has not yet completed its installation process, please try "
        "again later.",
    }
    details = client.get(base)
    assert details.status_code == 200 and details.json()["attributes"]["is_installing"] is True
    assert client.get(base + "/websocket").status_code == 200  # an admin may watch
    with as_user(sim, owner["id"]) as mine:
        assert mine.get(base + "/websocket").status_code == 409
    sim.set_server_state(server["id"], status="suspended")
    assert client.get(base + "/websocket").status_code == 409  # not when suspended
    stranger = new_user(app, "stranger@example.com")
    with as_user(sim, stranger["id"]) as other:
        hidden = other.get(base)
        assert hidden.status_code == 404
        assert (
            errors_of(hidden)[0]["detail"]
            == "The requested resource does not exist on this server."
        )


def test_server_object_resources_power_and_command(app, client, sim):
    owner = new_user(app, "power@example.com")
    server = new_server(app, owner["id"])
    base = f"{CLIENT}/{server['identifier']}"
    attrs = client.get(base).json()["attributes"]
    assert attrs["sftp_details"]["alias"] is None and attrs["limits"]["oom_killer"] is False
    offline = client.post(base + "/command", json={"command": "say hi"})
    assert offline.status_code == 204  # Wings' refusal is not checked
    assert fields(client.post(base + "/command", json={})) == {"command": "required"}
    assert fields(client.post(base + "/power", json={"signal": "explode"})) == {"signal": "in"}
    assert client.post(base + "/power", json={"signal": "start"}).status_code == 204
    running = client.get(base + "/resources").json()["attributes"]
    assert running["current_state"] == "running" and running["resources"]["memory_bytes"] > 0
    assert client.post(base + "/command", json={"command": "say hi"}).status_code == 204
    assert sim.server(server["id"]).console[-1].endswith("hi")
    # a subuser with only the console: an unknown signal is a 422, a known one a 403
    made = client.post(
        base + "/users", json={"email": "helper@example.com", "permissions": ["control.console"]}
    )
    helper_id = next(u["id"] for u in sim.snapshot()["users"] if u["email"] == "helper@example.com")
    assert made.status_code == 200
    with as_user(sim, helper_id) as helper:
        assert helper.post(base + "/power", json={"signal": "explode"}).status_code == 422
        assert helper.post(base + "/power", json={"signal": "stop"}).status_code == 403


def test_permissions_are_a_flat_list_and_ungranted_ones_are_dropped(app, client, sim):
    listed = client.get("/api/client/permissions").json()
    assert listed["object"] == "system_permissions"
    keys = listed["attributes"]["permissions"]
    assert isinstance(keys, list) and "database.view-password" in keys
    assert {"settings.description", "mount.read"} <= set(keys)
    assert "database.view_password" not in keys
    owner = new_user(app, "perm@example.com")
    server = new_server(app, owner["id"])
    base = f"{CLIENT}/{server['identifier']}"
    client.post(
        base + "/users",
        json={"email": "lead@example.com", "permissions": ["user.create", "control.console"]},
    )
    lead_id = next(u["id"] for u in sim.snapshot()["users"] if u["email"] == "lead@example.com")
    with as_user(sim, lead_id) as lead:
        made = lead.post(
            base + "/users",
            json={
                "email": "crew@example.com",
                "permissions": ["control.console", "file.delete", "database.view_password"],
            },
        )
        assert made.status_code == 200  # Pterodactyl: 403 for the one the lead lacks
        assert sorted(made.json()["attributes"]["permissions"]) == [
            "control.console",
            "websocket.connect",
        ]


def test_databases_have_integer_ids_and_scoped_bindings(app, client, sim):
    owner = new_user(app, "db@example.com")
    server = new_server(
        app, owner["id"], feature_limits={"databases": 3, "allocations": 1, "backups": 0}
    )
    other = new_server(
        app, owner["id"], feature_limits={"databases": 1, "allocations": 1, "backups": 0}
    )
    base = f"{CLIENT}/{server['identifier']}"
    created = client.post(base + "/databases", json={"database": "main", "remote": "%"})
    assert created.status_code == 200, created.text
    db = created.json()["attributes"]
    assert isinstance(db["id"], int)
    assert db["relationships"]["password"]["object"] == "database_password"
    assert client.post(f"{base}/databases/{db['id']}/rotate-password").status_code == 200
    foreign = client.delete(f"{CLIENT}/{other['identifier']}/databases/{db['id']}")
    assert foreign.status_code == 404  # scoped binding: the generic 404
    assert (
        errors_of(foreign)[0]["detail"]
        == "The requested resource could not be found on the server."
    )
    assert client.delete(f"{base}/databases/{db['id']}").status_code == 204


def test_settings_and_allocations(app, client, sim):
    owner = new_user(app, "settings@example.com")
    server = new_server(app, owner["id"], description="before")
    base = f"{CLIENT}/{server['identifier']}"
    assert (
        client.post(
            base + "/settings/rename", json={"name": "after", "description": "ignored"}
        ).status_code
        == 204
    )
    shown = app.get(f"{APP}/servers/{server['id']}").json()["attributes"]
    assert shown["name"] == "after" and shown["description"] == "before"
    assert (
        client.post(base + "/settings/description", json={"description": "new"}).status_code == 204
    )
    assert app.get(f"{APP}/servers/{server['id']}").json()["attributes"]["description"] == "new"
    # the primary allocation may be deleted (Pterodactyl refused)
    primary = server["allocation"]
    deleted = client.delete(f"{base}/network/allocations/{primary}")
    assert deleted.status_code == 204
    assert (
        app.get(f"{APP}/servers/{server['id']}?include=allocations").json()["attributes"][
            "relationships"
        ]["allocations"]["data"]
        == []
    )
    reinstall = client.post(base + "/settings/reinstall")
    assert reinstall.status_code == 202 and reinstall.json() == []


def test_websocket_credentials_and_console(app, client, sim):
    owner = new_user(app, "console@example.com")
    server = new_server(app, owner["id"])
    creds = client.get(f"{CLIENT}/{server['identifier']}/websocket").json()["data"]
    assert creds["socket"] == (f"ws://{urlsplit(sim.url).netloc}/api/servers/{server['uuid']}/ws")
    claims = claims_of(creds["token"])
    assert claims["scope"] == "websocket" and "user_id" not in claims
    assert len(claims["jti"]) == 64 and claims["exp"] - claims["iat"] == 600
    ws = Ws(creds["socket"])
    try:
        ws.send("auth", creds["token"])
        assert ws.receive() == {"event": "auth success"}
        ws.send("set state", "start")
        ws.until(lambda m: m == {"event": "status", "args": ["running"]})
    finally:
        ws.close()


# --- per-server throttles ----------------------------------------------------------------------


def test_per_server_resource_limits(app, client, sim):
    owner = new_user(app, "throttle@example.com")
    server = new_server(app, owner["id"])
    neighbour = new_server(app, owner["id"])
    ws = f"{CLIENT}/{server['identifier']}/websocket"
    codes = [client.get(ws).status_code for _ in range(3)]
    with as_user(sim, owner["id"]) as mine:  # all users of a server share its budget
        codes += [mine.get(ws).status_code for _ in range(3)]
    assert codes == [200] * 5 + [429]
    throttled = client.get(ws)
    assert throttled.status_code == 429 and 1 <= int(throttled.headers["Retry-After"]) <= 60
    assert errors_of(throttled)[0]["code"] == "ThrottleRequestsException"
    assert client.get(f"{CLIENT}/{neighbour['identifier']}/websocket").status_code == 200
    assert client.get(f"{CLIENT}/{server['identifier']}").status_code == 200  # other routes
    sim.set_switches(resource_limits={"schedule-create": [1, 30]})
    schedule = {
        "name": "nightly",
        "minute": "0",
        "hour": "3",
        "day_of_month": "*",
        "month": "*",
        "day_of_week": "*",
        "is_active": True,
    }
    base = f"{CLIENT}/{neighbour['identifier']}"
    assert client.post(base + "/schedules", json=schedule).status_code == 200
    again = client.post(base + "/schedules", json=schedule)
    assert again.status_code == 429 and int(again.headers["Retry-After"]) <= 30
    bad = httpx.post(
        f"{sim.url}/_simulator/switches", json={"resource_limits": {"nonsense": [1, 1]}}
    )
    assert bad.status_code == 400 and "nonsense" in bad.json()["error"]


# --- Wings faults ------------------------------------------------------------------------------


def test_wings_unreachable(app, client, sim):
    owner = new_user(app, "down@example.com")
    server = new_server(app, owner["id"])
    url, base = f"{APP}/servers/{server['id']}", f"{CLIENT}/{server['identifier']}"
    sim.set_switches(wings_down=True)
    create = app.post(f"{APP}/servers", json=_body(app, owner, "lost"))
    assert create.status_code == 500
    assert errors_of(create)[0] == {
        "code": "ConnectionException",
        "status": "500",
        "detail": "An unexpected error was encountered while processing this request, "
        "please try again.",
    }
    assert app.get(f"{APP}/servers/external/lost").status_code == 404  # force-deleted
    assert app.post(f"{url}/suspend").status_code == 500
    assert app.get(url).json()["attributes"]["status"] == "suspended"  # kept, no rollback
    assert app.post(f"{url}/suspend").status_code == 204  # and a retry is a no-op
    assert app.post(f"{url}/unsuspend").status_code == 500
    assert app.post(f"{url}/reinstall").status_code == 500
    assert app.get(url).json()["attributes"]["status"] is None  # rolled back
    assert app.patch(f"{url}/build", json=build_body(server)).status_code == 200  # logged
    missing = client.get(base + "/resources")
    assert missing.status_code == 200
    assert missing.json()["attributes"]["current_state"] == "missing"
    assert client.post(base + "/power", json={"signal": "start"}).status_code == 500
    assert client.post(base + "/command", json={"command": "x"}).status_code == 500
    assert client.get(base + "/files/list").status_code == 500
    assert app.delete(url).status_code == 500
    assert app.get(url).status_code == 200  # nothing deleted
    assert app.delete(f"{url}/force").status_code == 204


def test_wings_answers_an_error(app, client, sim):
    owner = new_user(app, "error@example.com")
    server = new_server(app, owner["id"])
    url, base = f"{APP}/servers/{server['id']}", f"{CLIENT}/{server['identifier']}"
    sim.set_switches(wings_error=True)
    create = app.post(f"{APP}/servers", json=_body(app, owner, "half"))
    assert create.status_code == 500 and errors_of(create)[0]["code"] == "RequestException"
    kept = app.get(f"{APP}/servers/external/half")
    assert kept.status_code == 200 and kept.json()["attributes"]["status"] == "installing"
    build = app.patch(
        f"{url}/build",
        json=build_body(
            server, limits={"memory": 4096, "swap": 0, "disk": 4096, "io": 500, "cpu": 100}
        ),
    )
    assert build.status_code == 500  # after saving
    assert app.get(url).json()["attributes"]["limits"]["memory"] == 4096
    assert client.post(base + "/command", json={"command": "x"}).status_code == 204
    assert client.post(base + "/power", json={"signal": "start"}).status_code == 500
    assert client.get(base + "/resources").json()["attributes"]["current_state"] == "missing"
    assert app.delete(url).status_code == 204  # a Wings error on delete is ignored
    assert app.get(url).status_code == 404
    sim.set_switches(wings_error=False)
    assert sim.server(kept.json()["attributes"]["id"]).status == "installing"  # for ever


def _body(app, owner: dict, external_id: str) -> dict:
    from tests.pelican.panel import server_body

    return server_body(app, owner["id"], external_id=external_id)


# --- control endpoints, fixture, CLI -----------------------------------------------------------


def test_control_endpoints_and_request_log(app, sim):
    url = sim.url
    switched = httpx.post(f"{url}/_simulator/switches", json={"wings_error": True})
    assert switched.status_code == 200 and switched.json()["wings_error"] is True
    assert "two_factor_required" not in switched.json()  # no 2FA rule on Pelican's API
    state = httpx.get(f"{url}/_simulator/state").json()
    assert state["client_key"].startswith("pacc_")
    assert state["counts"]["nests"] == 0 and state["counts"]["locations"] == 0
    assert [n["tags"] for n in state["nodes"]] == [["sim-eu"], ["sim-us"], ["sim-eu"]]
    assert "location_id" not in state["nodes"][0]
    key = httpx.post(
        f"{url}/_simulator/keys",
        json={"user_id": 1, "type": "application", "permissions": {"node": 1}},
    ).json()["key"]
    assert key.startswith("papp_")
    assert (
        httpx.get(
            f"{url}{APP}/nodes", headers={"Authorization": f"Bearer {key}", "Accept": JSON}
        ).status_code
        == 200
    )
    sim.clear_requests()
    app.get(f"{APP}/nests")
    assert [(r["method"], r["path"], r["status"]) for r in sim.requests] == [
        ("GET", f"{APP}/nests", 404)
    ]
    assert "Pelican simulator" in httpx.get(url + "/").text


def test_the_public_fixture(pelican_simulator):
    response = httpx.get(
        f"{pelican_simulator.url}{APP}/eggs",
        headers={"Authorization": f"Bearer {pelican_simulator.application_key}", "Accept": JSON},
    )
    assert response.status_code == 200 and len(response.json()["data"]) == 3


def test_the_cli_runs_a_pelican_panel():
    from click.testing import CliRunner

    from simulators.cli import simulator_group
    from simulators.pelican import PelicanSimulator
    from simulators.pterodactyl.cli import run_forever

    lines: list[str] = []
    ready, stop = threading.Event(), threading.Event()
    key = "papp_" + "a" * 43
    thread = threading.Thread(
        target=run_forever,
        args=("127.0.0.1", 0),
        daemon=True,
        kwargs={
            "echo": lines.append,
            "ready": ready,
            "stop": stop,
            "application_key": key,
            "simulator_class": PelicanSimulator,
            "label": "Pelican",
        },
    )
    thread.start()
    assert ready.wait(5)
    assert lines[0].startswith("Pelican simulator listening on ")
    url = lines[0].rsplit(" ", 1)[1]
    assert (
        httpx.get(
            url + f"{APP}/eggs", headers={"Authorization": f"Bearer {key}", "Accept": JSON}
        ).status_code
        == 200
    )
    stop.set()
    thread.join(5)
    assert not thread.is_alive()
    runner = CliRunner()
    assert "pelican" in runner.invoke(simulator_group, ["--help"]).output
    bad = runner.invoke(simulator_group, ["pelican", "--application-key", "ptla_" + "a" * 43])
    assert bad.exit_code == 2 and "starting with papp_" in bad.output


@pytest.mark.parametrize("path", ["/api/application/nests", "/api/application/locations/1"])
def test_pterodactyl_only_routes_are_unknown_even_without_a_key(sim, path):
    response = httpx.get(sim.url + path, headers={"Accept": JSON})
    assert response.status_code == 404
    assert errors_of(response)[0]["detail"].startswith("The route ")


def test_hostile_requests_are_refused_before_they_cost_anything(app, client, sim):
    owner = new_user(app, "victim@example.com")
    server = new_server(app, owner["id"])
    ws = f"{CLIENT}/{server['identifier']}/websocket"
    stranger = new_user(app, "hammer@example.com")
    with as_user(sim, stranger["id"]) as other:
        for _ in range(10):  # a stranger cannot spend the server's websocket budget
            assert other.get(ws).status_code == 404
    assert client.get(ws).status_code == 200
    base = f"{CLIENT}/{server['identifier']}"
    for ref in ("abc", "1 OR 1", "-1", "99999"):
        assert client.delete(f"{base}/databases/{ref}").status_code == 404
        assert client.post(f"{base}/schedules/{ref}/execute").status_code == 404
    # an unknown server is a 404 before a malformed body is looked at
    malformed = client.post(
        f"{CLIENT}/nosuch00/power", content=b"{not json", headers={"Content-Type": JSON}
    )
    assert malformed.status_code == 404
    bad_json = client.post(base + "/power", content=b"{not json", headers={"Content-Type": JSON})
    assert bad_json.status_code == 400
    assert errors_of(bad_json)[0]["code"] == "BadRequestHttpException"
    assert fields(
        app.patch(f"{APP}/servers/{server['id']}/build", json=build_body(server, allocation="abc"))
    ) == {"allocation": "exists"}
    for wrong in ({"websocket": "fast"}, {"websocket": [1]}, "all"):
        refused = httpx.post(f"{sim.url}/_simulator/switches", json={"resource_limits": wrong})
        assert refused.status_code == 400
    assert sim.switches["resource_limits"]["websocket"] == [5, 60]
