"""The panel client over HTTP against the simulator: envelopes, pagination, typed errors,
retries, and the quirks of docs/reference/pterodactyl_api.md §7 "Behaviours a provisioning
client must handle" (partial filters, replacing PATCH bodies)."""

from __future__ import annotations

import pytest

from builtin_plugins.panel_kit.api import RetryPolicy, errors
from builtin_plugins.pterodactyl.client import PanelClient, egg_variables, server_environment
from tests.pterodactyl.conftest import ids


def calls(sim, method: str, prefix: str) -> list[dict]:
    return [r for r in sim.requests if r["method"] == method and r["path"].startswith(prefix)]


def new_user(panel, email: str, username: str | None = None) -> dict:
    return panel.app.create_user(
        email=email, username=username or email.split("@")[0], first_name="Test", last_name="User"
    )


def new_server(panel, owner: int, *, external_id: str | None = None, **overrides) -> dict:
    seed = ids(panel)
    egg = panel.app.get_egg(seed["nest"], seed["paper"])
    body = {
        "name": "raw",
        "user": owner,
        "egg": seed["paper"],
        "docker_image": egg["docker_image"],
        "startup": egg["startup"],
        "environment": {v["env_variable"]: v["default_value"] for v in egg_variables(egg)},
        "limits": {"memory": 1024, "swap": 0, "disk": 2048, "io": 500, "cpu": 100},
        "feature_limits": {"databases": 1, "allocations": 2, "backups": 1},
        "external_id": external_id,
        "description": "made by a test",
    }
    body.update(overrides)
    if "deploy" not in body and "allocation" not in body:
        free = panel.app.list_node_allocations(seed["nodes"]["sim-node-1"], unassigned=True)
        body["allocation"] = {"default": free[0]["id"]}
    return panel.app.create_server(body)


# --- envelopes and pagination --------------------------------------------------------------


def test_items_are_unwrapped_with_relationships(panel):
    seed = ids(panel)
    egg = panel.app.get_egg(seed["nest"], seed["paper"])
    assert egg["name"] == "Paper"
    names = {v["env_variable"] for v in egg_variables(egg)}
    assert {"SERVER_JARFILE", "MINECRAFT_VERSION", "MAX_PLAYERS"} <= names


def test_pagination_is_followed_to_the_end_keeping_filters(panel, sim):
    for n in range(7):
        new_user(panel, f"pager{n}@example.com")
    new_user(panel, "someone@example.com")
    sim.clear_requests()
    found = panel.app.t.all("/users", {"filter[email]": "pager"}, per_page=2)
    assert sorted(u["email"] for u in found) == [f"pager{n}@example.com" for n in range(7)]
    pages = calls(sim, "GET", "/api/application/users")
    assert len(pages) == 4  # 2 + 2 + 2 + 1
    for number, request in enumerate(pages, 1):
        query = request["query"]
        assert f"page={number}" in query and "per_page=2" in query and "pager" in query


def test_every_allocation_of_a_node_is_listed(panel, sim):
    node = ids(panel)["nodes"]["sim-node-1"]
    listed = panel.app.list_node_allocations(node)
    seeded = next(n for n in sim.snapshot()["nodes"] if n["id"] == node)["allocations"]
    assert len(listed) == seeded and len({a["id"] for a in listed}) == seeded


# --- typed errors --------------------------------------------------------------------------


def test_not_found_is_typed_with_code_status_and_detail(panel):
    with pytest.raises(errors.NotFound) as caught:
        panel.app.get_server(987654)
    assert caught.value.status == 404 and caught.value.code == "NotFoundHttpException"
    assert caught.value.detail


def test_validation_errors_carry_each_source_field(panel):
    with pytest.raises(errors.ValidationFailed) as caught:
        panel.app.create_user(email="not-an-email", username="-x", first_name="A", last_name="B")
    exc = caught.value
    assert exc.status == 422 and exc.code == "ValidationException"
    assert exc.has("email", "email") and exc.has("username")
    assert "field email" in str(exc)


def test_application_key_on_the_client_api_is_a_wrong_key_type(sim):
    with PanelClient(sim.url, client_key=sim.application_key) as client:
        with pytest.raises(errors.WrongKeyType) as caught:
            client.client.account()
    assert caught.value.status == 403


def test_unknown_key_is_an_authentication_failure(sim):
    with PanelClient(sim.url, "ptla_" + "x" * 43) as client:
        with pytest.raises(errors.AuthenticationFailed):
            client.app.list_locations()


# --- retries -------------------------------------------------------------------------------


def test_429_waits_for_retry_after_then_succeeds(panel, sim, sleeps):
    sim.set_switches(rate_limit={"count": 2, "retry_after": 7})
    assert panel.app.list_locations()
    assert sleeps == [7.0, 7.0]


def test_429_retries_even_a_create(panel, sim, sleeps):
    sim.set_switches(rate_limit={"count": 1, "retry_after": 3})
    created = new_user(panel, "throttled@example.com")
    assert created["email"] == "throttled@example.com" and sleeps == [3.0]
    assert len(calls(sim, "POST", "/api/application/users")) == 2


def test_429_gives_up_after_the_policy_and_says_so(sim):
    waits: list[float] = []
    sim.set_switches(rate_limit={"count": 10, "retry_after": 2})
    with PanelClient(
        sim.url, sim.application_key, sleep=waits.append, retry=RetryPolicy(rate_limit_attempts=3)
    ) as client:
        with pytest.raises(errors.RateLimited) as caught:
            client.app.list_locations()
    assert caught.value.retry_after == 2 and caught.value.status == 429 and waits == [2.0, 2.0]


@pytest.mark.parametrize("status", [502, 503, 504])
def test_5xx_on_a_read_is_retried_with_backoff(panel, sim, sleeps, status):
    sim.set_switches(fail_next={"count": 2, "status": status, "path": "/api/application/nodes*"})
    assert panel.app.list_nodes()
    assert sleeps == [1.0, 2.0]


def test_a_dropped_connection_on_a_read_is_retried(panel, sim, sleeps):
    sim.set_switches(fail_next={"count": 1, "status": 0, "path": "/api/application/locations*"})
    assert panel.app.list_locations()
    assert sleeps == [1.0]


def test_5xx_retries_end_with_the_typed_error(sim):
    waits: list[float] = []
    sim.set_switches(
        fail_next={"count": 9, "status": 504, "path": "/api/application/nodes*", "body": "json"}
    )
    with PanelClient(
        sim.url, sim.application_key, sleep=waits.append, retry=RetryPolicy(attempts=3)
    ) as client:
        with pytest.raises(errors.PanelError) as caught:
            client.app.list_nodes()
    assert caught.value.status == 504 and waits == [1.0, 2.0]


def test_a_create_is_not_retried_on_a_5xx(panel, sim, sleeps):
    owner = new_user(panel, "owner@example.com")
    sim.set_switches(
        fail_next={"count": 1, "status": 502, "path": "/api/application/servers", "method": "POST"}
    )
    with pytest.raises(errors.PanelError) as caught:
        new_server(panel, owner["id"], external_id="no-retry-1")
    assert caught.value.status == 502 and sleeps == []
    assert panel.app.get_server_by_external_id("no-retry-1") is None


@pytest.mark.parametrize("trigger", ["missing", "invalid"])
def test_4xx_is_not_retried(panel, sim, sleeps, trigger):
    sim.clear_requests()
    with pytest.raises(errors.PanelError) as caught:
        if trigger == "missing":
            panel.app.get_user(424242)
        else:
            panel.app.create_user(email="bad", username="ok-name", first_name="A", last_name="B")
    assert caught.value.status in (404, 422)
    assert len(sim.requests) == 1 and sleeps == []


# --- pterodactyl_api.md §7 "Behaviours a provisioning client must handle" --------------------


def test_email_filter_is_partial_so_the_exact_match_is_ours(panel):
    bob = new_user(panel, "bob@x.io", "bob")
    new_user(panel, "jbob@x.io", "jbob")
    assert {u["email"] for u in panel.app.list_users(email="bob@x.io")} == {"bob@x.io", "jbob@x.io"}
    assert panel.app.find_user_by_email("bob@x.io")["id"] == bob["id"]
    assert panel.app.find_user_by_email("BOB@X.IO")["id"] == bob["id"]
    assert panel.app.find_user_by_email("ob@x.io") is None


def test_user_patch_replaces_so_the_client_reads_first(panel):
    user = new_user(panel, "patch@example.com", "patcher")
    with pytest.raises(errors.ValidationFailed) as caught:  # what a naive partial PATCH gets
        panel.app.t.request("PATCH", f"/users/{user['id']}", json={"first_name": "New"})
    assert caught.value.has("email", "required") and caught.value.has("username", "required")
    updated = panel.app.update_user(user["id"], first_name="New")
    assert (updated["first_name"], updated["email"], updated["username"]) == (
        "New",
        "patch@example.com",
        "patcher",
    )


def test_details_patch_keeps_external_id_and_description(panel):
    owner = new_user(panel, "details@example.com")
    server = new_server(panel, owner["id"], external_id="keep-me")
    renamed = panel.app.update_server_details(server["id"], name="Renamed")
    assert (renamed["name"], renamed["external_id"], renamed["description"]) == (
        "Renamed",
        "keep-me",
        "made by a test",
    )
    raw = panel.app.t.item(
        "PATCH", f"/servers/{server['id']}/details", json={"name": "Raw", "user": owner["id"]}
    )
    assert raw["external_id"] is None and raw["description"] == ""  # the quirk itself


def test_startup_patch_keeps_the_variables_not_given(panel):
    owner = new_user(panel, "startup@example.com")
    server = new_server(panel, owner["id"])
    panel.app.update_server_startup(server["id"], environment={"MINECRAFT_VERSION": "1.19.2"})
    env = server_environment(panel.app.get_server(server["id"]))
    assert env["MINECRAFT_VERSION"] == "1.19.2" and env["SERVER_JARFILE"] == "server.jar"
    assert env["MAX_PLAYERS"] == "20"
    with pytest.raises(errors.ValidationFailed) as caught:  # a partial environment blanks the rest
        panel.app.t.request(
            "PATCH",
            f"/servers/{server['id']}/startup",
            json={
                "startup": server["container"]["startup_command"],
                "egg": server["egg"],
                "image": server["container"]["image"],
                "skip_scripts": False,
                "environment": {"MINECRAFT_VERSION": "1.18"},
            },
        )
    assert caught.value.has("environment.SERVER_JARFILE", "required")


def test_build_patch_keeps_the_allocation_limit(panel):
    owner = new_user(panel, "build@example.com")
    server = new_server(panel, owner["id"])
    updated = panel.app.update_server_build(server["id"], limits={"memory": 3072})
    assert updated["limits"]["memory"] == 3072 and updated["limits"]["disk"] == 2048
    assert updated["feature_limits"] == {"databases": 1, "allocations": 2, "backups": 1}
    assert updated["allocation"] == server["allocation"]


def test_create_without_every_variable_stores_blanks(panel):
    seed = ids(panel)
    owner = new_user(panel, "blank@example.com")
    server = new_server(
        panel,
        owner["id"],
        environment={"SERVER_JARFILE": "server.jar", "BUILD_NUMBER": "latest", "MAX_PLAYERS": "20"},
    )
    env = server_environment(panel.app.get_server(server["id"]))
    assert env["MINECRAFT_VERSION"] == ""  # not the egg's default "latest"
    assert seed["paper"] == server["egg"]


def test_client_api_answers_409_while_installing_or_suspended(panel, sim):
    owner = new_user(panel, "gate@example.com")
    sim.set_switches(install_seconds=3600)
    server = new_server(panel, owner["id"])
    with pytest.raises(errors.ServerStateConflict) as caught:
        panel.client.resources(server["identifier"])
    assert caught.value.status == 409 and caught.value.state == "installing"
    assert panel.client.server(server["identifier"])["identifier"] == server["identifier"]
    sim.finish_install(server["id"])
    assert panel.client.resources(server["identifier"])["current_state"] in ("offline", "stopped")
    panel.app.suspend_server(server["id"])
    panel.app.suspend_server(server["id"])  # idempotent
    with pytest.raises(errors.ServerStateConflict) as caught:
        panel.client.power(server["identifier"], "start")
    assert caught.value.state == "suspended"


def test_no_free_allocation_is_no_capacity(panel, sim):
    owner = new_user(panel, "full@example.com")
    sim.set_switches(no_allocations=True)
    with pytest.raises(errors.NoCapacity) as caught:
        new_server(
            panel, owner["id"], deploy={"locations": [], "dedicated_ip": False, "port_range": []}
        )
    assert caught.value.status == 400 and caught.value.code == "NoViableAllocationException"


def test_a_taken_allocation_is_refused_by_field(panel):
    owner = new_user(panel, "taken@example.com")
    first = new_server(panel, owner["id"])
    with pytest.raises(errors.ValidationFailed) as caught:
        new_server(panel, owner["id"], allocation={"default": first["allocation"]})
    assert caught.value.has("allocation.default", "exists")


def test_deleting_a_user_with_servers_is_refused(panel):
    owner = new_user(panel, "busy@example.com")
    server = new_server(panel, owner["id"])
    with pytest.raises(errors.PanelRefused) as caught:
        panel.app.delete_user(owner["id"])
    assert caught.value.status == 400 and "active servers" in caught.value.detail
    panel.app.delete_server(server["id"])
    with pytest.raises(errors.NotFound):
        panel.app.delete_server(server["id"])  # a second delete is a 404
    panel.app.delete_user(owner["id"])


def test_deployable_nodes_is_empty_not_an_error_when_nothing_fits(panel):
    assert panel.app.deployable_nodes(memory=10_000_000, disk=1) == []
    assert panel.app.deployable_nodes(memory=1024, disk=1024)
