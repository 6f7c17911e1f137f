"""Reconcile and import against the Pelican simulator, and one shop selling on Pelican and
Pterodactyl at once."""

from __future__ import annotations

from builtin_plugins.pelican import links
from builtin_plugins.pelican.importer import ImportRefused, import_servers
from builtin_plugins.pelican.reconcile import reconcile
from builtin_plugins.store.testing import buy
from kernel.extensions import db
from tests.pelican_plugin.conftest import customer, paper_settings, pelican_product, settle


def server_of(panel, service) -> dict:
    return panel.app.get_server(links.server_link(service.id).server_id)


def test_reconcile_puts_back_what_was_changed_in_the_panel(ctx, panel, sim):
    product = pelican_product(paper_settings(panel))
    user = customer(balance=50_000)
    renamed, suspended, resized = (buy(user, product, name=n) for n in ("a", "b", "c"))
    panel.app.update_server_details(server_of(panel, renamed)["id"], name="hacked")
    panel.app.suspend_server(server_of(panel, suspended)["id"])
    panel.app.update_server_build(server_of(panel, resized)["id"], limits={"memory": 9999})
    dry = reconcile(dry_run=True)
    assert dry.differences == {
        renamed.id: ["rename"],
        suspended.id: ["unsuspend"],
        resized.id: ["memory 2048 -> 9999"],
    }
    assert server_of(panel, renamed)["name"] == "hacked"  # a dry run changes nothing
    report = reconcile()
    assert report.checked == 3 and report.findings == {}
    assert server_of(panel, renamed)["name"] == "a"
    assert server_of(panel, suspended)["status"] is None
    assert server_of(panel, resized)["limits"]["memory"] == 2048
    assert reconcile(dry_run=True).differences == {}


def test_reconcile_flags_a_server_deleted_in_the_panel_and_orphans(ctx, panel, sim):
    product = pelican_product(paper_settings(panel))
    user = customer(balance=50_000)
    gone = buy(user, product, name="gone")
    panel.app.delete_server(server_of(panel, gone)["id"])
    owner = links.user_link(user.id).panel_user_id
    orphan = sim.seed_servers([owner], names=["stray"], external_ids=["pteroca-9999"])[0]
    report = reconcile()
    assert report.findings == {gone.id: "deleted in the panel"}
    assert report.orphans == [orphan]
    assert links.server_link(gone.id).drift == "deleted in the panel"


def test_the_reconcile_command_prints_what_needs_a_human(ctx, panel, sim):
    from kernel.testing import run_cli

    product = pelican_product(paper_settings(panel))
    gone = buy(customer(), product, name="gone")
    panel.app.delete_server(server_of(panel, gone)["id"])
    db.session.commit()  # the command's app reads the database beside this session
    result = run_cli(ctx, "pelican", "reconcile")
    assert result.exit_code == 0, result.output
    assert f"NEEDS A HUMAN #{gone.id}: deleted in the panel" in result.output


def test_import_adopts_servers_of_known_customers(ctx, panel, sim):
    product = pelican_product(paper_settings(panel))
    owner, stranger = sim.seed_users(["OWNER@example.com", "nobody@example.com"])
    user = customer("owner@example.com")  # registering links the Pelican user by email
    mine, theirs = sim.seed_servers(
        [owner, stranger],
        names=["world", "other"],
        external_ids=["", ""],
        limits={"memory": 4096, "disk": 10240},
    )
    dry = import_servers(product.slug, dry_run=True)
    assert dry.imported == [(mine, 0, "owner@example.com")]
    assert dry.skipped == {theirs: "the owner nobody@example.com has no account here"}
    assert "memory 2048 -> 4096" in dry.differences[mine]
    report = import_servers(product.slug)
    ((server_id, service_id, email),) = report.imported
    assert server_id == mine and email == "owner@example.com"
    assert panel.app.get_server(mine)["external_id"] == f"pteroca-{service_id}"
    assert links.user_link(user.id).panel_user_id == owner
    assert import_servers(product.slug).imported == []  # linked now: not imported twice
    reconcile()  # the product's limits apply
    assert panel.app.get_server(mine)["limits"]["memory"] == 2048


def test_import_refuses_a_product_of_another_panel(ctx, panel):
    import pytest

    from builtin_plugins.store.testing import make_product

    make_product("ptero", provisioner="pterodactyl", settings={})
    with pytest.raises(ImportRefused, match="not a Pelican product"):
        import_servers("ptero")
    with pytest.raises(ImportRefused, match="no product with the slug"):
        import_servers("nope")


def test_one_shop_sells_on_pelican_and_pterodactyl_at_once(ctx, pel_app, panel, sim):
    from simulators.pterodactyl import Simulator
    from tests.pelican_plugin.conftest import configure

    ptero = Simulator(seed=True, install_seconds=0, power_seconds=0, backup_seconds=0)
    ptero.start()
    try:
        configure(
            pel_app,
            "pterodactyl",
            panel_url=ptero.url,
            application_key=ptero.application_key,
            client_key=ptero.client_key,
        )
        from builtin_plugins.pterodactyl.client import PanelClient
        from builtin_plugins.store.testing import make_product

        with PanelClient(ptero.url, ptero.application_key) as pc:
            nest = next(n for n in pc.app.list_nests() if n["name"] == "Minecraft")
            egg = next(e for e in pc.app.list_eggs(nest["id"]) if e["name"] == "Paper")
            location = pc.app.list_locations()[0]["id"]
        on_ptero = make_product(
            "ptero-paper",
            provisioner="pterodactyl",
            settings={
                "nest_id": nest["id"],
                "egg_id": egg["id"],
                "location_ids": str(location),
                "port_range": "25565-25600",
            },
        )
        on_pelican = pelican_product(paper_settings(panel))
        user = customer(balance=50_000)
        a = buy(user, on_pelican, name="pelican world")
        b = buy(user, on_ptero, name="pterodactyl world")
        assert a.state == "active" and b.state == "active", (a.last_error, b.last_error)
        assert [s["name"] for s in sim.snapshot()["servers"]] == ["pelican world"]
        assert [s["name"] for s in ptero.snapshot()["servers"]] == ["pterodactyl world"]
        from builtin_plugins.store import transitions

        transitions.suspend(a, manual=True, reason="staff")
        transitions.terminate(b)
        settle()
        assert [s["status"] for s in sim.snapshot()["servers"]] == ["suspended"]
        assert ptero.snapshot()["servers"] == []
    finally:
        ptero.stop()
