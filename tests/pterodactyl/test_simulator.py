"""The Pterodactyl simulator over real HTTP, item by item of docs/reference/pterodactyl_api.md
§9 "Checklist for a faithful fake" and the quirks of its §7 "Behaviours a provisioning client
must handle"."""

from __future__ import annotations

import base64
import json
import os
import socket
import threading
import time
from urllib.parse import urlsplit

import httpx
import pytest

from simulators.pterodactyl import Simulator

JSON = "application/json"
OMIT = object()  # a server_body override that leaves the key out


@pytest.fixture(scope="module")
def running_simulator():
    with Simulator(install_seconds=0, power_seconds=0, backup_seconds=0) as sim:
        yield sim


@pytest.fixture
def simulator(running_simulator):
    """A seeded simulator whose installs, power changes and backups take no time (reset to
    its seed data and default switches for each test)."""
    running_simulator.reset()
    return running_simulator


@pytest.fixture
def app(simulator):
    with httpx.Client(
        base_url=simulator.url,
        timeout=10,
        headers={"Authorization": f"Bearer {simulator.application_key}", "Accept": JSON},
    ) as http:
        yield http


@pytest.fixture
def client(simulator):
    with httpx.Client(
        base_url=simulator.url,
        timeout=10,
        headers={"Authorization": f"Bearer {simulator.client_key}", "Accept": JSON},
    ) as http:
        yield http


def errors_of(response: httpx.Response) -> list[dict]:
    return response.json()["errors"]


def fields(response: httpx.Response) -> dict[str, str]:
    """source_field -> rule of a 422."""
    assert response.status_code == 422, response.text
    return {e["meta"]["source_field"]: e["meta"]["rule"] for e in errors_of(response)}


def new_user(app, email: str, username: str | None = None, **extra) -> dict:
    body = {
        "email": email,
        "username": username or email.split("@")[0].replace("+", "-"),
        "first_name": "Test",
        "last_name": "User",
        **extra,
    }
    response = app.post("/api/application/users", json=body)
    assert response.status_code == 201, response.text
    return response.json()["attributes"]


def paper(app) -> dict:
    egg = app.get("/api/application/nests/1/eggs/1?include=variables").json()["attributes"]
    assert egg["name"] == "Paper"
    return egg


def server_body(app, owner: int, **overrides) -> dict:
    egg = paper(app)
    env = {
        v["attributes"]["env_variable"]: v["attributes"]["default_value"]
        for v in egg["relationships"]["variables"]["data"]
    }
    body = {
        "name": "survival",
        "user": owner,
        "egg": egg["id"],
        "docker_image": egg["docker_image"],
        "startup": egg["startup"],
        "environment": env,
        "limits": {"memory": 1024, "swap": 0, "disk": 4096, "io": 500, "cpu": 100},
        "feature_limits": {"databases": 1, "allocations": 2, "backups": 2},
        "deploy": {"locations": [1], "dedicated_ip": False, "port_range": []},
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not OMIT}


def new_server(app, owner: int, **overrides) -> dict:
    response = app.post("/api/application/servers", json=server_body(app, owner, **overrides))
    assert response.status_code == 201, response.text
    return response.json()["attributes"]


# --- envelope, pagination, includes, filters ------------------------------------------------


def test_lists_paginate_with_page_only_links(app, simulator):
    for n in range(7):
        new_user(app, f"pager{n}@example.com")
    first = app.get("/api/application/users", params={"per_page": 3}).json()
    assert first["object"] == "list" and len(first["data"]) == 3
    pagination = first["meta"]["pagination"]
    assert {
        k: pagination[k] for k in ("total", "count", "per_page", "current_page", "total_pages")
    } == {"total": 8, "count": 3, "per_page": 3, "current_page": 1, "total_pages": 3}
    assert pagination["links"] == {"next": f"{simulator.url}/api/application/users?page=2"}
    last = app.get("/api/application/users?per_page=3&page=3").json()["meta"]["pagination"]
    assert last["count"] == 2 and list(last["links"]) == ["previous"]
    beyond = app.get("/api/application/users?per_page=3&page=9").json()
    assert beyond["data"] == [] and beyond["meta"]["pagination"]["current_page"] == 9
    single = app.get("/api/application/users").json()["meta"]["pagination"]
    assert single["links"] == {} and single["per_page"] == 50 and single["total_pages"] == 1
    assert (
        app.get("/api/application/users?per_page=0").json()["meta"]["pagination"]["per_page"] == 15
    )
    empty = app.get("/api/application/users?filter[email]=nobody").json()
    assert empty["data"] == [] and empty["meta"]["pagination"]["total_pages"] == 1
    # eggs of a nest are a plain list without meta
    eggs = app.get("/api/application/nests/1/eggs").json()
    assert eggs["object"] == "list" and "meta" not in eggs
    assert [e["attributes"]["name"] for e in eggs["data"]] == ["Paper", "Vanilla Minecraft"]


def test_includes_go_under_relationships(app, simulator):
    owner = new_user(app, "inc@example.com")
    server = new_server(app, owner["id"])
    body = app.get(
        f"/api/application/servers/{server['id']}",
        params={"include": "allocations,user,variables,egg,nest,location,node,bogus"},
    ).json()
    rel = body["attributes"]["relationships"]
    assert set(rel) == {"allocations", "user", "variables", "egg", "nest", "location", "node"}
    assert rel["user"] == {"object": "user", "attributes": rel["user"]["attributes"]}
    assert rel["user"]["attributes"]["email"] == "inc@example.com"
    alloc = rel["allocations"]["data"][0]
    assert alloc["object"] == "allocation" and alloc["attributes"]["assigned"] is True
    assert alloc["attributes"]["id"] == server["allocation"]
    variable = rel["variables"]["data"][0]
    assert variable["object"] == "server_variable"
    assert variable["attributes"]["created_at"].endswith(".000000Z")
    assert rel["location"]["attributes"]["short"] == "sim-eu"
    # nested includes, and the include=transfer 500
    nested = app.get(f"/api/application/users/{owner['id']}?include=servers.allocations").json()
    servers = nested["attributes"]["relationships"]["servers"]["data"]
    assert servers[0]["attributes"]["relationships"]["allocations"]["data"]
    broken = app.get(f"/api/application/servers/{server['id']}?include=transfer")
    assert broken.status_code == 500 and errors_of(broken)[0]["status"] == "500"
    # egg variables are the raw columns, with their rules
    egg = paper(app)
    names = {
        v["attributes"]["env_variable"]: v["attributes"]
        for v in egg["relationships"]["variables"]["data"]
    }
    assert names["MAX_PLAYERS"]["rules"] == "required|integer|between:1,100"
    assert names["DL_PATH"]["user_viewable"] is False
    assert names["BUILD_NUMBER"]["user_editable"] is False
    assert app.get("/api/application/nests/2/eggs/1").status_code == 404  # egg of another nest
    # a key without READ on users sees the include as a null resource
    limited = simulator.create_key(1, "application", {"r_servers": 1})
    seen = httpx.get(
        f"{simulator.url}/api/application/servers/{server['id']}?include=user",
        headers={"Authorization": f"Bearer {limited}", "Accept": JSON},
    ).json()
    assert seen["attributes"]["relationships"]["user"] == {
        "object": "null_resource",
        "attributes": None,
    }


def test_filters_are_partial_and_unknown_ones_refused(app):
    new_user(app, "bob@x.io", "bob")
    new_user(app, "jbob@x.io", "jbob")
    new_user(app, "bobby@y.io", "bobby", external_id="cust-10")
    emails = [
        u["attributes"]["email"]
        for u in app.get("/api/application/users?filter[email]=bob@x.io").json()["data"]
    ]
    assert emails == ["bob@x.io", "jbob@x.io"]  # partial: the client must compare exactly
    assert len(app.get("/api/application/users?filter[email]=BOB@X.IO").json()["data"]) == 2
    wildcard = app.get("/api/application/users?filter[username]=b_b").json()["data"]
    assert {u["attributes"]["username"] for u in wildcard} == {"bob", "jbob", "bobby"}
    either = app.get("/api/application/users?filter[email]=jbob,y.io").json()["data"]
    assert {u["attributes"]["username"] for u in either} == {"jbob", "bobby"}
    unknown = app.get("/api/application/users?filter[foo]=1")
    assert unknown.status_code == 400
    assert errors_of(unknown)[0] == {
        "code": "InvalidFilterQuery",
        "status": "400",
        "detail": "Requested filter(s) `foo` are not allowed. Allowed filter(s) are "
        "`email, uuid, username, external_id`.",
    }
    assert (
        app.get("/api/application/users?sort=email").json()["errors"][0]["code"]
        == "InvalidSortQuery"
    )
    ids = [u["attributes"]["id"] for u in app.get("/api/application/users?sort=-id").json()["data"]]
    assert ids == sorted(ids, reverse=True)
    # exact look-ups by external id
    assert (
        app.get("/api/application/users/external/cust-10").json()["attributes"]["username"]
        == "bobby"
    )
    assert app.get("/api/application/users/external/cust-1").status_code == 404


def test_allocation_server_id_filter(app):
    owner = new_user(app, "alloc@example.com")
    server = new_server(app, owner["id"])
    mine = app.get(f"/api/application/nodes/1/allocations?filter[server_id]={server['id']}")
    assert [a["attributes"]["id"] for a in mine.json()["data"]] == [server["allocation"]]
    for value in ("false", "0", ""):
        free = app.get(
            f"/api/application/nodes/1/allocations?per_page=500&filter[server_id]={value}"
        ).json()["data"]
        assert free and all(not a["attributes"]["assigned"] for a in free)
        assert server["allocation"] not in {a["attributes"]["id"] for a in free}
    port = app.get("/api/application/nodes/1/allocations?filter[port]=25566").json()["data"]
    assert [a["attributes"]["port"] for a in port] == [25566]


# --- errors and authentication ---------------------------------------------------------------


def test_error_shapes_for_routes_verbs_and_models(app, simulator):
    missing = app.get("/api/application/users/999")
    assert missing.status_code == 404
    assert missing.json() == {
        "errors": [
            {
                "code": "NotFoundHttpException",
                "status": "404",
                "detail": "The requested resource could not be found on the server.",
            }
        ]
    }
    route = app.get("/api/application/foo")
    assert errors_of(route)[0]["detail"] == "The route api/application/foo could not be found."
    verb = app.put("/api/application/users")
    assert verb.status_code == 405
    assert errors_of(verb)[0]["detail"] == (
        "The PUT method is not supported for route "
        "api/application/users. Supported methods: GET, "
        "HEAD, POST."
    )
    malformed = app.post("/api/application/users", content=b"{nope", headers={"Content-Type": JSON})
    assert malformed.status_code == 400
    assert errors_of(malformed)[0]["detail"].startswith(
        "The JSON data passed in the request appears to be malformed"
    )


def test_authentication_and_key_types(app, client, simulator):
    url = simulator.url
    anonymous = httpx.get(f"{url}/api/application/users", headers={"Accept": JSON})
    assert anonymous.status_code == 401
    assert anonymous.json() == {
        "errors": [
            {"code": "AuthenticationException", "status": "401", "detail": "Unauthenticated."}
        ]
    }
    bogus = httpx.get(
        f"{url}/api/application/users",
        headers={"Accept": JSON, "Authorization": "Bearer ptla_" + "x" * 43},
    )
    assert bogus.status_code == 401
    no_accept = httpx.get(f"{url}/api/application/users", follow_redirects=False)
    assert no_accept.status_code == 302 and no_accept.headers["location"].endswith("/auth/login")
    html = httpx.get(
        f"{url}/api/application/users/999",
        follow_redirects=False,
        headers={"Authorization": f"Bearer {simulator.application_key}"},
    )
    assert html.status_code == 404 and html.headers["content-type"].startswith("text/html")
    # an application key on the client API
    wrong = app.get("/api/client")
    assert wrong.status_code == 403
    assert errors_of(wrong)[0] == {
        "code": "AccessDeniedHttpException",
        "status": "403",
        "detail": "You are attempting to use an application API key on an endpoint that "
        "requires a client API key.",
    }
    # a client key of a non-admin on the application API
    user = new_user(app, "plain@example.com")
    plain = simulator.create_key(user["id"], "client")
    refused = httpx.get(
        f"{url}/api/application/users", headers={"Authorization": f"Bearer {plain}", "Accept": JSON}
    )
    assert refused.status_code == 403
    assert errors_of(refused)[0]["detail"] == (
        "This account does not have permission to access the API."
    )
    # the root admin's client key works on the application API (a panel quirk)
    assert client.get("/api/application/users").status_code == 200
    # an application key without the needed bit
    read_only = simulator.create_key(1, "application", {"r_users": 1})
    headers = {"Authorization": f"Bearer {read_only}", "Accept": JSON}
    assert httpx.get(f"{url}/api/application/users", headers=headers).status_code == 200
    denied = httpx.post(f"{url}/api/application/users", headers=headers, json={})
    assert (
        denied.status_code == 403
        and errors_of(denied)[0]["detail"] == "This action is unauthorized."
    )
    assert httpx.get(f"{url}/api/application/nodes", headers=headers).status_code == 403
    # an IP allow-list that does not include us
    fenced = simulator.create_key(1, "client", allowed_ips=["203.0.113.0/24"])
    ip = httpx.get(
        f"{url}/api/client", headers={"Authorization": f"Bearer {fenced}", "Accept": JSON}
    )
    assert ip.status_code == 403 and "127.0.0.1" in errors_of(ip)[0]["detail"]
    # 2FA enforced for admins, and the admin has none
    simulator.set_switches(two_factor_required=1)
    tfa = app.get("/api/application/users")
    assert tfa.status_code == 400 and errors_of(tfa)[0]["code"] == "TwoFactorAuthRequiredException"


# --- users ----------------------------------------------------------------------------------


def test_user_validation_and_duplicates(app):
    new_user(app, "Alice@Example.com", "alice", external_id="cust-1")
    duplicate = app.post(
        "/api/application/users",
        json={
            "email": "alice@example.COM",
            "username": "ALICE",
            "first_name": "A",
            "last_name": "B",
            "external_id": "cust-1",
        },
    )
    assert fields(duplicate) == {"email": "unique", "external_id": "unique", "username": "unique"}
    details = {e["meta"]["source_field"]: e["detail"] for e in errors_of(duplicate)}
    assert details["email"] == "The email has already been taken."
    assert details["external_id"] == "The Third Party Identifier has already been taken."
    bad = app.post(
        "/api/application/users", json={"email": "not-an-email", "username": "-x", "language": "de"}
    )
    assert fields(bad) == {
        "email": "email",
        "username": "p_username",
        "language": "in",
        "first_name": "required",
        "last_name": "required",
    }
    made = new_user(app, "carol@example.com", "Carol.Smith")
    assert made["username"] == "carol.smith"


def test_user_patch_needs_every_field(app):
    user = new_user(app, "dave@example.com", "dave", external_id="cust-7")
    partial = app.patch(f"/api/application/users/{user['id']}", json={"email": "d@x.io"})
    assert set(fields(partial)) == {"username", "first_name", "last_name"}
    full = app.patch(
        f"/api/application/users/{user['id']}",
        json={
            "email": "dave2@example.com",
            "username": "dave",
            "first_name": "Dave",
            "last_name": "Jones",
        },
    ).json()["attributes"]
    assert full["email"] == "dave2@example.com" and full["external_id"] == "cust-7"


def test_deleting_a_user_with_servers_is_refused(app):
    owner = new_user(app, "owner@example.com")
    server = new_server(app, owner["id"])
    refused = app.delete(f"/api/application/users/{owner['id']}")
    assert refused.status_code == 400
    assert errors_of(refused)[0] == {
        "code": "DisplayException",
        "status": "400",
        "detail": "Cannot delete a user with active servers attached to their account. Please "
        "delete their servers before continuing.",
    }
    assert app.delete(f"/api/application/servers/{server['id']}").status_code == 204
    assert app.delete(f"/api/application/servers/{server['id']}").status_code == 404
    assert app.delete(f"/api/application/users/{owner['id']}").status_code == 204
    assert app.get(f"/api/application/users/{owner['id']}").status_code == 404


# --- servers --------------------------------------------------------------------------------


def test_create_validation_and_variable_rules(app):
    owner = new_user(app, "valid@example.com")
    empty = app.post("/api/application/servers", json={})
    assert fields(empty) == {
        "name": "required",
        "user": "required",
        "egg": "required",
        "docker_image": "required",
        "startup": "required",
        "environment": "present",
        "limits": "required",
        "limits.memory": "required",
        "limits.swap": "required",
        "limits.disk": "required",
        "limits.io": "required",
        "limits.cpu": "required",
        "feature_limits": "required",
        "feature_limits.databases": "present",
        "feature_limits.backups": "present",
        "allocation.default": "required",
    }
    assert [
        e["meta"]["source_field"] for e in errors_of(app.post("/api/application/servers", json={}))
    ][-1] == "allocation.default"
    missing_limits = server_body(
        app, owner["id"], limits={"memory": 1024}, feature_limits={"allocations": 1}
    )
    assert fields(app.post("/api/application/servers", json=missing_limits)) == {
        "limits.swap": "required",
        "limits.disk": "required",
        "limits.io": "required",
        "limits.cpu": "required",
        "feature_limits.databases": "present",
        "feature_limits.backups": "present",
    }
    # variables: omitted required ones fail, numbers fail string rules, rules apply
    body = server_body(
        app, owner["id"], environment={"MAX_PLAYERS": "500", "MINECRAFT_VERSION": 12}
    )
    response = app.post("/api/application/servers", json=body)
    assert fields(response) == {
        "environment.SERVER_JARFILE": "required",
        "environment.BUILD_NUMBER": "required",
        "environment.MINECRAFT_VERSION": "string",
        "environment.MAX_PLAYERS": "between",
    }
    details = {e["meta"]["source_field"]: e["detail"] for e in errors_of(response)}
    assert details["environment.SERVER_JARFILE"] == (
        "The Server Jar File variable field is required."
    )
    assert details["environment.MAX_PLAYERS"] == (
        "The Max Players variable must be between 1 and 100."
    )
    null_deploy = server_body(app, owner["id"], deploy=None)
    assert fields(app.post("/api/application/servers", json=null_deploy))["deploy"] == "required"


def test_create_blanks_omitted_optional_variables_and_starts_installing(app, client, simulator):
    owner = new_user(app, "blank@example.com")
    env = {"SERVER_JARFILE": "paper.jar", "BUILD_NUMBER": "latest", "MAX_PLAYERS": "12"}
    server = new_server(
        app,
        owner["id"],
        environment=env,
        external_id="order-1",
        allocation={"default": 5},
        deploy=OMIT,
        description=None,
    )
    assert server["status"] == "installing" and server["container"]["installed"] == 0
    assert server["allocation"] == 5 and server["node"] == 1 and server["nest"] == 1
    environment = server["container"]["environment"]
    assert environment["MINECRAFT_VERSION"] == ""  # not the default "latest"
    assert environment["SERVER_JARFILE"] == "paper.jar"
    assert environment["P_SERVER_LOCATION"] == "sim-eu"
    assert server["external_id"] == "order-1" and server["description"] == ""
    # the allocation is taken now, and the external id too
    taken = app.post(
        "/api/application/servers",
        json=server_body(app, owner["id"], allocation={"default": 5}, deploy=OMIT),
    )
    assert fields(taken) == {"allocation.default": "exists"}
    assert errors_of(taken)[0]["detail"] == "The selected allocation.default is invalid."
    again = app.post(
        "/api/application/servers", json=server_body(app, owner["id"], external_id="order-1")
    )
    assert fields(again) == {"external_id": "unique"}
    assert errors_of(again)[0]["detail"] == "The external id has already been taken."
    found = app.get("/api/application/servers/external/order-1").json()["attributes"]
    assert found["id"] == server["id"]
    assert app.get("/api/application/servers/external/order-2").status_code == 404
    # installs finish by the next request (install_seconds=0)
    assert (
        app.get(f"/api/application/servers/{server['id']}").json()["attributes"]["status"] is None
    )


def test_patch_bodies_replace(app):
    owner = new_user(app, "patch@example.com")
    other = new_user(app, "other@example.com")
    server = new_server(app, owner["id"], external_id="ext-9", description="keep me")
    sid = server["id"]
    details = app.patch(
        f"/api/application/servers/{sid}/details", json={"name": "renamed", "user": other["id"]}
    ).json()["attributes"]
    assert details["external_id"] is None and details["description"] == ""
    assert details["user"] == other["id"] and details["name"] == "renamed"
    bad = app.patch(f"/api/application/servers/{sid}/details", json={"user": 999})
    assert {e["detail"] for e in errors_of(bad)} == {
        "The Server Name field is required.",
        "The selected User ID is invalid.",
    }
    # startup: omitted variables are blanked; {} leaves them alone
    startup = {
        "startup": "java -jar {{SERVER_JARFILE}}",
        "egg": 1,
        "image": "img:1",
        "skip_scripts": False,
    }
    response = app.patch(
        f"/api/application/servers/{sid}/startup",
        json={
            **startup,
            "environment": {"SERVER_JARFILE": "a.jar", "BUILD_NUMBER": "7", "MAX_PLAYERS": "5"},
        },
    )
    env = response.json()["attributes"]["container"]["environment"]
    assert env["MINECRAFT_VERSION"] == "" and env["SERVER_JARFILE"] == "a.jar"
    kept = app.patch(
        f"/api/application/servers/{sid}/startup", json={**startup, "environment": {}}
    ).json()["attributes"]
    assert kept["container"]["environment"]["SERVER_JARFILE"] == "a.jar"
    assert kept["container"]["image"] == "img:1"
    assert fields(app.patch(f"/api/application/servers/{sid}/startup", json={})) == {
        "startup": "required",
        "environment": "present",
        "egg": "required",
        "image": "required",
        "skip_scripts": "present",
    }
    # build: allocation and feature_limits required; omitted allocations limit -> null
    assert set(
        fields(app.patch(f"/api/application/servers/{sid}/build", json={"limits": {"memory": 1}}))
    ) >= {"allocation", "feature_limits", "limits.swap"}
    build = app.patch(
        f"/api/application/servers/{sid}/build",
        json={
            "allocation": server["allocation"],
            "limits": {"memory": 2048, "swap": 0, "disk": 8192, "io": 500, "cpu": 200},
            "feature_limits": {"databases": None, "backups": None},
        },
    ).json()["attributes"]
    assert build["limits"]["memory"] == 2048 and build["limits"]["cpu"] == 200
    assert build["feature_limits"] == {"databases": None, "allocations": None, "backups": 0}
    legacy = app.patch(
        f"/api/application/servers/{sid}/build",
        json={
            "allocation": server["allocation"],
            "memory": 512,
            "swap": 0,
            "disk": 1024,
            "io": 500,
            "cpu": 50,
            "feature_limits": {"databases": 1, "backups": 1, "allocations": 3},
        },
    ).json()["attributes"]
    assert legacy["limits"]["memory"] == 512 and legacy["feature_limits"]["allocations"] == 3
    foreign = app.patch(
        f"/api/application/servers/{sid}/build",
        json={
            "allocation": 40,
            "memory": 512,
            "swap": 0,
            "disk": 1024,
            "io": 500,
            "cpu": 50,
            "feature_limits": {"databases": 1, "backups": 1},
        },
    )
    assert foreign.status_code == 400
    assert errors_of(foreign)[0]["detail"] == (
        "The requested default allocation is not currently assigned to this server."
    )


def test_suspend_unsuspend_reinstall(app, client, simulator):
    owner = new_user(app, "susp@example.com")
    server = new_server(app, owner["id"])
    sid = server["id"]
    for _ in range(2):  # idempotent
        assert app.post(f"/api/application/servers/{sid}/suspend").status_code == 204
    view = app.get(f"/api/application/servers/{sid}").json()["attributes"]
    assert view["status"] == "suspended" and view["suspended"] is True
    assert view["container"]["installed"] == 1
    for _ in range(2):
        assert app.post(f"/api/application/servers/{sid}/unsuspend").status_code == 204
    assert app.get(f"/api/application/servers/{sid}").json()["attributes"]["status"] is None
    simulator.set_switches(install_seconds=30)
    assert app.post(f"/api/application/servers/{sid}/reinstall").status_code == 204
    assert app.get(f"/api/application/servers/{sid}").json()["attributes"]["status"] == "installing"
    simulator.set_switches(install_result="failed")
    simulator.finish_install(sid, success=False)
    assert (
        app.get(f"/api/application/servers/{sid}").json()["attributes"]["status"]
        == "reinstall_failed"
    )
    simulator.set_server_state(sid, transferring=True)
    conflict = app.post(f"/api/application/servers/{sid}/suspend")
    assert conflict.status_code == 409 and errors_of(conflict)[0]["code"] == "ConflictHttpException"


def test_deploy_without_room_or_ports(app, simulator):
    owner = new_user(app, "deploy@example.com")
    huge = server_body(
        app, owner["id"], limits={"memory": 10_000_000, "swap": 0, "disk": 1, "io": 500, "cpu": 0}
    )
    no_node = app.post("/api/application/servers", json=huge)
    assert no_node.status_code == 400 and errors_of(no_node)[0]["code"] == "NoViableNodeException"
    deployable = app.get("/api/application/nodes/deployable?memory=10000000&disk=1")
    assert deployable.status_code == 400
    fitting = app.get(
        "/api/application/nodes/deployable?memory=1024&disk=1024&location_ids[]=2"
    ).json()
    assert "meta" not in fitting
    assert [n["attributes"]["name"] for n in fitting["data"]] == ["sim-node-2"]  # public only
    assert fields(app.get("/api/application/nodes/deployable")) == {
        "memory": "required",
        "disk": "required",
    }
    ports = server_body(
        app,
        owner["id"],
        deploy={"locations": [], "dedicated_ip": False, "port_range": ["1000-1100"]},
    )
    none_free = app.post("/api/application/servers", json=ports)
    assert (
        none_free.status_code == 400
        and errors_of(none_free)[0]["code"] == "NoViableAllocationException"
    )
    ranged = new_server(
        app,
        owner["id"],
        deploy={"locations": [2], "dedicated_ip": False, "port_range": ["27015-27020"]},
    )
    assert ranged["node"] == 2
    # the no_allocations switch: nothing is free anywhere
    simulator.set_switches(no_allocations=True)
    deploy = app.post("/api/application/servers", json=server_body(app, owner["id"]))
    assert deploy.status_code == 400
    assert errors_of(deploy)[0]["detail"] == (
        "No allocations satisfying the requirements for automatic deployment were found."
    )
    explicit = app.post(
        "/api/application/servers",
        json=server_body(app, owner["id"], deploy=OMIT, allocation={"default": 7}),
    )
    assert fields(explicit) == {"allocation.default": "exists"}
    assert app.get("/api/application/nodes/1/allocations?filter[server_id]=0").json()["data"] == []
    simulator.set_switches(no_allocations=False)
    assert (
        app.post("/api/application/servers", json=server_body(app, owner["id"])).status_code == 201
    )


# --- switches: wings down, throttling, failures, delays -----------------------------------------


def test_wings_down(app, client, simulator):
    owner = new_user(app, "wings@example.com")
    server = new_server(app, owner["id"], start_on_completion=True)
    ident = server["identifier"]
    simulator.set_switches(wings_down=True)
    free_before = simulator.snapshot()["nodes"][0]["free_allocations"]
    create = app.post(
        "/api/application/servers", json=server_body(app, owner["id"], external_id="lost")
    )
    assert create.status_code == 504
    assert errors_of(create)[0] == {
        "code": "DaemonConnectionException",
        "status": "504",
        "detail": "Could not establish a connection to the machine running this server. "
        "Please try again.",
    }
    assert app.get("/api/application/servers/external/lost").status_code == 404
    assert simulator.snapshot()["nodes"][0]["free_allocations"] == free_before
    assert app.post(f"/api/application/servers/{server['id']}/suspend").status_code == 504
    assert (
        app.get(f"/api/application/servers/{server['id']}").json()["attributes"]["status"] is None
    )  # rolled back
    for call in (
        lambda: client.get(f"/api/client/servers/{ident}/resources"),
        lambda: client.post(f"/api/client/servers/{ident}/power", json={"signal": "stop"}),
        lambda: client.post(f"/api/client/servers/{ident}/command", json={"command": "list"}),
    ):
        assert call().status_code == 504
    assert app.delete(f"/api/application/servers/{server['id']}").status_code == 504
    build = app.patch(
        f"/api/application/servers/{server['id']}/build",
        json={
            "allocation": server["allocation"],
            "memory": 512,
            "swap": 0,
            "disk": 1024,
            "io": 500,
            "cpu": 50,
            "feature_limits": {"databases": 1, "backups": 1},
        },
    )
    assert build.status_code == 200  # a Wings failure on build sync is only logged
    assert app.delete(f"/api/application/servers/{server['id']}/force").status_code == 204
    assert app.get(f"/api/application/servers/{server['id']}").status_code == 404


def test_rate_limits(app, simulator):
    ok = app.get("/api/application/locations")
    assert ok.headers["X-RateLimit-Limit"] == "240"
    assert int(ok.headers["X-RateLimit-Remaining"]) < 240
    simulator.set_switches(rate_limit={"count": 2, "retry_after": 7})
    for _ in range(2):
        throttled = app.get("/api/application/locations")
        assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "7"
        assert throttled.json() == {
            "errors": [
                {
                    "code": "ThrottleRequestsException",
                    "status": "429",
                    "detail": "Too Many Attempts.",
                }
            ]
        }
        assert throttled.headers["X-RateLimit-Remaining"] == "0"
    assert app.get("/api/application/locations").status_code == 200
    # the real per-user limit, made small
    simulator.reset()
    simulator.set_switches(application_rate_limit=3)
    headers = {"Authorization": f"Bearer {simulator.application_key}", "Accept": JSON}
    codes = [
        httpx.get(f"{simulator.url}/api/application/nests", headers=headers).status_code
        for _ in range(4)
    ]
    assert codes == [200, 200, 200, 429]
    client = httpx.get(
        f"{simulator.url}/api/client",
        headers={"Authorization": f"Bearer {simulator.client_key}", "Accept": JSON},
    )
    assert client.status_code == 200  # the client API has its own bucket


def test_fail_next_and_dropped_connections(app, simulator):
    simulator.set_switches(fail_next={"count": 2, "status": 503, "path": "/api/application/nodes*"})
    assert app.get("/api/application/locations").status_code == 200  # other paths unaffected
    first = app.get("/api/application/nodes")
    assert first.status_code == 503 and first.json()["errors"][0]["status"] == "503"
    assert app.get("/api/application/nodes/1").status_code == 503
    assert app.get("/api/application/nodes").status_code == 200
    simulator.set_switches(fail_next={"status": 502, "method": "POST"})
    assert app.get("/api/application/nodes").status_code == 200
    gateway = app.post("/api/application/locations", json={"short": "x"})
    assert gateway.status_code == 502 and "nginx" in gateway.text
    simulator.set_switches(fail_next={"status": 0})
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(f"{simulator.url}/api/application/nodes", headers={"Accept": JSON})
    assert simulator.switches["fail_next"] == []


def test_a_create_answered_too_late_exists_by_external_id(app, simulator):
    owner = new_user(app, "late@example.com")
    simulator.set_switches(delay_next_create=1.5)
    body = server_body(app, owner["id"], external_id="order-late")
    with pytest.raises(httpx.ReadTimeout):
        app.post("/api/application/servers", json=body, timeout=httpx.Timeout(0.3))
    found = app.get("/api/application/servers/external/order-late")
    assert found.status_code == 200 and found.json()["attributes"]["external_id"] == "order-late"
    assert simulator.switches["delay_next_create"] == 0  # only once
    quick = app.post(
        "/api/application/servers", json=server_body(app, owner["id"]), timeout=httpx.Timeout(2)
    )
    assert quick.status_code == 201


def test_control_endpoints(simulator):
    url = simulator.url
    switched = httpx.post(f"{url}/_simulator/switches", json={"wings_down": True, "rate_limit": 3})
    assert switched.status_code == 200
    assert switched.json()["wings_down"] is True and switched.json()["rate_limit"] == 3
    assert simulator.switches["wings_down"] is True
    bad = httpx.post(f"{url}/_simulator/switches", json={"no_such": 1})
    assert bad.status_code == 400 and "no_such" in bad.json()["error"]
    state = httpx.get(f"{url}/_simulator/state").json()
    assert state["application_key"] == simulator.application_key
    assert state["client_key"].startswith("ptlc_") and len(state["client_key"]) == 48
    assert [n["name"] for n in state["nodes"]] == ["sim-node-1", "sim-node-2", "sim-node-private"]
    assert all(n["free_allocations"] >= 10 for n in state["nodes"])
    key = httpx.post(
        f"{url}/_simulator/keys",
        json={"user_id": 1, "type": "application", "permissions": {"r_nodes": 1}},
    ).json()
    assert key["key"].startswith("ptla_")
    reset = httpx.post(f"{url}/_simulator/reset").json()
    assert reset["switches"]["wings_down"] is False and reset["switches"]["rate_limit"] == 0
    assert reset["application_key"] == simulator.application_key
    assert "Pterodactyl simulator" in httpx.get(url + "/").text


# --- client API -------------------------------------------------------------------------------


def test_state_gate(app, client, simulator):
    owner = new_user(app, "gate@example.com")
    simulator.set_switches(install_seconds=60)
    server = new_server(app, owner["id"])
    ident = server["identifier"]
    owner_key = simulator.create_key(owner["id"])
    as_owner = {"Authorization": f"Bearer {owner_key}", "Accept": JSON}
    details = client.get(f"/api/client/servers/{ident}")
    assert details.status_code == 200
    assert details.json()["attributes"]["is_installing"] is True
    resources = client.get(f"/api/client/servers/{ident}/resources")
    assert resources.status_code == 409
    assert errors_of(resources)[0] == {
        "code": "ServerStateConflictException",
        "status": "409",
        "detail": "This server has not yet completed its installation process, please try "
        "again later.",
    }
    assert client.get(f"/api/client/servers/{ident}/websocket").status_code == 200  # admin
    assert (
        httpx.get(
            f"{simulator.url}/api/client/servers/{ident}/websocket", headers=as_owner
        ).status_code
        == 409
    )
    httpx.post(f"{simulator.url}/_simulator/servers/{server['id']}/install", json={"success": True})
    assert client.get(f"/api/client/servers/{ident}/resources").status_code == 200
    app.post(f"/api/application/servers/{server['id']}/suspend")
    suspended = client.get(f"/api/client/servers/{ident}/websocket")
    assert suspended.status_code == 409
    assert errors_of(suspended)[0]["detail"].startswith("This server is currently suspended")
    app.post(f"/api/application/servers/{server['id']}/unsuspend")
    simulator.set_server_state(server["id"], status="restoring_backup")
    assert (
        "restoring" in errors_of(client.get(f"/api/client/servers/{ident}/activity"))[0]["detail"]
    )
    simulator.set_server_state(server["id"], status=None)
    node = app.get("/api/application/nodes/1").json()["attributes"]
    node.update(maintenance_mode=True)
    assert app.patch("/api/application/nodes/1", json=node).status_code == 200
    assert server["node"] == 1
    assert (
        "maintenance"
        in errors_of(client.get(f"/api/client/servers/{ident}/resources"))[0]["detail"]
    )
    # a server the user cannot see
    stranger = simulator.create_key(new_user(app, "stranger@example.com")["id"])
    hidden = httpx.get(
        f"{simulator.url}/api/client/servers/{ident}",
        headers={"Authorization": f"Bearer {stranger}", "Accept": JSON},
    )
    assert hidden.status_code == 404
    assert errors_of(hidden)[0]["detail"] == (
        "The requested resource does not exist on this server."
    )


def test_power_resources_and_console(app, client, simulator):
    owner = new_user(app, "power@example.com")
    ident = new_server(app, owner["id"])["identifier"]
    base = f"/api/client/servers/{ident}"
    stats = client.get(base + "/resources").json()
    assert stats["object"] == "stats"
    assert stats["attributes"]["current_state"] == "offline"
    assert set(stats["attributes"]["resources"]) == {
        "memory_bytes",
        "cpu_absolute",
        "disk_bytes",
        "network_rx_bytes",
        "network_tx_bytes",
        "uptime",
    }
    offline = client.post(base + "/command", json={"command": "say hi"})
    assert offline.status_code == 502
    assert errors_of(offline)[0] == {
        "code": "HttpException",
        "status": "502",
        "detail": "Server must be online in order to send commands.",
    }
    assert fields(client.post(base + "/power", json={"signal": "explode"})) == {"signal": "in"}
    assert client.post(base + "/power", json={"signal": "start"}).status_code == 204
    running = client.get(base + "/resources").json()["attributes"]
    assert running["current_state"] == "running"
    assert running["resources"]["memory_bytes"] > 0
    assert client.post(base + "/command", json={"command": "say hi"}).status_code == 204
    assert client.post(base + "/power", json={"signal": "kill"}).status_code == 204
    assert client.get(base + "/resources").json()["attributes"]["current_state"] == "offline"
    # with real transition times the intermediate states show
    simulator.set_switches(power_seconds=30)
    client.post(base + "/power", json={"signal": "start"})
    assert client.get(base + "/resources").json()["attributes"]["current_state"] == "starting"
    events = [a["attributes"]["event"] for a in client.get(base + "/activity").json()["data"]]
    assert events[:3] == ["server:power.start", "server:power.kill", "server:console.command"]


def test_subusers_and_permissions(app, client, simulator):
    owner = new_user(app, "subowner@example.com")
    server = new_server(app, owner["id"])
    base = f"/api/client/servers/{server['identifier']}"
    created = client.post(
        base + "/users",
        json={
            "email": "helper@example.com",
            "permissions": ["control.console", "startup.read", "bogus"],
        },
    )
    assert created.status_code == 200
    sub = created.json()["attributes"]
    assert sorted(sub["permissions"]) == ["control.console", "startup.read", "websocket.connect"]
    helper_id = next(
        u["id"] for u in simulator.snapshot()["users"] if u["email"] == "helper@example.com"
    )
    key = simulator.create_key(helper_id)
    helper = httpx.Client(
        base_url=simulator.url, headers={"Authorization": f"Bearer {key}", "Accept": JSON}
    )
    meta = helper.get(base).json()["meta"]
    assert meta["is_server_owner"] is False and "control.console" in meta["user_permissions"]
    assert helper.post(base + "/power", json={"signal": "start"}).status_code == 403
    assert helper.post(base + "/power", json={"signal": "explode"}).status_code == 403
    assert helper.get(base + "/backups").status_code == 403
    assert helper.get(base + "/startup").status_code == 200
    assert [s["attributes"]["identifier"] for s in helper.get("/api/client").json()["data"]] == [
        server["identifier"]
    ]
    escalate = helper.post(
        base + "/users", json={"email": "x@example.com", "permissions": ["backup.read"]}
    )
    assert escalate.status_code == 403
    duplicate = client.post(
        base + "/users", json={"email": "HELPER@example.com", "permissions": ["control.console"]}
    )
    assert errors_of(duplicate)[0]["code"] == "ServerSubuserExistsException"
    owner_as_sub = client.post(
        base + "/users", json={"email": "subowner@example.com", "permissions": ["control.console"]}
    )
    assert errors_of(owner_as_sub)[0]["code"] == "UserIsServerOwnerException"
    updated = client.post(f"{base}/users/{sub['uuid']}", json={"permissions": ["backup.read"]})
    assert sorted(updated.json()["attributes"]["permissions"]) == [
        "backup.read",
        "websocket.connect",
    ]
    assert helper.get(base + "/backups").status_code == 200
    assert client.delete(f"{base}/users/{sub['uuid']}").status_code == 204
    assert helper.get(base).status_code == 404
    helper.close()


def test_startup_variables(app, client):
    owner = new_user(app, "startup@example.com")
    server = new_server(app, owner["id"])
    base = f"/api/client/servers/{server['identifier']}"
    startup = client.get(base + "/startup").json()
    listed = [v["attributes"]["env_variable"] for v in startup["data"]]
    assert "DL_PATH" not in listed and "MAX_PLAYERS" in listed  # hidden ones are not listed
    assert startup["meta"]["raw_startup_command"] == server["container"]["startup_command"]
    changed = client.put(base + "/startup/variable", json={"key": "MAX_PLAYERS", "value": "42"})
    assert changed.status_code == 200
    assert changed.json()["attributes"]["server_value"] == "42"
    assert fields(
        client.put(base + "/startup/variable", json={"key": "MAX_PLAYERS", "value": "500"})
    ) == {"value": "between"}
    read_only = client.put(base + "/startup/variable", json={"key": "BUILD_NUMBER", "value": "9"})
    assert (
        read_only.status_code == 400
        and errors_of(read_only)[0]["detail"]
        == "The environment variable you are trying to edit is read-only."
    )
    hidden = client.put(base + "/startup/variable", json={"key": "DL_PATH", "value": "x"})
    assert (
        hidden.status_code == 400
        and errors_of(hidden)[0]["detail"]
        == "The environment variable you are trying to edit does not exist."
    )
    assert (
        client.put(base + "/startup/variable", json={"key": "NOPE", "value": "x"}).status_code
        == 500
    )  # v1.11.8 quirk
    env = app.get(f"/api/application/servers/{server['id']}").json()["attributes"]["container"][
        "environment"
    ]
    assert env["MAX_PLAYERS"] == "42"


def test_backups_databases_allocations_schedules_settings(app, client, simulator):
    owner = new_user(app, "tabs@example.com")
    server = new_server(
        app, owner["id"], feature_limits={"databases": 1, "allocations": 2, "backups": 1}
    )
    base = f"/api/client/servers/{server['identifier']}"
    # backups: created, completed by the next request, limited
    backup = client.post(base + "/backups", json={"name": "nightly"}).json()["attributes"]
    assert backup["is_successful"] is False and backup["completed_at"] is None
    listed = client.get(base + "/backups").json()
    assert listed["meta"]["backup_count"] == 1
    assert listed["data"][0]["attributes"]["is_successful"] is True
    limit = client.post(base + "/backups", json={})
    assert limit.status_code == 400 and errors_of(limit)[0]["detail"] == (
        "Cannot create a new backup, this server has reached its limit of 1 backups."
    )
    locked = client.post(f"{base}/backups/{backup['uuid']}/lock").json()["attributes"]
    assert locked["is_locked"] is True
    assert (
        errors_of(client.delete(f"{base}/backups/{backup['uuid']}"))[0]["code"]
        == "BackupLockedException"
    )
    download = client.get(f"{base}/backups/{backup['uuid']}/download").json()
    assert download["object"] == "signed_url"
    assert httpx.get(download["attributes"]["url"]).status_code == 200
    assert (
        client.post(
            f"{base}/backups/{backup['uuid']}/restore", json={"truncate": False}
        ).status_code
        == 204
    )
    # databases: limited, password included on create
    db = client.post(base + "/databases", json={"database": "main", "remote": "%"})
    assert db.status_code == 200
    attrs = db.json()["attributes"]
    assert attrs["name"] == f"s{server['id']}_main"
    assert attrs["relationships"]["password"]["attributes"]["password"]
    over = client.post(base + "/databases", json={"database": "second", "remote": "%"})
    assert errors_of(over)[0]["code"] == "TooManyDatabasesException"
    assert fields(client.post(base + "/databases", json={"database": "a b"})) == {
        "database": "alpha_dash",
        "remote": "required",
    }
    assert client.delete(f"{base}/databases/{attrs['id']}").status_code == 204
    # network allocations
    added = client.post(base + "/network/allocations")
    assert added.status_code == 200 and added.json()["attributes"]["is_default"] is False
    extra = added.json()["attributes"]["id"]
    full = client.post(base + "/network/allocations")
    assert errors_of(full)[0]["detail"] == (
        "Cannot assign additional allocations to this server: limit has been reached."
    )
    noted = client.post(f"{base}/network/allocations/{extra}", json={"notes": "voice"})
    assert noted.json()["attributes"]["notes"] == "voice"
    primary = client.delete(f"{base}/network/allocations/{server['allocation']}")
    assert errors_of(primary)[0]["detail"] == (
        "You cannot delete the primary allocation for this server."
    )
    assert client.delete(f"{base}/network/allocations/{extra}").status_code == 204
    # schedules
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
    assert schedule["next_run_at"] and schedule["relationships"]["tasks"]["data"] == []
    bad_cron = client.post(base + "/schedules", json={**cron, "minute": "99"})
    assert bad_cron.status_code == 400
    no_month = client.post(
        base + "/schedules", json={k: v for k, v in cron.items() if k != "month"}
    )
    assert no_month.status_code == 400
    task = client.post(
        f"{base}/schedules/{schedule['id']}/tasks",
        json={"action": "power", "payload": "start", "time_offset": 0},
    )
    assert task.json()["attributes"]["sequence_id"] == 1
    run = client.post(f"{base}/schedules/{schedule['id']}/execute")
    assert run.status_code == 202 and run.json() == []
    assert client.get(base + "/resources").json()["attributes"]["current_state"] == "running"
    # settings
    assert client.post(base + "/settings/rename", json={"name": "renamed"}).status_code == 204
    assert client.get(base).json()["attributes"]["name"] == "renamed"
    reinstall = client.post(base + "/settings/reinstall")
    assert reinstall.status_code == 202 and reinstall.json() == []
    image = client.put(
        base + "/settings/docker-image", json={"docker_image": "ghcr.io/pterodactyl/yolks:java_17"}
    )
    assert image.status_code == 204
    assert fields(
        client.put(base + "/settings/docker-image", json={"docker_image": "evil:latest"})
    ) == {"docker_image": "in"}
    # files
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


# --- the console websocket ---------------------------------------------------------------------


class Ws:
    """A minimal websocket client: enough to speak Wings' JSON events."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=5)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                "Origin: http://localhost\r\n\r\n"
            ).encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            if not chunk:
                raise ConnectionError("closed during the handshake")
            head += chunk
        self.status = int(head.split(b" ")[1])
        self.buffer = b""

    def send(self, event: str, *args) -> None:
        payload = json.dumps({"event": event, "args": list(args)}).encode()
        mask = os.urandom(4)
        header = (
            bytes([0x81, 0x80 | len(payload)])
            if len(payload) < 126
            else (bytes([0x81, 0x80 | 126]) + len(payload).to_bytes(2, "big"))
        )
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def _read(self, n: int) -> bytes:
        while len(self.buffer) < n:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("closed")
            self.buffer += chunk
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out

    def receive(self) -> dict:
        b0, b1 = self._read(2)
        length = b1 & 0x7F
        if length == 126:
            length = int.from_bytes(self._read(2), "big")
        elif length == 127:
            length = int.from_bytes(self._read(8), "big")
        payload = self._read(length)
        if b0 & 0x0F == 8:
            raise ConnectionError("close frame")
        return json.loads(payload)

    def until(self, predicate, seconds: float = 5.0) -> list[dict]:
        seen: list[dict] = []
        deadline = time.time() + seconds
        while time.time() < deadline:
            message = self.receive()
            seen.append(message)
            if predicate(message):
                return seen
        raise AssertionError(f"not seen in {seconds}s: {seen}")

    def close(self) -> None:
        self.sock.close()


def test_console_websocket(app, client, simulator):
    owner = new_user(app, "console@example.com")
    server = new_server(app, owner["id"])
    creds = client.get(f"/api/client/servers/{server['identifier']}/websocket").json()["data"]
    assert creds["socket"] == (
        f"ws://{urlsplit(simulator.url).netloc}/api/servers/{server['uuid']}/ws"
    )
    claims = json.loads(base64.urlsafe_b64decode(creds["token"].split(".")[1] + "=="))
    assert claims["server_uuid"] == server["uuid"] and claims["exp"] - claims["iat"] == 600
    ws = Ws(creds["socket"])
    try:
        assert ws.status == 101
        ws.send("auth", "not-a-token")
        assert ws.receive()["event"] == "jwt error"
        ws.send("auth", creds["token"])
        assert ws.receive() == {"event": "auth success"}
        assert ws.receive() == {"event": "status", "args": ["offline"]}
        ws.send("set state", "start")
        ws.until(lambda m: m == {"event": "status", "args": ["running"]})
        ws.send("send command", "say hello")
        ws.until(lambda m: m["event"] == "console output" and "[Server] hello" in m["args"][0])
        ws.send("send stats")
        stats = ws.until(lambda m: m["event"] == "stats")[-1]
        assert json.loads(stats["args"][0])["state"] == "running"
        # a power change from the API shows up on the socket
        client.post(f"/api/client/servers/{server['identifier']}/power", json={"signal": "kill"})
        ws.until(lambda m: m == {"event": "status", "args": ["offline"]})
    finally:
        ws.close()
    # short-lived tokens warn, expire, and a fresh auth continues the session
    simulator.set_switches(websocket_token_seconds=1)
    short = client.get(f"/api/client/servers/{server['identifier']}/websocket").json()["data"]
    ws = Ws(short["socket"])
    try:
        ws.send("auth", short["token"])
        ws.until(lambda m: m["event"] == "token expiring")
        ws.until(lambda m: m["event"] == "token expired", seconds=3)
        simulator.set_switches(websocket_token_seconds=600)
        fresh = client.get(f"/api/client/servers/{server['identifier']}/websocket").json()
        ws.send("auth", fresh["data"]["token"])
        ws.until(lambda m: m["event"] == "auth success")
        simulator.set_switches(wings_down=True)
        with pytest.raises(ConnectionError):
            ws.until(lambda m: False, seconds=3)
    finally:
        ws.close()
    with pytest.raises(ConnectionError):
        Ws(short["socket"])  # Wings unreachable: the upgrade gets no answer


# --- the install lifecycle and the CLI --------------------------------------------------------


def test_install_takes_its_time():
    with Simulator(install_seconds=0.3, power_seconds=0) as sim:
        headers = {"Authorization": f"Bearer {sim.application_key}", "Accept": JSON}
        with httpx.Client(base_url=sim.url, headers=headers) as app:
            owner = new_user(app, "slow@example.com")
            server = new_server(app, owner["id"], start_on_completion=True)
            assert (
                app.get(f"/api/application/servers/{server['id']}").json()["attributes"]["status"]
                == "installing"
            )
            time.sleep(0.4)
            assert (
                app.get(f"/api/application/servers/{server['id']}").json()["attributes"]["status"]
                is None
            )
            assert sim.server(server["id"]).power_state == "running"  # start_on_completion


def test_run_forever_prints_url_and_keys():
    from click.testing import CliRunner

    from simulators.pterodactyl.cli import run_forever, simulator_command

    lines: list[str] = []
    ready, stop = threading.Event(), threading.Event()
    key = "ptla_" + "a" * 43
    thread = threading.Thread(
        target=run_forever,
        args=("127.0.0.1", 0),
        daemon=True,
        kwargs={
            "echo": lines.append,
            "ready": ready,
            "stop": stop,
            "as_json": True,
            "application_key": key,
        },
    )
    thread.start()
    assert ready.wait(5)
    info = json.loads(lines[0])
    assert info["application_key"] == key and info["client_key"].startswith("ptlc_")
    response = httpx.get(
        info["url"] + "/api/application/nests",
        headers={"Authorization": f"Bearer {key}", "Accept": JSON},
    )
    assert response.status_code == 200
    stop.set()
    thread.join(5)
    assert not thread.is_alive()
    runner = CliRunner()
    assert "--install-seconds" in runner.invoke(simulator_command, ["--help"]).output
    bad = runner.invoke(simulator_command, ["--application-key", "ptla_short"])
    assert bad.exit_code == 2 and "48 characters" in bad.output
