"""Reconciliation: every panel server against its store service, repaired where it can be.

The panel's servers are read a page at a time in id order, and each page is compared with the
live store services of this provisioner linked into its range of ids (panel_kit/resume.py: a
run that stops is resumed by the next one after the last page it finished); each service that
is not exactly as it should be goes through the store's reconciler with what the listing
shows for it (store/reconciler.py, converge_observed: the same code path as the jobs that
follow every lifecycle change): a server suspended, unsuspended, resized, renamed or handed to
someone else behind our back is put back; one that should be deleted is deleted. What it
cannot repair is reported and flagged for a human: a server deleted in the panel (the finding
is stored on the server link, ``drift``, shown as the service's last problem ``panel: ...``,
and the service is listed under Admin > Store > Out of sync), a panel that keeps failing,
and panel servers carrying our external id that no service owns (orphans). ``dry_run``
reports what it would do without changing anything. Servers staff accepted as they are are
left alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from flask import current_app
from sqlalchemy import select

from builtin_plugins.panel_kit.api import errors, resume
from builtin_plugins.pterodactyl import panel, product
from builtin_plugins.pterodactyl.client import PanelClient
from builtin_plugins.pterodactyl.converge import install_state, is_suspended, limit_differences
from builtin_plugins.pterodactyl.models import RunCursor, ServerLink, UserLink
from builtin_plugins.store.api import (
    ACTIVE,
    FAILED,
    PANEL_SUSPENDED,
    SUSPENDED,
    TERMINATED,
    Product,
    Service,
    converge_observed,
)
from kernel import db, record_audit
from kernel import now as utcnow

FLAG_PREFIX = "panel: "


@dataclass
class Finding:
    service_id: int | None
    server_id: int | None
    kind: str  # deleted | suspended | unsuspended | resized | owner | orphan | failed
    message: str

    def __str__(self) -> str:
        who = f"server #{self.service_id}" if self.service_id else f"panel server {self.server_id}"
        return f"{who}: {self.message}"


@dataclass
class ReconcileReport:
    dry_run: bool = False
    checked: int = 0
    findings: list[Finding] = field(default_factory=list)  # what needs a human
    cleared: list[int] = field(default_factory=list)
    repaired: dict[int, str] = field(default_factory=dict)  # service id -> what was put back
    run: resume.Run | None = field(default=None, repr=False, compare=False)

    @property
    def resumed(self) -> str:
        """``resuming after panel server 12345, 3 pages done``, or empty."""
        return self.run.resume_text() if self.run is not None else ""

    @property
    def complete(self) -> bool:
        """False when the run stopped at its deadline (the next one resumes)."""
        return self.run is None or not self.run.stopped

    def by_service(self) -> dict[int, list[Finding]]:
        out: dict[int, list[Finding]] = {}
        for finding in self.findings:
            if finding.service_id is not None and finding.kind != "orphan":
                out.setdefault(finding.service_id, []).append(finding)
        return out


# Panel servers per listing page, and so per query of services: after each page the cursor
# is committed (a write and, on SQLite, a new transaction), so a page of 200 keeps the run
# at 1.5 statements per 100 servers and halves the listing's share of the request budget.
PAGE = 200
CHUNK = 5 * PAGE  # services read per query: a page's range holds about PAGE of them
SLOT = 50 * 60  # seconds the hourly cron run may spend; it resumes at the next slot


def _columns():
    return (
        select(
            Service.id,
            Service.state,
            Service.sync_status,
            Service.last_error,
            Service.desired_state,
            Service.name,
            Service.product_id,
            ServerLink.service_id.label("link_id"),
            ServerLink.server_id.label("link_server_id"),
            ServerLink.deleted_at.label("link_deleted_at"),
            ServerLink.drift.label("link_drift"),
            UserLink.panel_user_id.label("owner"),
        )
        .outerjoin(ServerLink, ServerLink.service_id == Service.id)
        .outerjoin(UserLink, UserLink.user_id == Service.user_id)
    )


LIVE_LINK = ServerLink.service_id.is_not(None) & ServerLink.deleted_at.is_(None)
NO_LINK = ServerLink.service_id.is_(None) | ServerLink.deleted_at.is_not(None)


def _services(products: dict[int, Product], segment: resume.Segment, claimed: set[int]):
    """The services of a listing page, read as plain rows (no ORM objects: a fleet in line
    is only read) with their server link's columns (``link_*``, None without a link) and
    their owner's panel user id (``owner``), by id in chunks of CHUNK (one query for a
    page's hundred): live and ended services whose live link points into the page's range;
    on the last page also the live services without a link that no page claimed."""
    in_range = LIVE_LINK & (ServerLink.server_id > segment.after)
    if segment.upto is not None:
        in_range &= ServerLink.server_id <= segment.upto
    wanted = in_range & Service.state.in_((ACTIVE, SUSPENDED, TERMINATED, FAILED))
    if segment.last:
        unlinked = NO_LINK & Service.state.in_((ACTIVE, SUSPENDED))
        if claimed:
            unlinked &= Service.id.not_in(sorted(claimed))
        wanted |= unlinked
    query = (
        _columns()
        .where(Service.product_id.in_(list(products)), wanted)
        .order_by(Service.id)
        .limit(CHUNK)
    )
    after = 0
    while products:
        rows = db.session.execute(query.where(Service.id > after)).all()
        yield from rows
        if len(rows) < CHUNK:
            return
        after = rows[-1].id


def _expected(
    service, products: dict[int, Product] | None = None, configs: dict[int, Any] | None = None
) -> product.ProductConfig | None:
    """The service's product settings (parsed once per product when ``configs`` is given)."""
    if configs is not None and service.product_id in configs:
        return configs[service.product_id]
    try:
        found = product.config_of(products[service.product_id] if products else service.product)
    except product.ConfigError:
        found = None
    if configs is not None:
        configs[service.product_id] = found
    return found


def in_line(
    service, server: dict[str, Any] | None, config: product.ProductConfig | None, prefix: str
) -> bool:
    """True when the panel server is exactly what the service wants and nothing is flagged:
    the run leaves it alone (no write, no converge). Anything else goes through the store's
    reconciler, which repairs, flags or clears it. ``service`` is a row of :func:`_services`."""
    if (
        server is None
        or service.link_id is None
        or service.link_deleted_at is not None
        or config is None
    ):
        return False
    if (
        service.state not in (ACTIVE, SUSPENDED)
        or service.sync_status != "ok"
        or service.link_drift
        or (service.last_error or "").startswith(FLAG_PREFIX)
    ):
        return False
    if service.link_server_id != int(server["id"]) or install_state(server):
        return False
    if is_suspended(server) != (service.desired_state == PANEL_SUSPENDED):
        return False
    description = config.description_for(service)
    return (
        str(server.get("name") or "") == service.name[:191]
        and str(server.get("external_id") or "") == f"{prefix}-{service.id}"
        and (service.owner is None or int(server.get("user") or 0) == int(service.owner))
        and (description is None or str(server.get("description") or "") == description)
        and not limit_differences(config, server)
    )


def compare(
    service,
    server: dict[str, Any] | None,
    owner: int | None,
    config: product.ProductConfig | None = None,
) -> list[Finding]:
    """What differs between a service and its panel server (None: the server is gone)."""
    if service.state in (TERMINATED, FAILED):
        return (
            [Finding(service.id, int(server["id"]), "delete", "still in the panel; to be deleted")]
            if server is not None
            else []
        )
    if server is None:
        return [Finding(service.id, None, "deleted", "deleted in the panel")]
    sid = int(server["id"])
    found: list[Finding] = []
    suspended = server.get("status") == "suspended" or bool(server.get("suspended"))
    if suspended and service.state == ACTIVE:
        found.append(Finding(service.id, sid, "suspended", "suspended in the panel"))
    if not suspended and service.state == SUSPENDED:
        found.append(Finding(service.id, sid, "unsuspended", "not suspended in the panel"))
    if config is None and isinstance(service, Service):
        config = _expected(service)
    diffs = limit_differences(config, server) if config is not None else []
    if diffs:
        found.append(
            Finding(service.id, sid, "resized", "resized in the panel: " + ", ".join(diffs))
        )
    if owner is not None and int(server.get("user") or 0) != owner:
        found.append(
            Finding(
                service.id,
                sid,
                "owner",
                f"owned by panel user #{server.get('user')} instead of #{owner}",
            )
        )
    return found


def reconcile(
    *,
    dry_run: bool = False,
    client: PanelClient | None = None,
    restart: bool = False,
    deadline: float | None = None,
) -> ReconcileReport:
    """Every live service against the panel: repair (unless ``dry_run``), flag, report.

    The panel's servers are read a page of PAGE at a time, in id order, and each page's
    services are handled before the next page is asked for (one query each, with their
    links and owners); one whose server is exactly as it should be, with nothing flagged,
    costs no write at all; the others go through the store's reconciler. After each page
    a cursor is committed (panel_kit/resume.py): a run that stops (a panel outage, a killed
    process, ``deadline`` seconds passed) is resumed by the next one unless ``restart``;
    a dry run starts from the top and keeps no cursor."""
    report = ReconcileReport(dry_run=dry_run)
    settings = panel.load_settings()
    if client is None and not settings.configured:
        raise errors.NotConfigured(
            "the panel URL and application key are not set (Admin > Plugins > Pterodactyl settings)"
        )
    prefix = settings.external_id_prefix
    run = resume.Run(
        None if dry_run else RunCursor.__table__,
        resume.scope_of("reconcile", settings.url),
        label="pterodactyl.reconcile",
        restart=restart,
        deadline=deadline,
    )
    report.run = run
    products = {
        p.id: p
        for p in db.session.scalars(select(Product).where(Product.provisioner == "pterodactyl"))
    }
    configs: dict[int, Any] = {}
    for product_id in products:  # parsed now: the cursor's commits expire the products
        _expected(SimpleNamespace(product_id=product_id), products, configs)
    own = client is None
    client = client or panel.make_client(settings)
    try:
        for segment in run.segments(lambda n: client.app.servers_page(n, per_page=PAGE)):
            checked, findings = report.checked, len(report.findings)
            _segment(segment, products, configs, prefix, run, report)
            run.count("checked", report.checked - checked)
            run.count("findings", len(report.findings) - findings)
    finally:
        if own:
            client.close()
    current_app.logger.info(
        "pterodactyl reconcile: %d checked, %d repaired, %d findings%s%s",
        report.checked,
        len(report.repaired),
        len(report.findings),
        " (dry run)" if dry_run else "",
        "; stopped at its deadline, the next run resumes" if run.stopped else "",
    )
    return report


def _segment(
    segment: resume.Segment,
    products: dict[int, Product],
    configs: dict[int, Any],
    prefix: str,
    run: resume.Run,
    report: ReconcileReport,
) -> None:
    """One listing page: its services against its servers, then its orphans."""
    by_id = {int(s["id"]): s for s in segment.servers}
    rows = list(_services(products, segment, run.claimed))
    linked = {row.link_server_id for row in rows if _live(row)}
    matched, orphans = _strays(segment, prefix, linked, products, rows)
    known = {row.id for row in rows}
    rows += [row for row, _ in matched.values() if row.id not in known]
    observed: dict[int, dict[str, Any] | None] = {}
    for service in rows:
        report.checked += 1
        if _live(service):
            server = by_id.get(service.link_server_id)
        else:
            server = matched[service.id][1] if service.id in matched else None
        config = _expected(service, products, configs)
        if report.dry_run:
            report.findings.extend(compare(service, server, service.owner, config))
        elif not in_line(service, server, config, prefix):
            observed[service.id] = server
    run.claimed.update(matched)
    if observed:
        _converge(observed, report)
    report.findings.extend(orphans)


def _live(row) -> bool:
    return row.link_id is not None and row.link_deleted_at is None


def _strays(
    segment: resume.Segment, prefix: str, linked: set[int], products: dict[int, Product], rows
) -> tuple[dict[int, tuple[Any, dict[str, Any]]], list[Finding]]:
    """The page's servers carrying our external id that no live link claims: the server of
    a live service without a link (``matched``: service id -> its row and server), or an
    orphan when its service does not exist or was deleted. Costs no query when every such
    server is linked (a fleet in line)."""
    candidates = [
        (service_id, server)
        for service_id, server in resume.ours(segment.servers, prefix)
        if int(server["id"]) not in linked
    ]
    if not candidates:
        return {}, []
    taken = set(
        db.session.scalars(
            select(ServerLink.server_id).where(
                ServerLink.deleted_at.is_(None),
                ServerLink.server_id.in_([int(server["id"]) for _, server in candidates]),
            )
        )
    )
    candidates = [(sid, server) for sid, server in candidates if int(server["id"]) not in taken]
    if not candidates:
        return {}, []
    known = {row.id: row for row in rows if not _live(row)}
    missing = [sid for sid, _ in candidates if sid not in known]
    if missing:
        known.update(
            (row.id, row) for row in db.session.execute(_columns().where(Service.id.in_(missing)))
        )
    matched: dict[int, tuple[Any, dict[str, Any]]] = {}
    orphans = []
    for service_id, server in candidates:
        row = known.get(service_id)
        if row is None or row.state == TERMINATED:
            why = "its service does not exist" if row is None else "its service was deleted"
            orphans.append(
                Finding(
                    service_id,
                    int(server["id"]),
                    "orphan",
                    f"panel server {server.get('name')!r} ({server['id']}) still exists but {why}",
                )
            )
        elif row.product_id in products and row.state in (ACTIVE, SUSPENDED) and not _live(row):
            matched[service_id] = (row, server)
    return matched, orphans


def _converge(observed: dict[int, dict[str, Any] | None], report: ReconcileReport) -> set[int]:
    """The store reconciler's own code path, with the listing as what the panel shows;
    returns the panel servers it deleted."""
    outcomes = converge_observed(observed)
    deleted = {
        int(observed[sid]["id"])
        for sid, outcome in outcomes.items()
        if outcome.panel_state == "deleted" and observed.get(sid)
    }
    now = utcnow()
    for service_id, outcome in outcomes.items():
        service = db.session.get(Service, service_id)
        link = db.session.get(ServerLink, service_id)
        server = observed.get(service_id)
        findings = []
        if outcome.kind in ("human", "failed"):
            kind = "deleted" if outcome.panel_state == "missing" else outcome.kind
            message = "deleted in the panel" if kind == "deleted" else outcome.detail
            findings = [Finding(service_id, int(server["id"]) if server else None, kind, message)]
        elif outcome.detail.startswith("repaired"):
            report.repaired[service_id] = outcome.detail
        report.findings.extend(findings)
        _flag(service, link, findings, now, report)
    db.session.commit()
    return deleted


def _flag(
    service: Service, link: ServerLink | None, findings: list[Finding], now, report: ReconcileReport
) -> None:
    text = "; ".join(f.message for f in findings)
    if link is not None:
        link.checked_at = now
        if text and text != link.drift:
            link.drift, link.drift_at = text, now
        elif not text and link.drift:
            link.drift, link.drift_at = "", None
    if text:
        if service.last_error != FLAG_PREFIX + text:
            service.last_error = FLAG_PREFIX + text
            record_audit(
                "pterodactyl.drift",
                f"service:{service.id}",
                {"findings": [f.kind for f in findings], "detail": text},
                commit=False,
            )
    elif (service.last_error or "").startswith(FLAG_PREFIX):
        service.last_error = ""
        report.cleared.append(service.id)


def reconcile_task() -> dict | None:
    """Cron: reconcile when the panel is configured; returns the findings as text."""
    if not panel.load_settings().configured:
        return None
    try:
        report = reconcile(deadline=SLOT)
    except errors.PanelError as exc:
        current_app.logger.warning(
            "pterodactyl reconcile failed: %s (the next run resumes after the last page done)",
            exc,
        )
        raise
    return {
        "resumed": report.resumed,
        "complete": report.complete,
        "checked": report.checked,
        "findings": [str(f) for f in report.findings],
        "repaired": {str(k): v for k, v in report.repaired.items()},
        "cleared": report.cleared,
    }
