"""The client API methods (docs/reference/pterodactyl_api.md §4.2 "Core endpoints" and §4.3
"Other client endpoints") the customers' server tabs use, against the
simulator with the root admin's client key."""

from __future__ import annotations

import pytest

from tests.pterodactyl.test_client import new_server, new_user


@pytest.fixture
def errors(panel):
    """The errors module of the code under test, imported when the test runs (as ``panel``'s
    client is): a test that admitted the plugin again earlier in this process replaced the
    plugin's modules, and a module-level import would hold the previous generation's classes."""
    import importlib

    return importlib.import_module("builtin_plugins.panel_kit.errors")


@pytest.fixture
def server(panel, sim):
    owner = new_user(panel, "tabs@example.com", "tabs")
    created = new_server(
        panel, owner["id"], feature_limits={"databases": 2, "allocations": 3, "backups": 3}
    )
    panel.app.t.request("GET", "/servers")  # installs finish by the next request
    return created["identifier"]


def test_details_resources_power_and_console(panel, server, errors):
    details = panel.client.server(server)
    assert details["identifier"] == server and details["meta"]["user_permissions"][0] == "*"
    assert details["relationships"]["allocations"][0]["is_default"] is True
    with pytest.raises(errors.ServerOffline):
        panel.client.send_command(server, "say hi")
    panel.client.power(server, "start")
    assert panel.client.resources(server)["current_state"] == "running"
    panel.client.send_command(server, "say hi")
    socket = panel.client.websocket(server)
    assert socket["token"].count(".") == 2 and socket["socket"].startswith("ws")
    with pytest.raises(ValueError):
        panel.client.power(server, "explode")
    with pytest.raises(ValueError):
        panel.client.resources("../../etc")
    activity = panel.client.activity(server)
    assert activity.items and activity.total >= 1


def test_startup_variables_and_settings(panel, server, errors):
    startup = panel.client.startup(server)
    names = {v["env_variable"] for v in startup["variables"]}
    assert "SERVER_JARFILE" in names and "DL_PATH" not in names  # not user viewable
    assert startup["meta"]["docker_images"]
    changed = panel.client.update_variable(server, "MAX_PLAYERS", "42")
    assert changed["server_value"] == "42"
    with pytest.raises(errors.ValidationFailed):
        panel.client.update_variable(server, "MAX_PLAYERS", "1000")
    with pytest.raises(errors.PanelRefused):
        panel.client.update_variable(server, "BUILD_NUMBER", "7")  # read-only
    panel.client.rename(server, "Renamed", "new description")
    assert panel.client.server(server)["name"] == "Renamed"
    image = next(iter(startup["meta"]["docker_images"].values()))
    panel.client.set_docker_image(server, image)
    panel.client.reinstall(server)


def test_files(panel, server):
    panel.client.write_file(server, "/notes.txt", "hello world")
    assert panel.client.file_contents(server, "/notes.txt") == "hello world"
    panel.client.create_folder(server, "/", "backup")
    panel.client.copy_file(server, "/notes.txt")
    panel.client.rename_files(server, "/", [("notes.txt", "backup/notes.txt")])
    listed = {f["name"] for f in panel.client.list_files(server, "/backup")}
    assert "notes.txt" in listed
    archive = panel.client.compress_files(server, "/", ["backup"])
    assert archive["name"].endswith((".tar.gz", ".zip"))
    panel.client.decompress_file(server, "/", archive["name"])
    panel.client.chmod_files(server, "/", [("backup", "755")])
    panel.client.delete_files(server, "/", ["backup", archive["name"]])
    assert panel.client.file_download_url(server, "/server.properties").startswith("http")
    assert panel.client.file_upload_url(server).startswith("http")
    panel.client.pull_file(server, "https://example.com/plugin.jar", directory="/")


def test_backups(panel, server):
    backup = panel.client.create_backup(server, name="first")
    page = panel.client.list_backups(server)
    assert [b["uuid"] for b in page.items] == [backup["uuid"]] and "backup_count" in page.meta
    assert panel.client.get_backup(server, backup["uuid"])["name"] == "first"
    assert panel.client.toggle_backup_lock(server, backup["uuid"])["is_locked"] is True
    panel.client.toggle_backup_lock(server, backup["uuid"])
    assert panel.client.backup_download_url(server, backup["uuid"]).startswith("http")
    panel.client.restore_backup(server, backup["uuid"], truncate=False)
    panel.app.t.request("GET", "/servers")  # the restore finishes by the next request
    panel.client.delete_backup(server, backup["uuid"])
    assert panel.client.list_backups(server).items == []


def test_databases(panel, server):
    created = panel.client.create_database(server, "stats")
    assert created["relationships"]["password"]["password"]
    listed = panel.client.list_databases(server, include_password=True)
    assert [d["id"] for d in listed] == [created["id"]]
    rotated = panel.client.rotate_database_password(server, created["id"])
    assert (
        rotated["relationships"]["password"]["password"]
        != created["relationships"]["password"]["password"]
    )
    panel.client.delete_database(server, created["id"])
    assert panel.client.list_databases(server) == []


def test_schedules_and_tasks(panel, server):
    schedule = panel.client.create_schedule(server, name="nightly", minute="0", hour="4")
    assert panel.client.get_schedule(server, schedule["id"])["cron"]["hour"] == "4"
    panel.client.update_schedule(
        server, schedule["id"], name="nightly restart", minute="30", hour="4"
    )
    task = panel.client.create_task(server, schedule["id"], action="power", payload="restart")
    panel.client.update_task(
        server, schedule["id"], task["id"], action="command", payload="say restarting"
    )
    panel.client.execute_schedule(server, schedule["id"])
    found = panel.client.list_schedules(server)
    assert found[0]["name"] == "nightly restart"
    assert found[0]["relationships"]["tasks"][0]["action"] == "command"
    panel.client.delete_task(server, schedule["id"], task["id"])
    panel.client.delete_schedule(server, schedule["id"])
    assert panel.client.list_schedules(server) == []


def test_network_allocations(panel, server):
    primary = panel.client.list_allocations(server)[0]
    extra = panel.client.assign_allocation(server)
    assert (
        panel.client.set_allocation_notes(server, extra["id"], "query port")["notes"]
        == "query port"
    )
    panel.client.set_primary_allocation(server, extra["id"])
    panel.client.set_primary_allocation(server, primary["id"])
    panel.client.delete_allocation(server, extra["id"])
    assert [a["id"] for a in panel.client.list_allocations(server)] == [primary["id"]]


def test_subusers(panel, server):
    created = panel.client.create_subuser(server, "friend@example.com", ["control.console"])
    assert "websocket.connect" in created["permissions"]
    assert [s["uuid"] for s in panel.client.list_subusers(server)] == [created["uuid"]]
    updated = panel.client.update_subuser(server, created["uuid"], ["control.start"])
    assert "control.start" in updated["permissions"]
    assert panel.client.get_subuser(server, created["uuid"])["email"] == "friend@example.com"
    panel.client.delete_subuser(server, created["uuid"])
    assert panel.client.list_subusers(server) == []


def test_account_permissions_and_server_list(panel, server):
    assert panel.client.account()["admin"] is True
    assert "control" in panel.client.permissions()
    listed = panel.client.list_servers(type="admin-all")
    assert server in {s["identifier"] for s in listed.items}
