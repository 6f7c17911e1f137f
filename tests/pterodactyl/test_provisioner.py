"""Each provisioner operation over HTTP against the simulator, through the store's services."""

from __future__ import annotations

import time

import pytest

from builtin_plugins.panel_kit.api import Timeouts
from builtin_plugins.pterodactyl import links
from builtin_plugins.pterodactyl import panel as panel_settings
from builtin_plugins.pterodactyl.client import server_environment
from builtin_plugins.store.testing import buy
from kernel.extensions import db
from kernel.payments import ledger
from tests.pterodactyl.conftest import configure, ids, panel_customer, panel_product, paper_settings


def provisioner():
    from builtin_plugins.store.provisioning import provisioners

    return provisioners()["pterodactyl"]


def panel_server(panel, service) -> dict:
    link = links.server_link(service.id)
    assert link is not None, f"service {service.id} has no panel server ({service.last_error})"
    return panel.app.get_server(link.server_id)


def servers_with(sim, external_id: str) -> list[dict]:
    return [s for s in sim.snapshot()["servers"] if s["external_id"] == external_id]


# --- create --------------------------------------------------------------------------------


def test_create_sends_every_variable_with_defaults_filled(ctx, panel, sim):
    product = panel_product(paper_settings(panel))
    user = panel_customer()
    service = buy(user, product, options={"var_MINECRAFT_VERSION": "1.20.1"})
    assert service.state == "active", service.last_error
    server = panel_server(panel, service)
    assert server_environment(server) == {
        "MINECRAFT_VERSION": "1.20.1",
        "SERVER_JARFILE": "server.jar",
        "BUILD_NUMBER": "latest",
        "DL_PATH": "",
        "MAX_PLAYERS": "20",
    }
    assert server["external_id"] == f"pteroca-{service.id}"
    assert service.external_id == str(server["id"])
    assert server["user"] == links.user_link(user.id).panel_user_id
    assert server["limits"]["memory"] == 2048 and server["limits"]["disk"] == 10240
    assert server["feature_limits"] == {"databases": 1, "allocations": 2, "backups": 2}
    allocation = next(
        a
        for a in panel.app.list_node_allocations(server["node"])
        if a["id"] == server["allocation"]
    )
    assert 25565 <= allocation["port"] <= 25600
    assert panel.app.get_node(server["node"])["location_id"] == ids(panel)["eu"]
    assert server["container"]["image"]
    assert "{{SERVER_JARFILE}}" in server["container"]["startup_command"]


def test_a_slot_plan_writes_the_slot_count(ctx, panel):
    product = panel_product(paper_settings(panel), kind="slot", price=50, min_slots=1, max_slots=64)
    service = buy(panel_customer(), product, slots=12)
    assert service.state == "active", service.last_error
    assert server_environment(panel_server(panel, service))["MAX_PLAYERS"] == "12"


def test_a_customer_value_breaking_the_egg_rule_is_refused_before_the_charge(ctx, panel, sim):
    from builtin_plugins.store.services import StoreError

    product = panel_product(paper_settings(panel, variables="MAX_PLAYERS | editable"))
    user = panel_customer(balance=5000)
    with pytest.raises(StoreError, match="Max Players variable must be between 1 and 100"):
        buy(user, product, options={"var_MAX_PLAYERS": "500"})
    assert ledger.balance(user.id) == 5000
    assert len(sim.snapshot()["servers"]) == 0


def test_a_value_the_checkout_could_not_check_refunds_at_create(ctx, panel, sim, monkeypatch):
    """The panel was not reachable at checkout (nothing checked): the create refuses, refunds."""
    from builtin_plugins.pterodactyl.provisioner import PterodactylProvisioner

    monkeypatch.setattr(PterodactylProvisioner, "validate_options", lambda self, *a, **k: [])
    product = panel_product(paper_settings(panel, variables="MAX_PLAYERS | editable"))
    user = panel_customer(balance=5000)
    service = buy(user, product, options={"var_MAX_PLAYERS": "500"})
    assert service.state == "provisioning_failed"
    assert "Max Players variable must be between 1 and 100" in service.last_error
    assert ledger.balance(user.id) == 5000
    assert servers_with(sim, f"pteroca-{service.id}") == []


def test_the_least_loaded_node_with_room_is_chosen(ctx, panel, sim):
    seed = ids(panel)
    node1, node2 = seed["nodes"]["sim-node-1"], seed["nodes"]["sim-node-2"]
    owner = panel.app.create_user(
        email="heavy@example.com", username="heavy", first_name="H", last_name="Y"
    )
    egg = panel.app.get_egg(seed["nest"], seed["paper"])
    free = panel.app.list_node_allocations(node1, unassigned=True)[-1]
    panel.app.create_server(
        {  # fills most of node 1
            "name": "heavy",
            "user": owner["id"],
            "egg": seed["paper"],
            "docker_image": egg["docker_image"],
            "startup": egg["startup"],
            "environment": {
                "SERVER_JARFILE": "server.jar",
                "BUILD_NUMBER": "latest",
                "MAX_PLAYERS": "20",
            },
            "limits": {"memory": 60000, "swap": 0, "disk": 1000, "io": 500, "cpu": 100},
            "feature_limits": {"databases": 0, "allocations": 1, "backups": 0},
            "allocation": {"default": free["id"]},
        }
    )
    product = panel_product(paper_settings(panel, node_ids=f"{node1},{node2}", location_ids=""))
    service = buy(panel_customer(), product)
    assert panel_server(panel, service)["node"] == node2


def test_panel_deploy_lets_the_panel_place_it(ctx, panel, sim):
    configure(ctx, node_policy="panel_deploy")
    product = panel_product(paper_settings(panel, location_ids=str(ids(panel)["us"])))
    service = buy(panel_customer(), product)
    assert service.state == "active", service.last_error
    server = panel_server(panel, service)
    assert panel.app.get_node(server["node"])["location_id"] == ids(panel)["us"]


def posts(sim) -> list[dict]:
    return [
        r for r in sim.requests if r["method"] == "POST" and r["path"] == "/api/application/servers"
    ]


def test_no_free_allocation_in_the_port_range_fails_with_the_reason(ctx, panel, sim):
    product = panel_product(paper_settings(panel, port_range="30000-30010"))
    user = panel_customer(balance=4000)
    service = buy(user, product)
    assert service.state == "provisioning_failed" and ledger.balance(user.id) == 4000
    assert "no free allocation in ports 30000-30010" in service.last_error
    assert posts(sim) == []


def test_no_free_allocation_at_all_fails_with_the_reason(ctx, panel, sim):
    sim.set_switches(no_allocations=True)
    service = buy(panel_customer(), panel_product(paper_settings(panel)))
    assert service.state == "provisioning_failed"
    assert "no free allocation in ports 25565-25600" in service.last_error


def test_an_allocation_taken_meanwhile_is_replaced(ctx, panel, sim, monkeypatch):
    from builtin_plugins.pterodactyl import placement
    from tests.pterodactyl.test_client import new_server

    real, taken = placement.free_allocation, []
    rival = panel.app.create_user(
        email="rival@example.com", username="rival", first_name="R", last_name="Ival"
    )

    def racing(client, node_id, config, skip):
        chosen = real(client, node_id, config, skip)
        if not taken:  # another site's create claims it between our look and our create
            taken.append(new_server(panel, rival["id"], allocation={"default": chosen["id"]}))
        return chosen

    monkeypatch.setattr(placement, "free_allocation", racing)
    service = buy(panel_customer(), panel_product(paper_settings(panel)))
    assert service.state == "active", service.last_error
    assert len(posts(sim)) == 3  # the rival's, ours refused (422), ours again
    assert panel_server(panel, service)["allocation"] != taken[0]["allocation"]


def test_no_allocation_for_a_panel_deployment_says_so(ctx, panel, sim):
    configure(ctx, node_policy="panel_deploy")
    sim.set_switches(no_allocations=True)
    service = buy(panel_customer(), panel_product(paper_settings(panel)))
    assert service.state == "provisioning_failed"
    assert "No allocations satisfying the requirements" in service.last_error


def test_a_create_racing_a_timeout_is_recovered_through_the_external_id(
    ctx, panel, sim, monkeypatch, sleeps
):
    import importlib

    # the panel module the provisioner imports now: a module-level import of this file can be
    # a generation older when an earlier test in this process admitted the plugin again
    current = importlib.import_module(panel_settings.__name__)
    timeouts = importlib.import_module(Timeouts.__module__).Timeouts
    monkeypatch.setitem(current.CLIENT_OPTIONS, "timeouts", timeouts(read=5, wings=0.5))
    sim.set_switches(delay_next_create=2.0)
    product = panel_product(paper_settings(panel))
    service = buy(panel_customer(), product)
    assert service.state == "active", service.last_error
    assert len(servers_with(sim, f"pteroca-{service.id}")) == 1
    assert links.server_link(service.id).origin == "adopted"
    deadline = time.monotonic() + 5  # the held-back answer is logged once it is sent
    while time.monotonic() < deadline and not posts(sim):
        time.sleep(0.05)
    assert len(posts(sim)) == 1  # adopted, not created again


def test_a_create_failing_with_a_5xx_is_looked_up_then_sent_again(ctx, panel, sim, sleeps):
    sim.set_switches(
        fail_next={"count": 1, "status": 504, "method": "POST", "path": "/api/application/servers"}
    )
    product = panel_product(paper_settings(panel))
    service = buy(panel_customer(), product)
    assert service.state == "active", service.last_error
    assert len(servers_with(sim, f"pteroca-{service.id}")) == 1
    lookup = f"/api/application/servers/external/pteroca-{service.id}"
    lookups = [r for r in sim.requests if r["path"] == lookup]
    assert len(lookups) == 2  # before the first create, and after the failed one
    assert sleeps  # waited before sending it again


def test_wings_down_fails_the_order_and_leaves_nothing(ctx, panel, sim):
    sim.set_switches(wings_down=True)
    product = panel_product(paper_settings(panel))
    user = panel_customer(balance=3000)
    service = buy(user, product)
    assert service.state == "provisioning_failed"
    assert "504" in service.last_error or "connection" in service.last_error.lower()
    assert ledger.balance(user.id) == 3000
    assert servers_with(sim, f"pteroca-{service.id}") == []
    sim.set_switches(wings_down=False)  # staff retry once Wings is back
    from builtin_plugins.store import services as store

    retried = store.retry_provisioning(service, charge=False)
    assert retried.state == "active", retried.last_error


def test_an_existing_server_of_another_user_is_not_adopted(ctx, panel, sim):
    product = panel_product(paper_settings(panel))
    user = panel_customer()
    stranger = panel.app.create_user(
        email="stranger@example.com", username="stranger", first_name="S", last_name="T"
    )
    next_id = (db.session.scalar(db.text("SELECT max(id) FROM store_service")) or 0) + 1
    seed = ids(panel)
    egg = panel.app.get_egg(seed["nest"], seed["paper"])
    free = panel.app.list_node_allocations(seed["nodes"]["sim-node-1"], unassigned=True)[-1]
    panel.app.create_server(
        {
            "name": "other site",
            "user": stranger["id"],
            "egg": seed["paper"],
            "docker_image": egg["docker_image"],
            "startup": egg["startup"],
            "environment": {
                "SERVER_JARFILE": "server.jar",
                "BUILD_NUMBER": "latest",
                "MAX_PLAYERS": "20",
            },
            "limits": {"memory": 512, "swap": 0, "disk": 512, "io": 500, "cpu": 100},
            "feature_limits": {"databases": 0, "allocations": 1, "backups": 0},
            "allocation": {"default": free["id"]},
            "external_id": f"pteroca-{next_id}",
        }
    )
    service = buy(user, product)
    assert service.id == next_id and service.state == "provisioning_failed"
    assert "external id prefix" in service.last_error


# --- lifecycle -----------------------------------------------------------------------------


def test_suspend_unsuspend_and_reinstall(ctx, panel, sim):
    service = buy(panel_customer(), panel_product(paper_settings(panel)))
    server_id = links.server_link(service.id).server_id
    provisioner().suspend(service)
    assert sim.server(server_id).status == "suspended"
    provisioner().suspend(service)  # idempotent
    assert provisioner().status(service).state == "suspended"
    provisioner().unsuspend(service)
    assert sim.server(server_id).status is None
    sim.set_switches(install_seconds=3600)
    provisioner().reinstall(service)
    assert sim.server(server_id).status == "installing"
    assert provisioner().status(service).state == "installing"


def test_live_status_follows_the_power_state(ctx, panel, sim):
    service = buy(panel_customer(), panel_product(paper_settings(panel)))
    assert provisioner().status(service).state == "offline"
    panel.client.power(links.identifier_for(service), "start")
    status = provisioner().status(service)
    assert status.state == "running" and status.running


def test_power_signals_reach_the_panel_through_the_client_api(ctx, panel, sim):
    """The REST API's power endpoint (and any caller of ``Provisioner.power``) starts, restarts
    and stops the real server; a signal the panel refuses is a ProvisionError, not a crash."""
    from builtin_plugins.store.provisioning import ProvisionError

    service = buy(panel_customer(), panel_product(paper_settings(panel)))
    provisioner().power(service, "start")
    assert provisioner().status(service).state == "running"
    provisioner().power(service, "restart")
    assert provisioner().status(service).state == "running"
    provisioner().power(service, "stop")
    assert provisioner().status(service).state == "offline"
    with pytest.raises(ProvisionError):
        provisioner().power(service, "explode")
    provisioner().suspend(service)
    with pytest.raises(ProvisionError):
        provisioner().power(service, "start")  # the panel refuses a suspended server


def test_power_needs_the_client_key_and_a_linked_server(ctx, panel, sim):
    from builtin_plugins.store.provisioning import ProvisionError

    service = buy(panel_customer(), panel_product(paper_settings(panel)))
    configure(ctx, client_key="")
    with pytest.raises(ProvisionError, match="client API key"):
        provisioner().power(service, "start")


def test_terminate_deletes_and_a_gone_server_counts_as_done(ctx, panel, sim):
    from builtin_plugins.store import services as store

    product = panel_product(paper_settings(panel))
    first, second = buy(panel_customer(), product), buy(panel_customer("b2@example.com"), product)
    first_id = links.server_link(first.id).server_id
    store.terminate(first)
    assert first.state == "terminated"
    with pytest.raises(KeyError):
        sim.server(first_id)
    second_id = links.server_link(second.id).server_id
    panel.app.delete_server(second_id)  # gone behind our back
    store.terminate(second)
    assert second.state == "terminated"
    assert links.server_link(second.id) is None


def test_terminate_when_wings_refuses_forces_the_delete(ctx, panel, sim):
    from builtin_plugins.store import services as store

    service = buy(panel_customer(), panel_product(paper_settings(panel)))
    server_id = links.server_link(service.id).server_id
    sim.set_switches(wings_down=True)
    store.terminate(service)
    assert service.state == "terminated"
    with pytest.raises(KeyError):
        sim.server(server_id)


# --- change package ------------------------------------------------------------------------


def test_change_package_builds_then_updates_startup_keeping_customer_values(ctx, panel, sim):
    from builtin_plugins.store import services as store

    small = panel_product(paper_settings(panel), slug="paper-small", price=1000)
    big = panel_product(
        paper_settings(
            panel,
            memory=4096,
            disk=20480,
            backups=5,
            variables="MINECRAFT_VERSION=1.21 | visible, editable\nBUILD_NUMBER=99 | visible",
        ),
        slug="paper-big",
        price=2000,
    )
    service = buy(
        panel_customer(balance=50_000), small, options={"var_MINECRAFT_VERSION": "1.20.1"}
    )
    identifier = links.identifier_for(service)
    panel.client.update_variable(identifier, "MINECRAFT_VERSION", "1.18.2")  # on the startup tab
    sim.clear_requests()
    store.change_package(service, big)
    server = panel_server(panel, service)
    assert server["limits"]["memory"] == 4096 and server["feature_limits"]["backups"] == 5
    env = server_environment(server)
    assert env["MINECRAFT_VERSION"] == "1.18.2"  # the customer's value survives
    assert env["BUILD_NUMBER"] == "99" and env["SERVER_JARFILE"] == "server.jar"
    patches = [r["path"].rsplit("/", 1)[-1] for r in sim.requests if r["method"] == "PATCH"]
    assert patches == ["build", "startup"]
    assert service.product_id == big.id


def test_change_package_is_refused_when_the_node_lacks_capacity(ctx, panel, sim):
    from builtin_plugins.store import services as store

    small = panel_product(paper_settings(panel), slug="paper-small")
    huge = panel_product(paper_settings(panel, memory=10_000_000), slug="paper-huge", price=1000)
    user = panel_customer(balance=50_000)
    service = buy(user, small)
    before = ledger.balance(user.id)
    with pytest.raises(store.StoreError) as caught:
        store.change_package(service, huge)
    assert "lacks capacity" in str(caught.value) and "memory" in str(caught.value)
    assert panel_server(panel, service)["limits"]["memory"] == 2048
    assert ledger.balance(user.id) == before and service.product_id == small.id


def test_change_package_is_refused_when_ports_do_not_fit(ctx, panel, sim):
    from builtin_plugins.store import services as store

    two = panel_product(paper_settings(panel, allocations=3), slug="paper-ports")
    one = panel_product(paper_settings(panel, allocations=1), slug="paper-one", price=900)
    service = buy(panel_customer(balance=50_000), two)
    sim.set_switches(auto_allocation=True)
    panel.client.assign_allocation(links.identifier_for(service))
    with pytest.raises(store.StoreError) as caught:
        store.change_package(service, one)
    assert "2 ports" in str(caught.value)
