"""Reconciliation and import: changes made in the panel behind our back are found and flagged."""

from __future__ import annotations

import json

from builtin_plugins.pterodactyl import services
from builtin_plugins.pterodactyl.models import ServerLink
from builtin_plugins.pterodactyl.reconcile import reconcile
from kernel.cli import main
from kernel.extensions import db
from kernel.models import AuditLog, utcnow
from kernel.testing import rebuild
from tests.pterodactyl.conftest import buy, make_customer, make_product, paper_settings


def three_servers(panel):
    product = make_product(paper_settings(panel))
    user = make_customer()
    return [buy(user, product, name=f"srv {n}") for n in range(3)]


def tamper(panel, deleted, suspended, resized) -> None:
    panel.app.delete_server(services.server_link(deleted.id).server_id)
    panel.app.suspend_server(services.server_link(suspended.id).server_id)
    panel.app.update_server_build(services.server_link(resized.id).server_id,
                                  limits={"memory": 4096}, feature_limits={"backups": 9})


def kinds(report) -> dict[int, set[str]]:
    return {sid: {f.kind for f in found} for sid, found in report.by_service().items()}


def test_deleted_suspended_and_resized_servers_are_flagged(ctx, panel):
    deleted, suspended, resized = three_servers(panel)
    tamper(panel, deleted, suspended, resized)
    report = reconcile()
    assert report.checked == 3
    assert kinds(report) == {deleted.id: {"deleted"}, suspended.id: {"suspended"},
                             resized.id: {"resized"}}
    db.session.expire_all()
    assert deleted.last_error == "panel: deleted in the panel"
    assert suspended.last_error == "panel: suspended in the panel"
    assert "memory 2048 -> 4096" in resized.last_error and "backups 2 -> 9" in resized.last_error
    assert db.session.get(ServerLink, resized.id).drift.startswith("resized in the panel")
    flagged = db.session.scalars(db.select(AuditLog.target).where(
        AuditLog.action == "pterodactyl.drift")).all()
    assert sorted(flagged) == sorted(f"service:{s.id}" for s in (deleted, suspended, resized))
    again = reconcile()  # flags are not logged twice
    assert len(again.findings) == 3
    assert db.session.scalar(db.select(db.func.count(AuditLog.id)).where(
        AuditLog.action == "pterodactyl.drift")) == 3


def test_dry_run_changes_nothing(ctx, panel):
    deleted, suspended, resized = three_servers(panel)
    tamper(panel, deleted, suspended, resized)
    report = reconcile(dry_run=True)
    assert kinds(report) == {deleted.id: {"deleted"}, suspended.id: {"suspended"},
                             resized.id: {"resized"}}
    db.session.expire_all()
    assert [s.last_error for s in (deleted, suspended, resized)] == ["", "", ""]
    assert all(not link.drift and link.checked_at is None
               for link in db.session.scalars(db.select(ServerLink)))


def test_a_server_back_in_step_is_cleared(ctx, panel):
    _, suspended, _ = three_servers(panel)
    server_id = services.server_link(suspended.id).server_id
    panel.app.suspend_server(server_id)
    reconcile()
    panel.app.unsuspend_server(server_id)
    report = reconcile()
    assert report.findings == [] and report.cleared == [suspended.id]
    db.session.expire_all()
    assert suspended.last_error == "" and db.session.get(ServerLink, suspended.id).drift == ""


def test_unsuspended_behind_our_back_and_orphans_are_reported(ctx, panel):
    from builtin_plugins.store import services as store

    one, two, _ = three_servers(panel)
    store.suspend(one, manual=True)
    panel.app.unsuspend_server(services.server_link(one.id).server_id)
    two_server = services.server_link(two.id).server_id
    db.session.get(ServerLink, two.id).deleted_at = utcnow()  # as if deleted locally only
    two.state = "terminated"
    db.session.commit()
    report = reconcile()
    assert {f.kind for f in report.findings} == {"unsuspended", "orphan"}
    orphan = next(f for f in report.findings if f.kind == "orphan")
    assert orphan.server_id == two_server and "was deleted" in orphan.message


def test_reconcile_command(ptero_app, panel):
    with ptero_app.app_context():
        deleted, suspended, resized = three_servers(panel)
        tamper(panel, deleted, suspended, resized)
    runner = rebuild(ptero_app).test_cli_runner()
    result = runner.invoke(main, ["pterodactyl", "reconcile", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "deleted in the panel" in result.output and "dry run" in result.output
    result = runner.invoke(main, ["pterodactyl", "reconcile", "--json"])
    data = json.loads(result.output)
    assert data["checked"] == 3 and len(data["findings"]) == 3 and not data["dry_run"]
    with ptero_app.app_context():
        assert db.session.get(ServerLink, resized.id).drift


def test_reconcile_task_is_registered_and_runs(ctx, panel):
    from kernel.cron import registered_tasks

    deleted, suspended, resized = three_servers(panel)
    tamper(panel, deleted, suspended, resized)
    tasks = registered_tasks()
    assert "pterodactyl.reconcile" in tasks and "pterodactyl.sync_users" in tasks
    report = tasks["pterodactyl.reconcile"].func()
    assert report["checked"] == 3 and len(report["findings"]) == 3


# --- import ---------------------------------------------------------------------------------

def raw_server(panel, owner_id: int, name: str) -> dict:
    from tests.pterodactyl.test_client import new_server

    return new_server(panel, owner_id, name=name)


def test_import_maps_panel_servers_to_local_users_by_email(ptero_app, panel, sim):
    with ptero_app.app_context():
        make_product(paper_settings(panel), slug="imported")
        from kernel.accounts.services import create_user

        create_user("known@example.com", "known-password-1", name="Known")
    known = next(u for u in sim.state.users.values() if u.email == "known@example.com")
    stranger = panel.app.create_user(email="nobody@example.com", username="nobody",
                                     first_name="No", last_name="Body")
    mine = raw_server(panel, known.id, "old server")
    theirs = raw_server(panel, stranger["id"], "stranger server")
    panel.app.suspend_server(mine["id"])
    runner = rebuild(ptero_app).test_cli_runner()
    dry = runner.invoke(main, ["pterodactyl", "import", "--product", "imported", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would import" in dry.output and "nobody@example.com has no account" in dry.output
    with ptero_app.app_context():
        assert db.session.scalar(db.select(db.func.count(ServerLink.service_id))) == 0
    result = runner.invoke(main, ["pterodactyl", "import", "--product", "imported"])
    assert result.exit_code == 0, result.output
    assert "1 imported, 1 skipped" in result.output
    with ptero_app.app_context():
        from builtin_plugins.store.models import Service

        service = db.session.scalar(db.select(Service).where(Service.name == "old server"))
        assert service.state == "suspended" and service.suspension == "manual"
        assert service.charged == 0 and services.server_link(service.id).server_id == mine["id"]
    again = runner.invoke(main, ["pterodactyl", "import", "--product", "imported"])
    assert "0 imported, 1 skipped" in again.output
    with ptero_app.app_context():  # the stranger's server stays unknown
        assert db.session.scalar(db.select(ServerLink).where(
            ServerLink.server_id == theirs["id"])) is None


def test_import_refuses_a_product_of_another_provisioner(ptero_app):
    result = rebuild(ptero_app).test_cli_runner().invoke(
        main, ["pterodactyl", "import", "--product", "missing"])
    assert result.exit_code != 0 and "no product with the slug 'missing'" in result.output
