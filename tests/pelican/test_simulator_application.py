"""The Pelican simulator's application API over real HTTP, endpoint by endpoint of
docs/reference/pelican_api.md §3 "Application API (`/api/application`): endpoints a billing
panel needs", with the keys, order of checks and errors of its §1 and §2."""

from __future__ import annotations

import httpx

from tests.pelican.panel import (
    APP,
    JSON,
    OMIT,
    build_body,
    errors_of,
    fields,
    new_server,
    new_user,
    server_body,
)

# --- keys, order of checks, envelope ------------------------------------------------------------


def test_keys_are_pelicans_and_nests_and_locations_do_not_exist(app, sim):
    assert sim.application_key.startswith("papp_") and len(sim.application_key) == 48
    assert sim.client_key.startswith("pacc_") and len(sim.client_key) == 48
    for path in (
        "/nests",
        "/nests/1",
        "/nests/1/eggs",
        "/nests/1/eggs/1",
        "/locations",
        "/locations/1",
    ):
        response = app.get(APP + path)
        assert response.status_code == 404, path
        assert errors_of(response) == [
            {
                "code": "NotFoundHttpException",
                "status": "404",
                "detail": f"The route api/application{path} could not be found.",
            }
        ]
    wrong_verb = app.put(f"{APP}/eggs")
    assert wrong_verb.status_code == 405
    assert errors_of(wrong_verb)[0]["code"] == "MethodNotAllowedHttpException"


def test_models_are_bound_before_the_key_is_checked(sim):
    """Unlike Pterodactyl, an unknown model is a 404 even without a key (§1.4)."""
    bare = httpx.Client(base_url=sim.url, headers={"Accept": JSON}, timeout=10)
    with bare:
        assert bare.get(f"{APP}/users/999").status_code == 404
        assert bare.get(f"{APP}/eggs/999").status_code == 404
        assert bare.get("/api/client/servers/nosuch00/resources").status_code == 404
        unauthenticated = bare.get(f"{APP}/users/1")
        assert unauthenticated.status_code == 401
        assert errors_of(unauthenticated) == [
            {"code": "AuthenticationException", "status": "401", "detail": "Unauthenticated."}
        ]
        assert (
            bare.get(
                f"{APP}/users", headers={"Authorization": "Bearer papp_" + "x" * 43}
            ).status_code
            == 401
        )
    assert sim.requests[-1]["status"] == 401


def test_application_key_acl_is_a_map_by_resource_name(app, sim):
    user = new_user(app, "acl@example.com")
    reader = sim.create_key(1, "application", permissions={"server": 1, "egg": 1})
    with httpx.Client(
        base_url=sim.url, timeout=10, headers={"Authorization": f"Bearer {reader}", "Accept": JSON}
    ) as http:
        assert reader.startswith("papp_")
        assert http.get(f"{APP}/servers").status_code == 200
        assert http.get(f"{APP}/eggs").status_code == 200
        denied = http.get(f"{APP}/users")
        assert denied.status_code == 403
        assert errors_of(denied)[0]["detail"] == "This action is unauthorized."
        assert (
            http.post(f"{APP}/users", json={"email": "a@b.c", "username": "a"}).status_code == 403
        )
        # an include the key may not read is a null resource, not an error
        server = new_server(app, user["id"])
        shown = http.get(f"{APP}/servers/{server['id']}?include=user,egg").json()
        assert shown["attributes"]["relationships"]["user"] == {
            "object": "null_resource",
            "attributes": None,
        }
        assert shown["attributes"]["relationships"]["egg"]["object"] == "egg"
    # a non-admin's account key: not an admin
    plain = sim.create_key(user["id"], "client")
    assert plain.startswith("pacc_")
    refused = httpx.get(
        f"{sim.url}{APP}/users", headers={"Authorization": f"Bearer {plain}", "Accept": JSON}
    )
    assert refused.status_code == 403
    assert (
        errors_of(refused)[0]["detail"]
        == "This account does not have permission to access the API."
    )
    # a Root Admin's account key passes every ACL
    assert (
        httpx.get(
            f"{sim.url}{APP}/users",
            headers={"Authorization": f"Bearer {sim.client_key}", "Accept": JSON},
        ).status_code
        == 200
    )


def test_rate_limits_are_256_per_minute_and_answer_429_with_retry_after(app, sim):
    first = app.get(f"{APP}/eggs")
    assert first.headers["X-RateLimit-Limit"] == "256"
    sim.set_switches(application_rate_limit=2)
    bare = {"Accept": JSON}
    for _ in range(3):  # refused before the throttle: not counted (§1.4)
        assert httpx.get(f"{sim.url}{APP}/eggs", headers=bare).status_code == 401
    sim.reset()
    sim.set_switches(application_rate_limit=2)
    codes = [app.get(f"{APP}/eggs").status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    throttled = app.get(f"{APP}/eggs")
    assert int(throttled.headers["Retry-After"]) >= 1
    assert throttled.headers["X-RateLimit-Remaining"] == "0"
    assert throttled.json() == {
        "errors": [
            {"code": "ThrottleRequestsException", "status": "429", "detail": "Too Many Attempts."}
        ]
    }
    assert (
        httpx.get(
            f"{sim.url}/api/client",
            headers={"Authorization": f"Bearer {sim.client_key}", "Accept": JSON},
        ).status_code
        == 200
    )
    sim.set_switches(rate_limit={"count": 1, "retry_after": 9})
    forced = httpx.get(
        f"{sim.url}/api/client",
        headers={"Authorization": f"Bearer {sim.client_key}", "Accept": JSON},
    )
    assert forced.status_code == 429 and forced.headers["Retry-After"] == "9"
    log = sim.requests
    assert log[-1]["status"] == 429 and log[-1]["path"] == "/api/client"
    assert [r["status"] for r in log].count(429) == 3


# --- users -------------------------------------------------------------------------------------


def test_users_have_no_names_and_no_username_pattern(app):
    created = app.post(
        f"{APP}/users",
        json={
            "email": "Mixed@Example.com",
            "username": "Odd Name!",
            "first_name": "Ignored",
            "last_name": "Too",
            "root_admin": True,
            "external_id": "cust-1",
            "is_managed_externally": True,
        },
    )
    assert created.status_code == 201, created.text
    user = created.json()["attributes"]
    assert created.json()["meta"]["resource"].endswith(f"/users/{user['id']}")
    assert user["email"] == "mixed@example.com" and user["username"] == "odd name!"
    assert "first_name" not in user and "last_name" not in user
    assert user["root_admin"] is False  # admin rights come from roles, not this body
    assert user["is_managed_externally"] is True and user["2fa_enabled"] is False
    assert app.get(f"{APP}/users/external/cust-1").json()["attributes"]["id"] == user["id"]
    assert app.get(f"{APP}/users/external/nobody").status_code == 404
    duplicate = app.post(
        f"{APP}/users",
        json={"email": "mixed@example.com", "username": "odd name!", "external_id": "cust-1"},
    )
    assert fields(duplicate) == {"email": "unique", "username": "unique", "external_id": "unique"}
    assert any(
        e["detail"] == "The Third Party Identifier has already been taken."
        for e in errors_of(duplicate)
    )
    missing = app.post(f"{APP}/users", json={"username": "x" * 256})
    assert fields(missing) == {"email": "required", "username": "between"}
    listed = app.get(f"{APP}/users", params={"filter[email]": "MIXED"}).json()
    assert [u["attributes"]["id"] for u in listed["data"]] == [user["id"]]


def test_user_patch_needs_email_and_username_and_keeps_the_rest(app):
    user = new_user(app, "patch@example.com", external_id="keep-me")
    partial = app.patch(f"{APP}/users/{user['id']}", json={"email": "new@example.com"})
    assert fields(partial) == {"username": "required"}
    updated = app.patch(
        f"{APP}/users/{user['id']}", json={"email": "NEW@example.com", "username": "patched"}
    )
    assert updated.status_code == 200
    assert updated.json()["attributes"]["email"] == "new@example.com"
    assert updated.json()["attributes"]["external_id"] == "keep-me"


def test_user_delete_rules(app, sim):
    owner = new_user(app, "owner@example.com")
    new_server(app, owner["id"])
    blocked = app.delete(f"{APP}/users/{owner['id']}")
    assert blocked.status_code == 400
    assert errors_of(blocked)[0]["detail"].startswith("Cannot delete a user with active servers")
    root = app.delete(f"{APP}/users/1")  # the Root Admin: 403 with a bare []
    assert root.status_code == 403 and root.json() == []
    spare = new_user(app, "spare@example.com")
    assert app.delete(f"{APP}/users/{spare['id']}").status_code == 204
    assert app.delete(f"{APP}/users/{spare['id']}").status_code == 404


# --- eggs, nodes, allocations ------------------------------------------------------------------


def test_eggs_are_top_level_unpaginated_with_array_rules(app):
    listed = app.get(f"{APP}/eggs").json()
    assert listed["object"] == "list" and "meta" not in listed
    names = [e["attributes"]["name"] for e in listed["data"]]
    assert names == ["Paper", "Vanilla Minecraft", "Garrys Mod"]
    egg = app.get(f"{APP}/eggs/1?include=variables").json()["attributes"]
    assert "nest" not in egg
    assert egg["tags"] == ["minecraft"] and egg["icon"] is None
    assert egg["startup_commands"] == {"Default": egg["startup"]}
    assert egg["docker_image"] == next(iter(egg["docker_images"].values()))
    jar = next(
        v["attributes"]
        for v in egg["relationships"]["variables"]["data"]
        if v["attributes"]["env_variable"] == "SERVER_JARFILE"
    )
    assert jar["rules"] == ["required", r"regex:/^([\w\d._-]+)(\.jar)$/"]
    assert jar["sort"] is None
    for broken in ("config", "script"):  # declared includes with nothing behind them
        assert app.get(f"{APP}/eggs/1?include={broken}").status_code == 500
    assert app.get(f"{APP}/eggs/99").status_code == 404


def test_nodes_carry_tags_and_cpu_and_deployable_never_fails(app):
    node = app.get(f"{APP}/nodes/1").json()["attributes"]
    assert node["tags"] == ["sim-eu"] and "location_id" not in node
    assert {"cpu", "cpu_overallocate", "daemon_connect", "daemon_sftp_alias"} <= set(node)
    assert set(node["allocated_resources"]) == {"memory", "disk", "cpu"}
    sorted_by_cpu = app.get(f"{APP}/nodes", params={"sort": "-cpu"})
    assert sorted_by_cpu.status_code == 200
    assert fields(app.get(f"{APP}/nodes/deployable")) == {"memory": "required", "disk": "required"}
    fits = app.get(
        f"{APP}/nodes/deployable", params={"memory": 1024, "disk": 1024, "tags[]": "sim-us"}
    ).json()
    assert [n["attributes"]["name"] for n in fits["data"]] == ["sim-node-2"]
    assert "meta" not in fits and fits["data"][0]["attributes"]["servers_sum_memory"] == 0
    nothing = app.get(f"{APP}/nodes/deployable", params={"memory": 10**9, "disk": 1})
    assert nothing.status_code == 200 and nothing.json() == {"object": "list", "data": []}


def test_allocation_create_bounds_and_duplicates(app):
    low = app.post(f"{APP}/nodes/1/allocations", json={"ip": "10.9.0.1", "ports": ["1023"]})
    assert low.status_code == 400
    assert errors_of(low)[0] == {
        "code": "PortOutOfRangeException",
        "status": "400",
        "detail": "Ports in an allocation must be greater than or equal to 1024 and less than "
        "or equal to 65535.",
    }
    assert (
        app.post(
            f"{APP}/nodes/1/allocations", json={"ip": "10.9.0.1", "ports": ["1024", "30000-30002"]}
        ).status_code
        == 204
    )
    before = app.get(f"{APP}/nodes/1/allocations", params={"filter[ip]": "10.9.0.1"}).json()
    assert before["meta"]["pagination"]["total"] == 4
    # one existing ip:port fails the whole call with a 500 and adds nothing
    clash = app.post(
        f"{APP}/nodes/1/allocations", json={"ip": "10.9.0.1", "ports": ["30003", "30000"]}
    )
    assert clash.status_code == 500
    after = app.get(f"{APP}/nodes/1/allocations", params={"filter[ip]": "10.9.0.1"}).json()
    assert after["meta"]["pagination"]["total"] == 4
    free = app.get(f"{APP}/nodes/1/allocations", params={"filter[server_id]": ""}).json()
    assert all(not a["attributes"]["assigned"] for a in free["data"])


# --- servers -----------------------------------------------------------------------------------


def test_create_validation(app):
    owner = new_user(app, "validate@example.com")
    empty = app.post(f"{APP}/servers", json={})
    assert {
        "name": "required",
        "user": "required",
        "egg": "required",
        "environment": "present",
        "limits": "required",
        "feature_limits": "required",
        "allocation.default": "required",
    }.items() <= fields(empty).items()
    deploy_incomplete = app.post(
        f"{APP}/servers", json=server_body(app, owner["id"], deploy={"dedicated_ip": False})
    )
    assert fields(deploy_incomplete) == {
        "deploy.tags": "present",
        "deploy.locations": "present",
        "deploy.port_range": "present",
    }
    io = app.post(
        f"{APP}/servers",
        json=server_body(
            app, owner["id"], limits={"memory": 1, "swap": 0, "disk": 1, "io": 1001, "cpu": 0}
        ),
    )
    assert fields(io) == {"limits.io": "between"}
    taken = new_server(app, owner["id"])["allocation"]
    explicit = app.post(
        f"{APP}/servers",
        json=server_body(app, owner["id"], deploy=OMIT, allocation={"default": taken}),
    )
    assert fields(explicit) == {"allocation.default": "exists"}
    bad_variable = app.post(
        f"{APP}/servers",
        json=server_body(app, owner["id"], environment={"SERVER_JARFILE": "server.zip"}),
    )
    assert fields(bad_variable) == {"environment.SERVER_JARFILE": "regex"}
    assert errors_of(bad_variable)[0]["detail"].startswith("The Server Jar File variable")
    assert fields(
        app.post(f"{APP}/servers", json=server_body(app, owner["id"], external_id="x" * 256))
    ) == {"external_id": "between"}


def test_create_defaults_and_variables(app):
    owner = new_user(app, "defaults@example.com")
    server = new_server(
        app,
        owner["id"],
        environment={"SERVER_JARFILE": "paper.jar"},
        limits={"memory": 512, "swap": 0, "disk": 1024, "io": 0, "cpu": 0},
        external_id="order-1",
    )
    egg = app.get(f"{APP}/eggs/1").json()["attributes"]
    assert server["container"]["image"] == egg["docker_image"]
    assert server["container"]["startup_command"] == egg["startup"]
    assert server["limits"]["oom_killer"] is False and server["limits"]["oom_disabled"] is True
    assert server["status"] == "installing" and "nest" not in server
    env = server["container"]["environment"]
    assert env["SERVER_JARFILE"] == "paper.jar"
    # validated with its default (no 422) but stored blank
    assert env["BUILD_NUMBER"] == "" and env["MAX_PLAYERS"] == ""
    assert set(env) >= {"STARTUP", "P_SERVER_UUID"}
    assert "P_SERVER_LOCATION" not in env and "P_SERVER_ALLOCATION_LIMIT" not in env
    again = app.post(f"{APP}/servers", json=server_body(app, owner["id"], external_id="order-1"))
    assert fields(again) == {"external_id": "unique"}


def test_deploy_places_by_tag_and_room(app, sim):
    owner = new_user(app, "deploy@example.com")
    us = new_server(
        app,
        owner["id"],
        deploy={
            "tags": ["sim-us", "nowhere"],
            "locations": [],
            "dedicated_ip": False,
            "port_range": ["25565-25604"],
        },
    )
    assert us["node"] == 2 and us["allocation"] is not None
    portless = new_server(
        app,
        owner["id"],
        deploy={"tags": [], "locations": [], "dedicated_ip": False, "port_range": []},
    )
    assert portless["allocation"] is None and portless["node"] == 1
    no_node = app.post(
        f"{APP}/servers",
        json=server_body(
            app,
            owner["id"],
            deploy={"tags": ["nowhere"], "locations": [], "dedicated_ip": False, "port_range": []},
        ),
    )
    assert no_node.status_code == 400
    assert errors_of(no_node)[0]["code"] == "NoViableNodeException"
    no_port = app.post(
        f"{APP}/servers",
        json=server_body(
            app,
            owner["id"],
            deploy={
                "tags": ["sim-eu"],
                "locations": [],
                "dedicated_ip": False,
                "port_range": ["40000"],
            },
        ),
    )
    assert no_port.status_code == 400
    assert errors_of(no_port)[0]["code"] == "NoViableAllocationException"
    sim.state.nodes[2].cpu = 150  # CPU is counted too
    too_hot = app.post(
        f"{APP}/servers",
        json=server_body(
            app,
            owner["id"],
            deploy={"tags": ["sim-us"], "locations": [], "dedicated_ip": False, "port_range": []},
        ),
    )
    assert errors_of(too_hot)[0]["code"] == "NoViableNodeException"


def test_details_replace_and_startup_keeps_what_is_omitted(app):
    owner = new_user(app, "details@example.com")
    server = new_server(app, owner["id"], external_id="keep", description="hello")
    url = f"{APP}/servers/{server['id']}"
    details = app.patch(f"{url}/details", json={"name": "renamed", "user": owner["id"]})
    assert details.status_code == 200
    assert details.json()["attributes"]["external_id"] is None
    assert details.json()["attributes"]["description"] == ""
    assert fields(app.patch(f"{url}/details", json={"name": "x" * 256, "user": 999})) == {
        "name": "max",
        "user": "exists",
    }
    assert fields(app.patch(f"{url}/startup", json={"egg": 1})) == {
        "environment": "present",
        "skip_scripts": "present",
    }
    kept = app.patch(f"{url}/startup", json={"egg": 1, "environment": {}, "skip_scripts": False})
    assert kept.status_code == 200
    assert kept.json()["attributes"]["container"]["image"] == server["container"]["image"]
    switched = app.patch(
        f"{url}/startup",
        json={"egg": 3, "environment": {"SRCDS_MAP": "gm_construct"}, "skip_scripts": False},
    )
    attrs = switched.json()["attributes"]
    assert attrs["egg"] == 3 and attrs["container"]["image"] == "ghcr.io/pterodactyl/games:source"
    assert attrs["container"]["environment"]["GAMEMODE"] == ""  # omitted: blanked
    assert attrs["status"] is None  # an egg change does not start a reinstall


def test_build_allocation_rules(app, sim):
    owner = new_user(app, "build@example.com")
    server = new_server(app, owner["id"])
    url = f"{APP}/servers/{server['id']}/build"
    omitted = build_body(server)
    del omitted["allocation"]
    assert app.patch(url, json=omitted).status_code == 500  # read unconditionally
    other = new_server(app, owner["id"])
    assert fields(app.patch(url, json=build_body(server, allocation=other["allocation"]))) == {
        "allocation": "unique"
    }
    free = app.get(f"{APP}/nodes/1/allocations", params={"filter[server_id]": ""}).json()["data"][
        0
    ]["attributes"]["id"]
    assert app.patch(url, json=build_body(server, allocation=free)).status_code == 404
    grown = app.patch(
        url,
        json=build_body(
            server,
            add_allocations=[free],
            remove_allocations=[server["allocation"]],
            limits={"memory": 2048, "swap": 0, "disk": 4096, "io": 0, "cpu": 100},
            oom_killer=True,
            feature_limits={"databases": None, "backups": None},
        ),
    )
    assert grown.status_code == 200, grown.text
    attrs = grown.json()["attributes"]
    assert attrs["allocation"] == free  # the primary was replaced automatically
    assert attrs["limits"]["memory"] == 2048 and attrs["limits"]["oom_killer"] is True
    assert attrs["feature_limits"] == {"databases": None, "allocations": None, "backups": 0}
    cleared = app.patch(url, json=build_body(server, allocation=None))
    assert cleared.json()["attributes"]["allocation"] is None
    assert fields(app.patch(url, json={"allocation": None})) == {
        "memory": "required_without",
        "swap": "required_without",
        "disk": "required_without",
        "io": "required_without",
        "cpu": "required_without",
        "feature_limits": "required",
        "feature_limits.databases": "present",
        "feature_limits.backups": "present",
    }


def test_suspend_reinstall_and_delete(app, sim):
    owner = new_user(app, "life@example.com")
    server = new_server(app, owner["id"])
    url = f"{APP}/servers/{server['id']}"
    for _ in range(2):  # idempotent
        assert app.post(f"{url}/suspend").status_code == 204
    assert app.get(url).json()["attributes"]["suspended"] is True
    for _ in range(2):
        assert app.post(f"{url}/unsuspend").status_code == 204
    assert app.get(url).json()["attributes"]["status"] is None
    assert app.post(f"{url}/reinstall").status_code == 204
    assert sim.server(server["id"]).status == "installing"
    assert app.delete(url).status_code == 204
    assert app.delete(url).status_code == 404
    assert app.get(f"{APP}/servers/external/nothing").status_code == 404
    forced = new_server(app, owner["id"])
    assert app.delete(f"{APP}/servers/{forced['id']}/force").status_code == 204


def test_reinstall_failure_counts_as_not_installed(app, sim):
    owner = new_user(app, "failed@example.com")
    server = new_server(app, owner["id"])
    sim.set_switches(install_result="failed")
    assert app.post(f"{APP}/servers/{server['id']}/reinstall").status_code == 204
    shown = app.get(f"{APP}/servers/{server['id']}").json()["attributes"]
    assert shown["status"] == "reinstall_failed" and shown["container"]["installed"] == 0


def test_server_filters(app):
    owner = new_user(app, "filters@example.com")
    server = new_server(app, owner["id"])
    found = app.get(f"{APP}/servers", params={"filter[uuid_short]": server["identifier"]})
    assert [s["attributes"]["id"] for s in found.json()["data"]] == [server["id"]]
    unknown = app.get(f"{APP}/servers", params={"filter[uuidShort]": "x"})
    assert unknown.status_code == 400 and errors_of(unknown)[0]["code"] == "InvalidFilterQuery"


def test_ip_allow_list_comes_before_the_key_type(app, sim):
    fenced = sim.create_key(1, "application", allowed_ips=["192.0.2.0/24"])
    headers = {"Authorization": f"Bearer {fenced}", "Accept": JSON}
    for path in (f"{APP}/eggs", "/api/client"):  # the client route would also refuse the type
        refused = httpx.get(sim.url + path, headers=headers)
        assert refused.status_code == 403
        assert errors_of(refused)[0]["detail"] == (
            "This IP address (127.0.0.1) does not have permission to access the API using "
            "these credentials."
        )
    open_key = sim.create_key(1, "application", allowed_ips=["127.0.0.0/8"])
    wrong_api = httpx.get(
        f"{sim.url}/api/client", headers={"Authorization": f"Bearer {open_key}", "Accept": JSON}
    )
    assert wrong_api.status_code == 403
    assert "application API key" in errors_of(wrong_api)[0]["detail"]


# --- roles -------------------------------------------------------------------------------------


def test_roles_and_their_assignment(app, sim):
    listed = app.get(f"{APP}/roles").json()
    assert [r["attributes"]["name"] for r in listed["data"]] == ["Root Admin"]
    assert listed["meta"]["pagination"]["per_page"] == 10
    made = app.post(f"{APP}/roles", json={"name": "Support"})
    assert made.status_code == 201 and made.json()["meta"]["resource"].endswith("/roles/2")
    support = made.json()["attributes"]
    assert fields(app.post(f"{APP}/roles", json={})) == {"name": "required"}
    assert app.get(f"{APP}/roles/2?include=permissions").json()["attributes"]["relationships"][
        "permissions"
    ] == {"object": "list", "data": []}
    for write in (
        lambda: app.patch(f"{APP}/roles/1", json={"name": "Boss"}),
        lambda: app.delete(f"{APP}/roles/1"),
    ):
        refused = write()  # the Root Admin role is fixed
        assert refused.status_code == 500 and errors_of(refused)[0]["code"] == "PanelException"
    user = new_user(app, "staff@example.com")
    assigned = app.patch(
        f"{APP}/users/{user['id']}/roles/assign", json={"roles": [support["id"], 1]}
    )
    assert assigned.status_code == 200
    shown = app.get(f"{APP}/users/{user['id']}?include=roles").json()["attributes"]
    assert [r["attributes"]["name"] for r in shown["relationships"]["roles"]["data"]] == [
        "Support"
    ]  # Root Admin is never given through this route
    assert shown["root_admin"] is False
    assert fields(app.patch(f"{APP}/users/{user['id']}/roles/assign", json={"roles": [99]})) == {
        "roles.0": "exists"
    }
    assert (
        app.patch(
            f"{APP}/users/{user['id']}/roles/remove", json={"roles": [support["id"]]}
        ).status_code
        == 200
    )
    assert (
        app.get(f"{APP}/users/{user['id']}?include=roles").json()["attributes"]["relationships"][
            "roles"
        ]["data"]
        == []
    )
    assert (
        app.patch(f"{APP}/roles/{support['id']}", json={"name": "Helpdesk"}).json()["attributes"][
            "name"
        ]
        == "Helpdesk"
    )
    assert app.delete(f"{APP}/roles/{support['id']}").status_code == 204
    assert app.get(f"{APP}/roles/{support['id']}").status_code == 404
    assert httpx.get(f"{sim.url}{APP}/roles/abc", headers={"Accept": JSON}).status_code == 404
    no_roles = sim.create_key(1, "application", permissions={"user": 3})
    assert (
        httpx.get(
            f"{sim.url}{APP}/roles", headers={"Authorization": f"Bearer {no_roles}", "Accept": JSON}
        ).status_code
        == 403
    )


def test_node_management_uses_pelicans_rules(app):
    node = {
        "name": "fresh",
        "fqdn": "wings.example.com",
        "scheme": "https",
        "memory": 0,
        "memory_overallocate": -1,
        "disk": 10240,
        "disk_overallocate": 0,
        "cpu": 400,
        "cpu_overallocate": 0,
        "daemon_sftp": 2022,
        "daemon_listen": 8080,
        "daemon_connect": 443,
        "tags": ["asia"],
        "location_id": 1,
    }
    made = app.post(f"{APP}/nodes", json=node)
    assert made.status_code == 201, made.text
    attrs = made.json()["attributes"]
    assert attrs["tags"] == ["asia"] and attrs["daemon_connect"] == 443
    assert "location_id" not in attrs and made.json()["meta"]["resource"].endswith(
        f"/nodes/{attrs['id']}"
    )
    assert fields(
        app.post(
            f"{APP}/nodes", json={**node, "fqdn": "localhost", "cpu": -1, "daemon_connect": None}
        )
    ) == {"fqdn": "not_in", "cpu": "min", "daemon_connect": "required"}
    assert fields(app.patch(f"{APP}/nodes/{attrs['id']}", json={"name": "x"}))["fqdn"] == "required"
    renamed = app.patch(
        f"{APP}/nodes/{attrs['id']}", json={**node, "name": "renamed", "reset_secret": True}
    )
    assert renamed.status_code == 200 and renamed.json()["attributes"]["name"] == "renamed"
    # unlimited memory: a big server fits, by tag
    fits = app.get(
        f"{APP}/nodes/deployable", params={"memory": 10**6, "disk": 1, "tags[]": "asia"}
    ).json()["data"]
    assert [n["attributes"]["id"] for n in fits] == [attrs["id"]]
    assert app.delete(f"{APP}/nodes/{attrs['id']}").status_code == 204
    new_server(app, new_user(app, "nodes@example.com")["id"])  # on sim-node-1 (tag sim-eu)
    busy = app.delete(f"{APP}/nodes/1")
    assert busy.status_code == 400
    assert errors_of(busy)[0]["code"] == "HasActiveServersException"


def test_objects_keep_pelicans_attribute_order(app):
    """Pelican's objects are Pterodactyl's reshaped (simulators/pelican/transformers.py): the
    keys, their order and the nested limits are Pelican's, byte for byte in the JSON."""
    owner = new_user(app, "order@example.com")
    server = new_server(app, owner["id"])
    shown = app.get(f"{APP}/servers/{server['id']}", params={"include": "node,user"}).json()
    attrs = shown["attributes"]
    assert list(attrs) == [
        "id", "external_id", "uuid", "identifier", "name", "description", "status",
        "suspended", "limits", "feature_limits", "user", "node", "allocation", "egg",
        "container", "updated_at", "created_at", "relationships",
    ]  # fmt: skip
    assert list(attrs["limits"])[-2:] == ["oom_disabled", "oom_killer"]
    assert list(attrs["container"]) == ["startup_command", "image", "installed", "environment"]
    node = attrs["relationships"]["node"]["attributes"]
    assert list(node)[9:22] == [
        "memory", "memory_overallocate", "disk", "disk_overallocate", "cpu",
        "cpu_overallocate", "upload_size", "daemon_listen", "daemon_sftp",
        "daemon_sftp_alias", "daemon_connect", "daemon_base", "tags",
    ]  # fmt: skip
    assert "location_id" not in node and list(node["allocated_resources"]) == [
        "memory", "disk", "cpu",
    ]  # fmt: skip
    user = attrs["relationships"]["user"]["attributes"]
    assert list(user) == [
        "id", "external_id", "is_managed_externally", "uuid", "username", "email", "language",
        "root_admin", "2fa_enabled", "2fa", "created_at", "updated_at",
    ]  # fmt: skip
