"""Reconcile resumes where it stopped (panel_kit/resume.py): a run interrupted by a panel outage
or a killed process goes on at the next page on the next run, a finished run starts over, a
stale or forged cursor is discarded, and what the resumed run finds is still right."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import parse_qs

import pytest

from builtin_plugins.panel_kit.api import errors
from builtin_plugins.pterodactyl import links
from builtin_plugins.pterodactyl import reconcile as module
from builtin_plugins.pterodactyl.models import RunCursor, ServerLink
from kernel import now as utcnow
from kernel.extensions import db
from kernel.models import AuditLog
from kernel.testing import run_cli
from tests.pterodactyl.conftest import panel_customer, panel_product, paper_settings, seed_fleet

PAGE = 10
FLEET = 45  # five listing pages: 10, 10, 10, 10, 5

FLEET_LIMITS = {
    "memory": 0,
    "disk": 0,
    "io": 500,
    "cpu": 100,
    "databases": 0,
    "allocations": 1,
    "backups": 0,
}


@pytest.fixture
def fleet(ctx, panel, sim, monkeypatch) -> list[int]:
    """FLEET in-line services, their servers in the panel in the same order; pages of PAGE."""
    monkeypatch.setattr(module, "PAGE", PAGE)
    monkeypatch.setattr(module, "CHUNK", 5 * PAGE)
    product = panel_product(paper_settings(panel, **FLEET_LIMITS), slug="fleet", price=100)
    ids = seed_fleet(sim, product, panel_customer(email="fleet@example.com", balance=0), FLEET)
    return ids


def server_of(service_id: int) -> int:
    return links.server_link(service_id).server_id


def listing_pages(sim) -> list[int]:
    """The listing pages the panel was asked for, in order."""
    return [
        int(parse_qs(r["query"]).get("page", ["1"])[0])
        for r in sim.requests
        if r["method"] == "GET" and r["path"] == "/api/application/servers"
    ]


def outage_at(monkeypatch, sim, page: int) -> None:
    """From listing page ``page`` on, the panel answers 503 (more than the retries)."""
    from builtin_plugins.pterodactyl.client import ApplicationAPI

    real = ApplicationAPI.servers_page

    def servers_page(self, number, **kwargs):
        if number >= page:
            sim.set_switches(
                fail_next=[{"count": 50, "status": 503, "path": "/api/application/servers"}]
            )
        return real(self, number, **kwargs)

    monkeypatch.setattr(ApplicationAPI, "servers_page", servers_page)


def interrupted(monkeypatch, sim, page: int) -> None:
    """One run that fails at listing page ``page``; then the panel is back."""
    with monkeypatch.context() as patch:
        outage_at(patch, sim, page)
        with pytest.raises(errors.PanelError):
            module.reconcile()
    db.session.rollback()
    sim.set_switches(fail_next=[])
    sim.clear_requests()


def cursor() -> dict | None:
    db.session.expire_all()
    row = db.session.scalars(db.select(RunCursor)).first()
    return json.loads(row.state) if row else None


def test_an_interrupted_run_goes_on_from_the_next_page_and_a_finished_one_starts_over(
    fleet, sim, monkeypatch
):
    interrupted(monkeypatch, sim, 3)
    state = cursor()
    assert state["pages"] == 2 and state["after"] == server_of(fleet[19])
    assert state["counts"] == {"checked": 20, "findings": 0}
    report = module.reconcile()
    # page 2 again (servers deleted meanwhile would have moved up to it), then the rest
    assert listing_pages(sim) == [2, 3, 4, 5]
    assert report.checked == FLEET - 20
    assert report.resumed == f"resuming after panel server {server_of(fleet[19])}, 2 pages done"
    assert report.findings == [] and cursor() is None  # done: cleared
    sim.clear_requests()
    again = module.reconcile()
    assert listing_pages(sim) == [1, 2, 3, 4, 5] and again.checked == FLEET
    assert again.resumed == ""


def test_a_process_killed_in_the_middle_of_a_page_redoes_that_page_only(fleet, sim, monkeypatch):
    real = module._segment
    calls = []

    def killed(segment, *args):
        calls.append(segment.number)
        if len(calls) == 4:
            raise KeyboardInterrupt  # the process dies in the middle of page 4
        return real(segment, *args)

    with monkeypatch.context() as patch:
        patch.setattr(module, "_segment", killed)
        with pytest.raises(KeyboardInterrupt):
            module.reconcile()
    db.session.rollback()
    assert cursor()["pages"] == 3
    sim.clear_requests()
    report = module.reconcile()
    assert listing_pages(sim) == [3, 4, 5] and report.checked == FLEET - 30


def test_changes_during_the_pause_are_still_found_and_no_server_is_skipped(
    fleet, sim, monkeypatch, panel
):
    interrupted(monkeypatch, sim, 3)
    # deleted in the panel: three servers already done (later ones move up a page) and one
    # still to come; suspended behind our back: the first server after the cursor
    for service_id in (fleet[0], fleet[1], fleet[2], fleet[33]):
        panel.app.delete_server(server_of(service_id))
    panel.app.suspend_server(server_of(fleet[20]))
    report = module.reconcile()
    assert {(f.service_id, f.kind) for f in report.findings} == {(fleet[33], "deleted")}
    assert report.repaired == {fleet[20]: "repaired: unsuspended"}
    assert report.checked == FLEET - 20  # each remaining service once, none skipped
    assert sim.state.servers[server_of(fleet[20])].status is None
    # the next full run finds the three deleted before the cursor, and nothing else
    full = module.reconcile()
    assert {f.service_id for f in full.findings} == {fleet[0], fleet[1], fleet[2], fleet[33]}


def test_orphans_and_unlinked_services_are_right_across_the_boundary(fleet, sim, monkeypatch):
    from builtin_plugins.store.models import Service

    # an orphan past the cursor: its service was deleted, its link went with it
    orphan = server_of(fleet[24])
    db.session.get(Service, fleet[24]).state = "terminated"
    db.session.get(ServerLink, fleet[24]).deleted_at = utcnow()
    # a live service whose link was lost, its server on a page done before the pause
    db.session.delete(db.session.get(ServerLink, fleet[5]))
    db.session.commit()
    interrupted(monkeypatch, sim, 3)
    report = module.reconcile()
    orphans = [(f.service_id, f.server_id) for f in report.findings if f.kind == "orphan"]
    assert orphans == [(fleet[24], orphan)]
    # the unlinked one was handled on page 1: not "deleted in the panel" at the end
    assert not [f for f in report.findings if f.service_id == fleet[5]]
    assert [r["path"] for r in sim.requests if "/servers/external/" in r["path"]] == []


def test_a_stale_cursor_is_discarded_with_an_audit_entry(fleet, sim, monkeypatch, caplog):
    interrupted(monkeypatch, sim, 3)
    row = db.session.scalars(db.select(RunCursor)).one()
    state = json.loads(row.state)
    state["started_at"] = (utcnow() - timedelta(hours=25)).isoformat()
    row.state = json.dumps(state)
    db.session.commit()
    report = module.reconcile()
    assert listing_pages(sim) == [1, 2, 3, 4, 5] and report.checked == FLEET
    assert report.resumed == ""
    assert "starting from the top" in caplog.text and "too long ago" in caplog.text
    audit = db.session.scalars(
        db.select(AuditLog).where(AuditLog.action == "pterodactyl.reconcile.cursor_discarded")
    ).one()
    assert "too long ago" in audit.details["why"]


@pytest.mark.parametrize(
    "forged",
    [
        "{not json",
        "[]",
        '{"run": "x", "started_at": "2026-01-01T00:00:00", "after": -5, "pages": 2}',
        '{"run": "x", "started_at": "2026-01-01T00:00:00", "after": 5, "pages": true}',
        '{"run": "x", "started_at": "yesterday", "after": 5, "pages": 1}',
        '{"run": "x", "started_at": "2026-01-01T00:00:00", "after": 5, "pages": 1, '
        '"claimed": [-1]}',
        '{"run": "", "started_at": "2026-01-01T00:00:00", "after": 5, "pages": 1}',
    ],
)
def test_a_forged_or_damaged_cursor_is_discarded_not_a_crash(fleet, sim, forged):
    db.session.add(RunCursor(scope=scope(), state=forged))
    db.session.commit()
    report = module.reconcile()
    assert listing_pages(sim) == [1, 2, 3, 4, 5] and report.checked == FLEET
    assert report.findings == [] and cursor() is None
    assert (
        db.session.scalar(
            db.select(db.func.count(AuditLog.id)).where(
                AuditLog.action == "pterodactyl.reconcile.cursor_discarded"
            )
        )
        == 1
    )


def scope() -> str:
    from builtin_plugins.panel_kit.api import resume
    from builtin_plugins.pterodactyl.panel import load_settings

    return resume.scope_of("reconcile", load_settings().url)


def test_a_cursor_of_another_panel_is_not_resumed(fleet, sim, monkeypatch):
    interrupted(monkeypatch, sim, 3)
    row = db.session.scalars(db.select(RunCursor)).one()
    assert row.scope == scope()
    row.scope = "reconcile:another-panel"
    db.session.commit()
    assert module.reconcile().checked == FLEET


def test_a_run_stops_at_its_deadline_and_the_next_goes_on(fleet, sim, monkeypatch):
    from builtin_plugins.panel_kit import resume

    ticks = iter(range(100))  # a clock that moves one second a page
    monkeypatch.setattr(resume, "CLOCK", lambda: float(next(ticks)))
    first = module.reconcile(deadline=2)
    assert not first.complete and first.checked == 20 and cursor()["pages"] == 2
    assert listing_pages(sim) == [1, 2]
    rest = module.reconcile()
    assert rest.complete and rest.checked == FLEET - 20 and cursor() is None


def test_a_dry_run_keeps_no_cursor_and_leaves_one_alone(fleet, sim, monkeypatch):
    interrupted(monkeypatch, sim, 3)
    kept = cursor()
    report = module.reconcile(dry_run=True)
    assert report.checked == FLEET and listing_pages(sim) == [1, 2, 3, 4, 5]
    assert cursor() == kept


def test_the_command_says_it_resumes_and_restart_starts_over(fleet, sim, monkeypatch, ctx):
    interrupted(monkeypatch, sim, 3)
    after = server_of(fleet[19])
    db.session.commit()
    result = run_cli(ctx, "pterodactyl", "reconcile")
    assert result.exit_code == 0, result.output
    assert f"resuming after panel server {after}, 2 pages done" in result.output
    assert f"{FLEET - 20} servers checked" in result.output
    interrupted(monkeypatch, sim, 3)
    db.session.commit()
    result = run_cli(ctx, "pterodactyl", "reconcile", "--restart")
    assert result.exit_code == 0, result.output
    assert "resuming" not in result.output and f"{FLEET} servers checked" in result.output
    assert listing_pages(sim) == [1, 2, 3, 4, 5]


def test_the_command_says_the_next_run_resumes_when_the_panel_fails(fleet, sim, monkeypatch, ctx):
    outage_at(monkeypatch, sim, 3)
    db.session.commit()  # the command's app reads the database beside this session
    result = run_cli(ctx, "pterodactyl", "reconcile")
    assert result.exit_code == 1, result.output
    assert "the next run resumes after the last panel page this one finished" in result.output
