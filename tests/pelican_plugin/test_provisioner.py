"""Each provisioner operation against the Pelican simulator over real HTTP, through the
store's services: create (egg variables, tags, CPU, idempotency), the Wings faults Pelican
answers differently from Pterodactyl, 429s, suspend/unsuspend/reinstall, terminate, build
changes, power and live status."""

from __future__ import annotations

import pytest

from builtin_plugins.panel_kit.api import server_environment
from builtin_plugins.pelican import links
from builtin_plugins.store.testing import buy
from kernel.extensions import db
from kernel.payments import ledger
from tests.pelican_plugin.conftest import (
    configure,
    customer,
    ids,
    paper_settings,
    pelican_product,
    settle,
)


def provisioner():
    from builtin_plugins.store.provisioning import provisioners

    return provisioners()["pelican"]


def panel_server(panel, service) -> dict:
    link = links.server_link(service.id)
    assert link is not None, f"service {service.id} has no Pelican server ({service.last_error})"
    return panel.app.get_server(link.server_id)


def servers_with(sim, external_id: str) -> list[dict]:
    return [s for s in sim.snapshot()["servers"] if s["external_id"] == external_id]


def refresh(service):
    db.session.expire_all()
    return db.session.get(type(service), service.id)


# --- create --------------------------------------------------------------------------------


def test_create_sends_every_variable_tags_and_the_oom_killer(ctx, panel, sim, sent):
    product = pelican_product(paper_settings(panel, oom_killer=True))
    user = customer("Alice.Buyer@Example.com")
    sim.clear_requests()
    service = buy(user, product, options={"var_MINECRAFT_VERSION": "1.20.1"})
    assert service.state == "active", service.last_error
    server = panel_server(panel, service)
    env = server_environment(server)
    assert env["MINECRAFT_VERSION"] == "1.20.1" and env["SERVER_JARFILE"] == "server.jar"
    assert env["BUILD_NUMBER"] == "latest" and env["MAX_PLAYERS"] == "20"
    assert server["external_id"] == f"pteroca-{service.id}"
    assert server["egg"] == ids(panel)["paper"] and "nest" not in server
    assert server["limits"]["oom_killer"] is True
    assert server["feature_limits"] == {"databases": 1, "allocations": 2, "backups": 2}
    node = panel.app.get_node(server["node"])
    assert "sim-eu" in node["tags"]
    create = next(r for r in sent if r["method"] == "POST" and r["path"].endswith("/servers"))
    assert "oom_disabled" not in create["body"] and "nest" not in create["body"]
    assert create["body"]["oom_killer"] is True
    # the owner is a Pelican user without names, email lower-cased
    owner = panel.app.get_user(links.user_link(user.id).panel_user_id)
    assert owner["email"] == "alice.buyer@example.com" and server["user"] == owner["id"]
    user_create = next(r for r in sent if r["method"] == "POST" and r["path"].endswith("/users"))
    assert not {"first_name", "last_name", "root_admin"} & set(user_create["body"])


def test_a_slot_plan_writes_the_slot_count(ctx, panel):
    product = pelican_product(paper_settings(panel), kind="slot", price=50, max_slots=64)
    service = buy(customer(), product, slots=12)
    assert service.state == "active", service.last_error
    assert server_environment(panel_server(panel, service))["MAX_PLAYERS"] == "12"


def test_a_customer_value_breaking_the_egg_rule_is_refused_before_the_charge(ctx, panel):
    from builtin_plugins.store.services import StoreError

    product = pelican_product(paper_settings(panel, variables="MAX_PLAYERS | editable"))
    user = customer(balance=5000)
    with pytest.raises(StoreError, match="Max Players variable must be between 1 and 100"):
        buy(user, product, options={"var_MAX_PLAYERS": "500"})
    assert ledger.balance(user.id) == 5000


def test_the_product_tag_chooses_the_node(ctx, panel, sim):
    product = pelican_product(paper_settings(panel, tags="sim-us"), slug="pel-us")
    service = buy(customer(), product)
    assert service.state == "active", service.last_error
    node = panel.app.get_node(panel_server(panel, service)["node"])
    assert "sim-us" in node["tags"] and node["name"] == "sim-node-2"


def test_the_customer_chooses_the_region_among_the_tags(ctx, panel, sim):
    from builtin_plugins.store.services import StoreError

    product = pelican_product(
        paper_settings(panel, tags="sim-eu, sim-us", choose_region=True), slug="pel-region"
    )
    fields = {f.key: f for f in provisioner().checkout_fields(product)}
    assert fields["region"].choices == ("sim-eu", "sim-us")
    with pytest.raises(StoreError, match="choose a region among sim-eu, sim-us"):
        buy(customer(balance=5000), product, options={"region": "mars"})
    service = buy(customer("b@example.com"), product, options={"region": "sim-us"})
    assert "sim-us" in panel.app.get_node(panel_server(panel, service)["node"])["tags"]


def test_a_tag_no_node_carries_fails_with_the_reason(ctx, panel, sim):
    product = pelican_product(paper_settings(panel, tags="mars"), slug="pel-mars")
    service = buy(customer(balance=3000), product)
    assert service.state == "provisioning_failed"
    assert "no usable node in nodes tagged mars" in service.last_error


def test_panel_deploy_sends_the_tags_and_the_port_range(ctx, pel_app, panel, sim, sent):
    configure(pel_app, node_policy="panel_deploy")
    product = pelican_product(paper_settings(panel, tags="sim-us"), slug="pel-deploy")
    sim.clear_requests()
    service = buy(customer(), product)
    assert service.state == "active", service.last_error
    create = next(r for r in sent if r["method"] == "POST" and r["path"].endswith("/servers"))
    assert create["body"]["deploy"] == {
        "tags": ["sim-us"],
        "locations": [],
        "dedicated_ip": False,
        "port_range": ["25565-25600"],
    }
    server = panel_server(panel, service)
    assert server["allocation"] is not None  # a port: Pelican gives none without a range


def test_panel_deploy_without_a_port_range_is_refused(ctx, pel_app, panel, sim):
    configure(pel_app, node_policy="panel_deploy")
    problems = provisioner().validate_settings(paper_settings(panel, port_range=""))
    assert problems and "without any port" in problems[0]
    product = pelican_product(paper_settings(panel, port_range=""), slug="pel-noport")
    service = buy(customer(balance=3000), product)
    assert service.state == "provisioning_failed" and "without any port" in service.last_error
    assert sim.snapshot()["servers"] == []


def test_a_create_is_adopted_through_the_external_id(ctx, panel, sim):
    product = pelican_product(paper_settings(panel))
    user = customer()
    service = buy(user, product)
    link = links.server_link(service.id)
    db.session.delete(link)
    db.session.commit()
    assert provisioner().create(service) == str(panel_server(panel, service)["id"])
    assert len(servers_with(sim, f"pteroca-{service.id}")) == 1
    assert links.server_link(service.id).origin == "adopted"


def test_a_server_of_another_user_with_our_external_id_is_not_adopted(ctx, panel, sim):
    from builtin_plugins.pelican.panel import external_id

    product = pelican_product(paper_settings(panel))
    other = sim.seed_users(["someone@else.example"])[0]
    user = customer(balance=3000)
    service = buy(user, product)
    server_id = panel_server(panel, service)["id"]
    panel.app.update_server_details(server_id, user=other)
    db.session.delete(links.server_link(service.id))
    db.session.commit()
    with pytest.raises(Exception, match="owned by another user"):
        provisioner().create(service)
    assert external_id(service) == f"pteroca-{service.id}"


# --- Wings faults ------------------------------------------------------------------------------


def test_wings_down_fails_the_order_leaves_nothing_and_a_retry_works(ctx, panel, sim):
    sim.set_switches(wings_down=True)
    product = pelican_product(paper_settings(panel))
    user = customer(balance=3000)
    service = buy(user, product)
    assert service.state == "provisioning_failed"
    assert "Wings" in service.last_error and "ConnectionException" in service.last_error
    assert ledger.balance(user.id) == 3000
    assert servers_with(sim, f"pteroca-{service.id}") == []  # Pelican removed it
    sim.set_switches(wings_down=False)
    from builtin_plugins.store import services as store

    assert store.retry_provisioning(service, charge=False).state == "active"


def test_a_wings_error_on_create_keeps_a_server_that_is_reinstalled(ctx, panel, sim, monkeypatch):
    """Pelican keeps the server when Wings answers an error (RequestException): the plugin
    finds it by the external id and runs the install again instead of leaving it stuck."""
    from builtin_plugins.pelican.client import ApplicationAPI

    real = ApplicationAPI.create_server

    def create_then_wings_recovers(self, body):
        sim.set_switches(wings_error=True)
        try:
            return real(self, body)
        finally:
            sim.set_switches(wings_error=False)

    monkeypatch.setattr(ApplicationAPI, "create_server", create_then_wings_recovers)
    product = pelican_product(paper_settings(panel))
    service = buy(customer(), product)
    assert service.state == "active", service.last_error
    kept = servers_with(sim, f"pteroca-{service.id}")
    assert len(kept) == 1
    assert any(r["path"].endswith(f"/servers/{kept[0]['id']}/reinstall") for r in sim.requests)
    settle()
    assert panel_server(panel, service)["status"] is None  # installed


def test_a_wings_error_that_lasts_removes_the_half_made_server(ctx, panel, sim):
    sim.set_switches(wings_error=True)
    product = pelican_product(paper_settings(panel))
    user = customer(balance=3000)
    service = buy(user, product)
    assert service.state == "provisioning_failed"
    assert "half-made server was removed" in service.last_error
    assert servers_with(sim, f"pteroca-{service.id}") == []
    assert ledger.balance(user.id) == 3000


def test_a_suspend_answered_500_by_wings_is_kept_by_pelican_and_counts_as_done(ctx, panel, sim):
    product = pelican_product(paper_settings(panel))
    service = buy(customer(), product)
    sim.set_switches(wings_error=True)
    provisioner().suspend(service)  # Pelican saved the status before Wings failed
    assert panel_server(panel, service)["status"] == "suspended"
    provisioner().unsuspend(service)
    assert panel_server(panel, service)["status"] is None


def test_a_build_saved_before_a_wings_error_counts_as_done(ctx, panel, sim):
    from builtin_plugins.store import services as store

    small = pelican_product(paper_settings(panel), slug="pel-small", price=1000)
    big = pelican_product(paper_settings(panel, memory=4096), slug="pel-big", price=2000)
    service = buy(customer(balance=50_000), small)
    sim.set_switches(wings_error=True)
    store.change_package(service, big)
    assert panel_server(panel, service)["limits"]["memory"] == 4096


def test_a_reinstall_wings_refuses_is_an_error_for_the_admin(ctx, panel, sim):
    from builtin_plugins.store.api import ProvisionError

    service = buy(customer(), pelican_product(paper_settings(panel)))
    sim.set_switches(wings_down=True)
    with pytest.raises(ProvisionError, match="reinstalling failed: Wings"):
        provisioner().reinstall(service)
    assert panel_server(panel, service)["status"] is None  # Pelican rolled it back


def test_a_failed_install_is_reinstalled_once_then_refunded(ctx, panel, sim):
    """Pelican's failed reinstall (``reinstall_failed``) counts as not installed too."""
    sim.set_switches(install_result="failed")
    user = customer(balance=5000)
    service = refresh(buy(user, pelican_product(paper_settings(panel), price=1500)))
    assert service.state == "active" and service.options["reinstalls"] == 1
    assert service.panel_state == "installing"
    assert panel_server(panel, service)["status"] == "reinstall_failed"
    assert provisioner().status(service).state == "unknown"  # not "offline"
    assert provisioner().converge(service).panel_state == "install_failed"
    settle()  # the free reinstall failed too: refunded, the server deleted
    service = refresh(service)
    assert service.state == "provisioning_failed"
    assert ledger.balance(user.id) == 5000 == ledger.ledger_sum(user.id)
    assert servers_with(sim, f"pteroca-{service.id}") == []


# --- 429 ---------------------------------------------------------------------------------------


def test_a_429_is_waited_out_with_its_retry_after(ctx, panel, sim, sleeps):
    product = pelican_product(paper_settings(panel))
    user = customer()  # linked at registration, before the panel throttles
    sim.set_switches(rate_limit={"count": 1, "retry_after": 3})
    service = buy(user, product)
    assert service.state == "active", service.last_error
    # the job's client slept out the Retry-After window (3 s less the moments since), then sent again
    assert any(2 < waited <= 3 for waited in sleeps), sleeps
    assert any(r["status"] == 429 for r in sim.requests)


def test_a_page_under_a_429_says_how_long_to_wait(ctx, panel, sim):
    service = buy(customer(), pelican_product(paper_settings(panel)))
    sim.set_switches(rate_limit={"count": 5, "retry_after": 9})
    status = provisioner().status(service)
    assert status.state == "unknown" and "9" in status.detail


# --- lifecycle -----------------------------------------------------------------------------


def test_suspend_unsuspend_and_reinstall(ctx, panel, sim):
    service = buy(customer(), pelican_product(paper_settings(panel)))
    provisioner().suspend(service)
    assert panel_server(panel, service)["status"] == "suspended"
    assert provisioner().status(service).state == "suspended"
    provisioner().unsuspend(service)
    assert panel_server(panel, service)["status"] is None
    sim.set_switches(install_seconds=3600)
    provisioner().reinstall(service)
    assert panel_server(panel, service)["status"] == "installing"
    assert provisioner().status(service).state == "installing"


def test_terminate_deletes_and_a_gone_server_counts_as_done(ctx, panel, sim):
    service = buy(customer(), pelican_product(paper_settings(panel)))
    server_id = panel_server(panel, service)["id"]
    provisioner().terminate(service)
    assert servers_with(sim, f"pteroca-{service.id}") == []
    assert links.server_link(service.id) is None
    provisioner().terminate(service)  # again: nothing left to delete, no error
    assert all(s["id"] != server_id for s in sim.snapshot()["servers"])


def test_terminate_when_wings_is_down_forces_the_delete(ctx, panel, sim):
    service = buy(customer(), pelican_product(paper_settings(panel)))
    sim.set_switches(wings_down=True)
    provisioner().terminate(service)
    assert servers_with(sim, f"pteroca-{service.id}") == []
    assert any(r["path"].endswith("/force") for r in sim.requests)


def test_operations_on_a_server_deleted_in_the_panel_say_so(ctx, panel, sim):
    from builtin_plugins.store.api import ProvisionError

    service = buy(customer(), pelican_product(paper_settings(panel)))
    panel.app.delete_server(panel_server(panel, service)["id"])
    with pytest.raises(ProvisionError, match="no longer exists in Pelican"):
        provisioner().suspend(service)
    assert provisioner().status(service).state == "unknown"
    found = provisioner().converge(service)
    assert found.panel_state == "missing" and "gone" in found.needs_human


def test_a_missing_panel_user_is_created_again_at_the_next_purchase(ctx, panel, sim):
    user = customer(balance=50_000)
    product = pelican_product(paper_settings(panel))
    first = buy(user, product)
    provisioner().terminate(first)
    old = links.user_link(user.id).panel_user_id
    panel.app.delete_user(old)
    db.session.delete(links.user_link(user.id))
    db.session.commit()
    second = buy(user, product)
    assert second.state == "active", second.last_error
    assert links.user_link(user.id).panel_user_id != old


# --- build changes -------------------------------------------------------------------------


def test_change_package_builds_then_updates_startup_keeping_customer_values(ctx, panel, sim, sent):
    from builtin_plugins.store import services as store

    small = pelican_product(paper_settings(panel), slug="pel-small", price=1000)
    big = pelican_product(
        paper_settings(
            panel,
            memory=4096,
            cpu=200,
            backups=5,
            oom_killer=True,
            variables="MINECRAFT_VERSION=1.21 | visible, editable\nBUILD_NUMBER=99 | visible",
        ),
        slug="pel-big",
        price=2000,
    )
    service = buy(customer(balance=50_000), small, options={"var_MINECRAFT_VERSION": "1.20.1"})
    sim.clear_requests()
    store.change_package(service, big)
    server = panel_server(panel, service)
    assert server["limits"]["memory"] == 4096 and server["limits"]["cpu"] == 200
    assert server["limits"]["oom_killer"] is True and server["feature_limits"]["backups"] == 5
    env = server_environment(server)
    assert env["MINECRAFT_VERSION"] == "1.20.1" and env["BUILD_NUMBER"] == "99"
    build = next(r for r in sent if r["path"].endswith("/build"))
    assert build["body"]["allocation"] == server["allocation"]  # always the primary
    patches = [r["path"].rsplit("/", 1)[-1] for r in sim.requests if r["method"] == "PATCH"]
    assert patches == ["build", "startup"]


def test_change_package_is_refused_when_the_node_lacks_cpu(ctx, panel, sim):
    from builtin_plugins.store import services as store

    small = pelican_product(paper_settings(panel), slug="pel-small")
    node_id = ids(panel)["nodes"]["sim-node-1"]
    with sim.state.lock:
        sim.state.nodes[node_id].cpu = 150  # a CPU budget of 1.5 threads, 100 % used
    hungry = pelican_product(paper_settings(panel, cpu=400), slug="pel-cpu", price=1000)
    service = buy(customer(balance=50_000), small)
    with pytest.raises(store.StoreError, match="lacks capacity: 300 % CPU more cpu"):
        store.change_package(service, hungry)
    assert panel_server(panel, service)["limits"]["cpu"] == 100


def test_change_package_is_refused_on_a_node_without_the_new_tag(ctx, panel, sim):
    from builtin_plugins.store import services as store

    eu = pelican_product(paper_settings(panel), slug="pel-eu")
    us = pelican_product(paper_settings(panel, tags="sim-us"), slug="pel-us2", price=1000)
    service = buy(customer(balance=50_000), eu)
    with pytest.raises(store.StoreError, match="carries none of the new plan's tags"):
        store.change_package(service, us)


# --- power and live status -----------------------------------------------------------------


def test_power_and_live_status(ctx, panel, sim):
    service = buy(customer(), pelican_product(paper_settings(panel)))
    provisioner().power(service, "start")
    status = provisioner().status(service)
    assert status.state == "running" and status.address.endswith(
        ":" + status.address.split(":")[-1]
    )
    assert ":255" in status.address
    provisioner().power(service, "stop")
    assert provisioner().status(service).state == "offline"
    from builtin_plugins.store.api import ProvisionError

    with pytest.raises(ProvisionError, match="must be one of"):
        provisioner().power(service, "explode")


def test_wings_unreachable_shows_status_unknown_not_offline(ctx, panel, sim):
    service = buy(customer(), pelican_product(paper_settings(panel)))
    sim.set_switches(wings_down=True)
    status = provisioner().status(service)
    assert status.state == "unknown" and "status unknown" in status.detail
