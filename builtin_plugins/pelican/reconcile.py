"""Reconciliation: every Pelican server against its store service, repaired where it can be.

One listing of the panel's servers is read; each live Pelican service (and each ended one
whose server may still exist) goes through the store's reconciler with what the listing shows
for it (``converge_observed``: the same code path as the jobs after every lifecycle change),
so a server suspended, unsuspended, resized, renamed or handed to someone else behind our back
is put back, and one that should be deleted is deleted. What it cannot repair is reported and
written on the server link (``drift``): a server deleted in the panel, a panel that keeps
failing, and panel servers carrying our external id that no service owns (orphans).
``dry_run`` reports what differs without changing anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from builtin_plugins.panel_kit.api import convergence
from builtin_plugins.pelican import panel, product
from builtin_plugins.pelican.models import ServerLink
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


def _services() -> list[Service]:
    """Services of Pelican products that are live, or ended with a server link still live."""
    products = select(Product.id).where(Product.provisioner == "pelican")
    rows = db.session.scalars(
        select(Service)
        .outerjoin(ServerLink, ServerLink.service_id == Service.id)
        .where(Service.product_id.in_(products))
        .where(
            (Service.state != TERMINATED)
            | (ServerLink.deleted_at.is_(None) & ServerLink.service_id.is_not(None))
        )
        .order_by(Service.id)
    )
    return list(rows)


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


def reconcile(*, dry_run: bool = False) -> ReconcileReport:
    report = ReconcileReport(dry_run=dry_run)
    with panel.connect() as client:
        servers = client.app.list_servers()
    prefix = panel.load_settings().external_id_prefix
    by_id = {int(s["id"]): s for s in servers}
    by_external = {str(s.get("external_id")): s for s in servers if s.get("external_id")}
    observed: dict[int, dict[str, Any] | None] = {}
    claimed: set[int] = set()
    for service in _services():
        report.checked += 1
        link = db.session.get(ServerLink, service.id)
        live = link is not None and link.deleted_at is None
        server = by_id.get(link.server_id) if live else by_external.get(f"{prefix}-{service.id}")
        if server is not None:
            claimed.add(int(server["id"]))
        if dry_run:
            found = differences(service, server)
            if found:
                report.differences[service.id] = found
        else:
            observed[service.id] = server
    ours = re.compile(rf"^{re.escape(prefix)}-\d+$")
    report.orphans = sorted(
        sid
        for sid, s in by_id.items()
        if sid not in claimed and ours.match(str(s.get("external_id") or ""))
    )
    if observed:
        _converge(observed, report)
    return report


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
    report = reconcile()
    return {
        "checked": report.checked,
        "repaired": len(report.repaired),
        "findings": report.findings,
        "orphans": report.orphans,
    }
