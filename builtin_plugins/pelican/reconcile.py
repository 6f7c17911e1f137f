"""Reconciliation: every Pelican server against its store service, repaired where it can be.

The panel's servers are read a page at a time in id order (panel_kit/resume.py: a run that
stops is resumed by the next one at the page after the last one it finished); each live
Pelican service (and each ended one whose server may still exist) is handled with the page
its server's id falls in, and goes through the store's reconciler with what the listing shows
for it (``converge_observed``: the same code path as the jobs after every lifecycle change),
so a server suspended, unsuspended, resized, renamed or handed to someone else behind our back
is put back, and one that should be deleted is deleted. What it cannot repair is reported and
written on the server link (``drift``): a server deleted in the panel, a panel that keeps
failing, and panel servers carrying our external id that no service owns (orphans).
``dry_run`` reports what differs without changing anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from builtin_plugins.panel_kit.api import convergence, resume
from builtin_plugins.pelican import panel, product
from builtin_plugins.pelican.models import RunCursor, ServerLink
from builtin_plugins.store.api import (
    PANEL_DELETED,
    PANEL_SUSPENDED,
    TERMINATED,
    Product,
    Service,
    converge_observed,
)
from kernel import db, job
from kernel import now as utcnow


@dataclass
class ReconcileReport:
    dry_run: bool = False
    checked: int = 0
    findings: dict[int, str] = field(default_factory=dict)  # service id -> what needs a human
    differences: dict[int, list[str]] = field(default_factory=dict)  # dry run: what would change
    repaired: dict[int, str] = field(default_factory=dict)
    orphans: list[int] = field(default_factory=list)  # panel server ids
    run: resume.Run | None = field(default=None, repr=False, compare=False)

    @property
    def resumed(self) -> str:
        """``resuming after panel server 12345, 3 pages done``, or empty."""
        return self.run.resume_text() if self.run is not None else ""

    @property
    def complete(self) -> bool:
        """False when the run stopped at its deadline (the next one resumes)."""
        return self.run is None or not self.run.stopped


PAGE = 200  # panel servers per listing page (a cursor is committed after each)
LIVE_LINK = ServerLink.service_id.is_not(None) & ServerLink.deleted_at.is_(None)
NO_LINK = ServerLink.service_id.is_(None) | ServerLink.deleted_at.is_not(None)
SLOT = 50 * 60  # seconds the hourly cron run may spend; it resumes at the next slot


def _services(
    segment: resume.Segment, claimed: set[int]
) -> list[tuple[Service, ServerLink | None]]:
    """The Pelican services of a listing page, with their links: those whose live link points
    into the page's range (ended ones too: their server may still exist); on the last page
    also the services not ended that have no live link and that no page claimed."""
    products = select(Product.id).where(Product.provisioner == "pelican")
    in_range = LIVE_LINK & (ServerLink.server_id > segment.after)
    if segment.upto is not None:
        in_range &= ServerLink.server_id <= segment.upto
    wanted = in_range
    if segment.last:
        unlinked = NO_LINK & (Service.state != TERMINATED)
        if claimed:
            unlinked &= Service.id.not_in(sorted(claimed))
        wanted |= unlinked
    return _rows(select(Service, ServerLink).where(Service.product_id.in_(products), wanted))


def _rows(query) -> list[tuple[Service, ServerLink | None]]:
    rows = db.session.execute(
        query.outerjoin(ServerLink, ServerLink.service_id == Service.id).order_by(Service.id)
    ).all()
    return [(service, link) for service, link in rows]


def _live(link: ServerLink | None) -> bool:
    return link is not None and link.deleted_at is None


def differences(service: Service, server: dict[str, Any] | None) -> list[str]:
    """What the reconciler would change on ``server`` for ``service`` (the dry run)."""
    if service.desired_state == PANEL_DELETED:
        return ["delete the server"] if server is not None else []
    if server is None:
        return ["the server is gone from the panel"]
    out = []
    if convergence.is_suspended(server) != (service.desired_state == PANEL_SUSPENDED):
        out.append("suspend" if service.desired_state == PANEL_SUSPENDED else "unsuspend")
    try:
        out += convergence.limit_differences(product.config_of(service.product), server)
    except product.ConfigError:
        pass
    if str(server.get("name") or "") != service.name[:191]:
        out.append("rename")
    return out


def reconcile(
    *, dry_run: bool = False, restart: bool = False, deadline: float | None = None
) -> ReconcileReport:
    """Every Pelican service against the panel, a listing page at a time in id order (each
    page's services handled before the next page is asked for). After each page a cursor
    is committed (panel_kit/resume.py): a run that stops (a panel outage, a killed process,
    ``deadline`` seconds passed) is resumed by the next one unless ``restart``; a dry run
    starts from the top and keeps no cursor."""
    report = ReconcileReport(dry_run=dry_run)
    settings = panel.load_settings()
    run = resume.Run(
        None if dry_run else RunCursor.__table__,
        resume.scope_of("reconcile", settings.url),
        label="pelican.reconcile",
        restart=restart,
        deadline=deadline,
    )
    report.run = run
    with panel.connect() as client:
        for segment in run.segments(lambda n: client.app.servers_page(n, per_page=PAGE)):
            checked = report.checked
            _segment(segment, settings.external_id_prefix, run, report)
            run.count("checked", report.checked - checked)
    return report


def _segment(segment: resume.Segment, prefix: str, run: resume.Run, report: ReconcileReport):
    """One listing page: its services against its servers, then its orphans."""
    by_id = {int(s["id"]): s for s in segment.servers}
    rows = _services(segment, run.claimed)
    claimed = {link.server_id for _, link in rows if _live(link) and link.server_id in by_id}
    strays = [
        (sid, s) for sid, s in resume.ours(segment.servers, prefix) if int(s["id"]) not in claimed
    ]
    matched: dict[int, dict[str, Any]] = {}
    if strays:
        unlinked = {service.id for service, link in rows if not _live(link)}
        missing = [sid for sid, _ in strays if sid not in unlinked]
        if missing:
            products = select(Product.id).where(Product.provisioner == "pelican")
            found = _rows(
                select(Service, ServerLink).where(
                    Service.id.in_(missing),
                    Service.product_id.in_(products),
                    Service.state != TERMINATED,
                    NO_LINK,
                )
            )
            rows += found
            unlinked |= {service.id for service, _ in found}
        for service_id, server in strays:
            if service_id in unlinked and service_id not in matched:
                matched[service_id] = server
            else:
                report.orphans.append(int(server["id"]))
    observed: dict[int, dict[str, Any] | None] = {}
    for service, link in rows:
        report.checked += 1
        server = by_id.get(link.server_id) if _live(link) else matched.get(service.id)
        if report.dry_run:
            found_differences = differences(service, server)
            if found_differences:
                report.differences[service.id] = found_differences
        else:
            observed[service.id] = server
    run.claimed.update(matched)
    if observed:
        _converge(observed, report)


def _converge(observed: dict[int, dict[str, Any] | None], report: ReconcileReport) -> None:
    now = utcnow()
    for service_id, outcome in converge_observed(observed).items():
        link = db.session.get(ServerLink, service_id)
        text = ""
        if outcome.kind in ("human", "failed"):
            text = "deleted in the panel" if outcome.panel_state == "missing" else outcome.detail
            report.findings[service_id] = text
        elif outcome.detail:
            report.repaired[service_id] = outcome.detail
        if link is not None and text != link.drift:
            link.drift, link.drift_at = text, now if text else None
    db.session.commit()


@job(queue="provisioning", timeout=3600)
def reconcile_task() -> dict | None:
    """Cron: reconcile when the panel is configured; returns the counts."""
    if not panel.load_settings().configured:
        return None
    report = reconcile(deadline=SLOT)
    return {
        "resumed": report.resumed,
        "complete": report.complete,
        "checked": report.checked,
        "repaired": len(report.repaired),
        "findings": report.findings,
        "orphans": report.orphans,
    }
