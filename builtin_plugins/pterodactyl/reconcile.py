"""Reconciliation: servers deleted, suspended, unsuspended, resized or handed to someone else
in the panel behind our back are reported and flagged.

One paginated sweep of the panel's servers is compared with every live store service of
this provisioner. A finding is stored on the server link (``drift``) and shown as the
service's last problem (``panel: ...``); a server back in step has its flag cleared.
``dry_run`` reports without writing anything. Nothing is changed in the panel.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from sqlalchemy import select

from builtin_plugins.pterodactyl import errors, product, services
from builtin_plugins.pterodactyl.client import LIMIT_KEYS, PanelClient
from builtin_plugins.pterodactyl.models import ServerLink, UserLink
from builtin_plugins.store.api import ACTIVE, SUSPENDED, TERMINATED
from builtin_plugins.store.api import Product, Service
from kernel import db, now as utcnow, record_audit

FLAG_PREFIX = "panel: "
COMPARED_LIMITS = tuple(k for k in LIMIT_KEYS if k != "threads")


@dataclass
class Finding:
    service_id: int | None
    server_id: int | None
    kind: str  # deleted | suspended | unsuspended | resized | owner | orphan
    message: str

    def __str__(self) -> str:
        who = f"server #{self.service_id}" if self.service_id else f"panel server {self.server_id}"
        return f"{who}: {self.message}"


@dataclass
class ReconcileReport:
    dry_run: bool = False
    checked: int = 0
    findings: list[Finding] = field(default_factory=list)
    cleared: list[int] = field(default_factory=list)

    def by_service(self) -> dict[int, list[Finding]]:
        out: dict[int, list[Finding]] = {}
        for finding in self.findings:
            if finding.service_id is not None and finding.kind != "orphan":
                out.setdefault(finding.service_id, []).append(finding)
        return out


def _services() -> list[Service]:
    return list(db.session.scalars(
        select(Service).join(Product, Service.product_id == Product.id)
        .where(Product.provisioner == "pterodactyl", Service.state.in_((ACTIVE, SUSPENDED)))
        .order_by(Service.id)))


def _expected(service: Service) -> product.ProductConfig | None:
    try:
        return product.config_of(service.product)
    except product.ConfigError:
        return None


def compare(service: Service, server: dict[str, Any] | None, owner: int | None) -> list[Finding]:
    """What differs between a service and its panel server (None: the server is gone)."""
    if server is None:
        return [Finding(service.id, None, "deleted", "deleted in the panel")]
    sid = int(server["id"])
    found: list[Finding] = []
    suspended = server.get("status") == "suspended" or bool(server.get("suspended"))
    if suspended and service.state == ACTIVE:
        found.append(Finding(service.id, sid, "suspended", "suspended in the panel"))
    if not suspended and service.state == SUSPENDED:
        found.append(Finding(service.id, sid, "unsuspended", "not suspended in the panel"))
    config = _expected(service)
    if config is not None:
        diffs = []
        limits, features = server.get("limits") or {}, server.get("feature_limits") or {}
        for key in COMPARED_LIMITS:
            want, have = config.limits()[key], limits.get(key)
            if have is not None and int(have) != int(want):
                diffs.append(f"{key} {want} -> {have}")
        for key, want in config.feature_limits().items():
            have = features.get(key)
            if have != want:
                diffs.append(f"{key} {want} -> {'unlimited' if have is None else have}")
        if diffs:
            found.append(Finding(service.id, sid, "resized", "resized in the panel: "
                                 + ", ".join(diffs)))
    if owner is not None and int(server.get("user") or 0) != owner:
        found.append(Finding(service.id, sid, "owner", f"owned by panel user #{server.get('user')} "
                             f"instead of #{owner}"))
    return found


def reconcile(*, dry_run: bool = False, client: PanelClient | None = None) -> ReconcileReport:
    """Compare every live service with the panel; flag (unless ``dry_run``) and report."""
    report = ReconcileReport(dry_run=dry_run)
    own = client is None
    client = client or services.panel()
    try:
        servers = client.app.list_servers()
    finally:
        if own:
            client.close()
    by_id = {int(s["id"]): s for s in servers}
    by_external = {str(s.get("external_id")): s for s in servers if s.get("external_id")}
    prefix = services.load_settings().external_id_prefix
    now = utcnow()
    for service in _services():
        report.checked += 1
        link = db.session.get(ServerLink, service.id)
        server = by_id.get(link.server_id) if link is not None and link.deleted_at is None else \
            by_external.get(f"{prefix}-{service.id}")
        if link is None and server is not None and not dry_run:
            link = services.link_server(service, server, "adopted")
        owner_link = db.session.get(UserLink, service.user_id)
        findings = compare(service, server, owner_link.panel_user_id if owner_link else None)
        report.findings.extend(findings)
        if not dry_run:
            _flag(service, link, findings, now, report)
    report.findings.extend(_orphans(servers, prefix))
    if not dry_run:
        db.session.commit()
    current_app.logger.info("pterodactyl reconcile: %d checked, %d findings%s", report.checked,
                            len(report.findings), " (dry run)" if dry_run else "")
    return report


def _flag(service: Service, link: ServerLink | None, findings: list[Finding], now,
          report: ReconcileReport) -> None:
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
            record_audit("pterodactyl.drift", f"service:{service.id}",
                         {"findings": [f.kind for f in findings], "detail": text}, commit=False)
    elif (service.last_error or "").startswith(FLAG_PREFIX):
        service.last_error = ""
        report.cleared.append(service.id)


def _orphans(servers: list[dict[str, Any]], prefix: str) -> list[Finding]:
    """Panel servers carrying our external id whose service is gone or was never ours."""
    pattern = re.compile(rf"^{re.escape(prefix)}-(\d+)$")
    out = []
    for server in servers:
        match = pattern.match(str(server.get("external_id") or ""))
        if not match:
            continue
        service = db.session.get(Service, int(match.group(1)))
        if service is None or service.state == TERMINATED:
            why = "its service does not exist" if service is None else "its service was deleted"
            out.append(Finding(int(match.group(1)), int(server["id"]), "orphan",
                               f"panel server {server.get('name')!r} ({server['id']}) still "
                               f"exists but {why}"))
    return out


def reconcile_task() -> dict | None:
    """Cron: reconcile when the panel is configured; returns the findings as text."""
    if not services.load_settings().configured:
        return None
    try:
        report = reconcile()
    except errors.PanelError as exc:
        current_app.logger.warning("pterodactyl reconcile failed: %s", exc)
        raise
    return {"checked": report.checked, "findings": [str(f) for f in report.findings],
            "cleared": report.cleared}
