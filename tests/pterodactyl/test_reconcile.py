"""Reconciliation and import: changes made in the panel behind our back are found and flagged."""

from __future__ import annotations

import json

from builtin_plugins.pterodactyl import links
from builtin_plugins.pterodactyl.importer import import_servers
from builtin_plugins.pterodactyl.models import ServerLink
from builtin_plugins.pterodactyl.reconcile import reconcile
from builtin_plugins.store.testing import buy
from kernel.clock import now as utcnow
from kernel.extensions import db
from kernel.models import AuditLog
from kernel.testing import run_cli
from tests.pterodactyl.conftest import panel_customer, panel_product, paper_settings


def three_servers(panel):
    product = panel_product(paper_settings(panel))
    user = panel_customer()
    return [buy(user, product, name=f"srv {n}") for n in range(3)]


def tamper(panel, deleted, suspended, resized) -> None:
    panel.app.delete_server(links.server_link(deleted.id).server_id)
    panel.app.suspend_server(links.server_link(suspended.id).server_id)
    panel.app.update_server_build(
        links.server_link(resized.id).server_id,
        limits={"memory": 4096},
        feature_limits={"backups": 9},
    )


def kinds(report) -> dict[int, set[str]]:
    return {sid: {f.kind for f in found} for sid, found in report.by_service().items()}


def test_servers_changed_behind_our_back_are_put_back_and_a_deleted_one_flagged(ctx, panel, sim):
    from builtin_plugins.store.models import Service

    deleted, suspended, resized = three_servers(panel)
    tamper(panel, deleted, suspended, resized)
    report = reconcile()
    assert report.checked == 3
    assert kinds(report) == {deleted.id: {"deleted"}}  # only what needs a human
    assert report.repaired == {
        suspended.id: "repaired: unsuspended",
        resized.id: "repaired: limits",
    }
    back = sim.server(links.server_link(suspended.id).server_id)
    assert back.status is None  # unsuspended again
    limits = panel.app.get_server(links.server_link(resized.id).server_id)
    assert limits["limits"]["memory"] == 2048 and limits["feature_limits"]["backups"] == 2
    db.session.expire_all()
    assert deleted.last_error == "panel: deleted in the panel"
    assert db.session.get(Service, deleted.id).sync_status == "stuck"
    assert suspended.last_error == resized.last_error == ""
    assert db.session.get(ServerLink, deleted.id).drift == "deleted in the panel"
    flagged = db.session.scalars(
        db.select(AuditLog.target).where(AuditLog.action == "pterodactyl.drift")
    ).all()
    assert flagged == [f"service:{deleted.id}"]
    again = reconcile()  # nothing left to repair; the flag and the alert are not repeated
    assert kinds(again) == {deleted.id: {"deleted"}} and again.repaired == {}
    for action in ("pterodactyl.drift", "store.alert"):
        assert (
            db.session.scalar(
                db.select(db.func.count(AuditLog.id)).where(AuditLog.action == action)
            )
            == 1
        )


def test_dry_run_changes_nothing(ctx, panel):
    deleted, suspended, resized = three_servers(panel)
    tamper(panel, deleted, suspended, resized)
    report = reconcile(dry_run=True)
    assert kinds(report) == {
        deleted.id: {"deleted"},
        suspended.id: {"suspended"},
        resized.id: {"resized"},
    }
    db.session.expire_all()
    assert [s.last_error for s in (deleted, suspended, resized)] == ["", "", ""]
    assert all(
        not link.drift and link.checked_at is None
        for link in db.session.scalars(db.select(ServerLink))
    )


def test_a_repair_the_panel_refuses_is_flagged_then_cleared_once_it_works(ctx, panel, sim):
    _, suspended, _ = three_servers(panel)
    server_id = links.server_link(suspended.id).server_id
    panel.app.suspend_server(server_id)
    sim.set_switches(wings_down=True)  # unsuspending needs Wings
    report = reconcile()
    assert kinds(report) == {suspended.id: {"failed"}} and report.repaired == {}
    db.session.expire_all()
    assert suspended.last_error.startswith("panel: ") and "Daemon" in suspended.last_error
    sim.set_switches(wings_down=False)
    report = reconcile()
    assert report.findings == [] and report.cleared == [suspended.id]
    assert report.repaired == {suspended.id: "repaired: unsuspended"}
    db.session.expire_all()
    assert suspended.last_error == "" and db.session.get(ServerLink, suspended.id).drift == ""
    assert sim.server(server_id).status is None


def test_suspended_here_but_unsuspended_there_is_suspended_again_and_orphans_reported(
    ctx, panel, sim
):
    from builtin_plugins.store import services as store

    one, two, _ = three_servers(panel)
    store.suspend(one, manual=True)
    one_server = links.server_link(one.id).server_id
    assert sim.server(one_server).status == "suspended"  # the reconciler pushed it
    panel.app.unsuspend_server(one_server)  # behind our back
    two_server = links.server_link(two.id).server_id
    db.session.get(ServerLink, two.id).deleted_at = utcnow()  # as if deleted locally only
    two.state = "terminated"
    db.session.commit()
    report = reconcile()
    assert report.repaired == {one.id: "repaired: suspended"}
    assert sim.server(one_server).status == "suspended"
    [orphan] = report.findings
    assert orphan.kind == "orphan" and orphan.server_id == two_server
    assert "was deleted" in orphan.message


def test_reconcile_command(ptero_app, panel):
    with ptero_app.app_context():
        deleted, suspended, resized = three_servers(panel)
        tamper(panel, deleted, suspended, resized)
    result = run_cli(ptero_app, "pterodactyl", "reconcile", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "deleted in the panel" in result.output and "dry run" in result.output
    result = run_cli(ptero_app, "pterodactyl", "reconcile", "--json")
    data = json.loads(result.output)
    assert data["checked"] == 3 and len(data["findings"]) == 1 and not data["dry_run"]
    assert data["repaired"] == {
        str(suspended.id): "repaired: unsuspended",
        str(resized.id): "repaired: limits",
    }
    with ptero_app.app_context():
        assert db.session.get(ServerLink, deleted.id).drift == "deleted in the panel"
        assert not db.session.get(ServerLink, resized.id).drift
    result = run_cli(ptero_app, "pterodactyl", "reconcile")
    assert "0 repaired, 1 findings need a human" in result.output


def test_reconcile_task_is_registered_and_runs(ctx, panel):
    from kernel.cron import registered_tasks

    deleted, suspended, resized = three_servers(panel)
    tamper(panel, deleted, suspended, resized)
    tasks = registered_tasks()
    assert "pterodactyl.reconcile" in tasks and "pterodactyl.sync_users" in tasks
    report = tasks["pterodactyl.reconcile"].func()
    assert report["checked"] == 3 and len(report["findings"]) == 1
    assert set(report["repaired"]) == {str(suspended.id), str(resized.id)}


# --- import ---------------------------------------------------------------------------------


def raw_server(panel, owner_id: int, name: str) -> dict:
    from tests.pterodactyl.test_client import new_server

    return new_server(panel, owner_id, name=name)


def test_import_maps_panel_servers_to_local_users_by_email(ptero_app, panel, sim):
    with ptero_app.app_context():
        panel_product(paper_settings(panel), slug="imported")
        from kernel.accounts.services import create_user

        create_user("known@example.com", "known-password-1", name="Known")
    known = next(u for u in sim.state.users.values() if u.email == "known@example.com")
    stranger = panel.app.create_user(
        email="nobody@example.com", username="nobody", first_name="No", last_name="Body"
    )
    mine = raw_server(panel, known.id, "old server")
    theirs = raw_server(panel, stranger["id"], "stranger server")
    panel.app.suspend_server(mine["id"])
    dry = run_cli(ptero_app, "pterodactyl", "import", "--product", "imported", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "would import" in dry.output and "nobody@example.com has no account" in dry.output
    with ptero_app.app_context():
        assert db.session.scalar(db.select(db.func.count(ServerLink.service_id))) == 0
    result = run_cli(ptero_app, "pterodactyl", "import", "--product", "imported")
    assert result.exit_code == 0, result.output
    assert "1 imported, 1 skipped" in result.output
    with ptero_app.app_context():
        from builtin_plugins.store.models import Service

        service = db.session.scalar(db.select(Service).where(Service.name == "old server"))
        assert service.state == "suspended" and service.suspension == "manual"
        assert service.charged == 0 and links.server_link(service.id).server_id == mine["id"]
    again = run_cli(ptero_app, "pterodactyl", "import", "--product", "imported")
    assert "0 imported, 1 skipped" in again.output
    with ptero_app.app_context():  # the stranger's server stays unknown
        assert (
            db.session.scalar(db.select(ServerLink).where(ServerLink.server_id == theirs["id"]))
            is None
        )


def test_import_refuses_a_product_of_another_provisioner(ptero_app):
    result = run_cli(ptero_app, "pterodactyl", "import", "--product", "missing")
    assert result.exit_code != 0 and "no product with the slug 'missing'" in result.output


def test_import_of_foreign_servers_rewrites_their_external_ids(ptero_app, panel, sim):
    """A server imported from another system, or carrying an id like ours from an older site,
    becomes ours: reconciliation neither reports it as an orphan nor mixes it up with the
    service whose number its old id names."""
    with ptero_app.app_context():
        from kernel.accounts.services import create_user

        panel_product(
            paper_settings(panel, memory=1024, disk=2048, databases=1, allocations=2, backups=1),
            slug="imported",
        )  # the servers' own limits
        create_user("known@example.com", "known-password-1", name="Known")
    known = next(u for u in sim.state.users.values() if u.email == "known@example.com")
    whmcs = raw_server(panel, known.id, "from whmcs")
    panel.app.update_server_details(whmcs["id"], external_id="whmcs-77")
    lookalike = raw_server(panel, known.id, "old site")
    panel.app.update_server_details(lookalike["id"], external_id="pteroca-1")  # not ours
    with ptero_app.app_context():
        assert import_servers("imported", dry_run=True).differences == {}
        report = import_servers("imported")
        assert len(report.imported) == 2 and report.skipped == {}
        for server_id, service_id, _email in report.imported:
            assert sim.server(server_id).external_id == f"pteroca-{service_id}"
        check = reconcile()
        assert check.findings == [] and check.repaired == {}
        assert reconcile(dry_run=True).findings == []
        audit = db.session.scalars(
            db.select(AuditLog).where(AuditLog.action == "pterodactyl.imported")
        ).all()
        assert sorted(a.details["previous_external_id"] for a in audit) == ["pteroca-1", "whmcs-77"]


def test_a_server_whose_external_id_cannot_be_set_is_not_imported(ptero_app, panel, sim):
    with ptero_app.app_context():
        from builtin_plugins.store.models import Service
        from kernel.accounts.services import create_user

        panel_product(paper_settings(panel), slug="imported")
        create_user("known@example.com", "known-password-1", name="Known")
        known = next(u for u in sim.state.users.values() if u.email == "known@example.com")
        server = raw_server(panel, known.id, "stubborn")
        sim.set_switches(
            fail_next={
                "count": 10,
                "status": 502,
                "method": "PATCH",
                "path": "/api/application/servers/*/details",
            }
        )
        report = import_servers("imported")
        assert (
            report.imported == [] and "external id could not be set" in report.skipped[server["id"]]
        )
        assert db.session.scalar(db.select(db.func.count(Service.id))) == 0
        assert db.session.scalar(db.select(db.func.count(ServerLink.service_id))) == 0
