"""The scan gate: scan a plugin (or reuse a fresh record) and apply the policy before enabling."""

from __future__ import annotations

import platform
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import current_app

from kernel import clock
from kernel.extensions import db
from kernel.plugins.discovery import DiscoveredPlugin
from kernel.plugins.files import Snapshot
from kernel.security import advisories, policy
from kernel.security.bandit_check import bandit_version, run_bandit
from kernel.security.dynamic_code import run_dynamic_code_checks
from kernel.security.file_checks import run_file_checks
from kernel.security.findings import Finding, Severity, Verdict, sort_key
from kernel.security.models import ScanRecord
from kernel.security.sources import ParsedSources, paused_gc

BRIEF_LIMIT = 3


class GateRefused(Exception):
    """The gate refused a plugin; ``str(exc)`` is one line, ``exc.record`` the scan behind it."""

    severity = Severity.CRITICAL

    def __init__(self, record: ScanRecord):
        self.record = record
        worst = record.at_least(self.severity)
        super().__init__(f"{record.plugin}: {self.summary(len(worst))}: {summarize(worst)}")

    def summary(self, count: int) -> str:
        return f"refused by {_count(count, self.severity)}"


class ScanBlocked(GateRefused):
    """A CRITICAL finding: the plugin cannot be enabled."""

    severity = Severity.CRITICAL

    def summary(self, count: int) -> str:
        return f"blocked by {_count(count, self.severity)}"


class ConfirmationRequired(GateRefused):
    """HIGH findings: enabling needs an explicit, audit-logged acceptance of the risk."""

    severity = Severity.HIGH

    def summary(self, count: int) -> str:
        verb = "needs" if count == 1 else "need"
        return f"{_count(count, self.severity)} {verb} confirmation (accept the risk to enable)"


def _count(count: int, severity: Severity) -> str:
    return f"{count} {severity.name} finding{'s' if count != 1 else ''}"


def summarize(findings: list[Finding], limit: int = BRIEF_LIMIT) -> str:
    """``bandit B307 eval at x.py:3; ...`` with at most ``limit`` items."""
    items = [f.brief() for f in sorted(findings, key=sort_key)]
    text = "; ".join(items[:limit])
    return text + (f"; and {len(items) - limit} more" if len(items) > limit else "")


def _settings() -> dict[str, Any]:
    cfg = current_app.config
    return {
        "osv_url": cfg.get("OSV_URL") or "",
        "require_audit": bool(cfg.get("REQUIRE_AUDIT")),
        "max_age": timedelta(hours=float(cfg.get("SCAN_MAX_AGE_HOURS", 24) or 0)),
        "cache_dir": Path(cfg.get("INSTANCE_PATH") or current_app.instance_path)
        / "cache"
        / "pip-audit",
    }


def tool_versions(osv_url: str, deps: advisories.DependencySet) -> dict[str, Any]:
    """Everything besides the plugin's files that a scan's result depends on."""
    import pip_audit

    return {
        "bandit": bandit_version(),
        "pip-audit": pip_audit.__version__,
        "python": platform.python_version(),
        "osv_url": osv_url,
        "dependencies": deps.fingerprint(),
    }


def latest_scan(name: str) -> ScanRecord | None:
    return db.session.scalars(
        db.select(ScanRecord)
        .where(ScanRecord.plugin == name)
        .order_by(ScanRecord.created_at.desc(), ScanRecord.id.desc())
        .limit(1)
    ).first()


def _reusable(
    name: str, content_hash: str, tools: dict, policy_version: str, max_age: timedelta
) -> ScanRecord | None:
    if max_age <= timedelta(0):
        return None
    candidates = db.session.scalars(
        db.select(ScanRecord)
        .where(
            ScanRecord.plugin == name,
            ScanRecord.content_hash == content_hash,
            ScanRecord.policy_version == policy_version,
            ScanRecord.created_at >= clock.now() - max_age,
            # an audit that could not run is retried rather than trusted
            ScanRecord.advisory_state.in_([advisories.STATE_OK, advisories.STATE_NONE]),
        )
        .order_by(ScanRecord.created_at.desc(), ScanRecord.id.desc())
        .limit(5)
    )
    # a record without its file list (made before per-file hashes) cannot admit anything
    return next((r for r in candidates if r.tool_versions == tools and r.files), None)


def code_findings(plugin: DiscoveredPlugin, snapshot: Snapshot) -> list[Finding]:
    """File checks, bandit and the dynamic-code rules over one snapshot (each file parsed once)."""
    with paused_gc():
        parsed = ParsedSources(snapshot)
        try:
            findings = run_file_checks(plugin, snapshot, parsed)
            findings += run_dynamic_code_checks(parsed)
            findings += run_bandit(snapshot, parsed)
        finally:
            parsed.release()
    return findings


def run_checks(
    plugin: DiscoveredPlugin,
    deps: advisories.DependencySet,
    *,
    osv_url: str,
    cache_dir: Path,
    require_audit: bool,
    snapshot: Snapshot | None = None,
) -> tuple[list[Finding], str]:
    """Every check; (findings worst first, advisory state). Imports nothing of the plugin.

    The checks read the snapshot's bytes, never the disk again: what they analysed is
    exactly what the record's file list says, whatever happens to the files meanwhile.
    """
    if plugin.path is None:
        findings = run_file_checks(plugin)
    else:
        findings = code_findings(plugin, snapshot or plugin.snapshot())
    audit_findings, state = advisories.audit(
        deps, osv_url=osv_url, cache_dir=cache_dir, require_audit=require_audit
    )
    return sorted(findings + audit_findings, key=sort_key), state


def scan_plugin(plugin: DiscoveredPlugin, *, force: bool = False) -> ScanRecord:
    """The scan record for the plugin's current files: a fresh matching one, or a new scan."""
    settings = _settings()
    snapshot = plugin.snapshot() if plugin.path is not None else None
    content_hash = snapshot.content_hash if snapshot is not None else ""
    deps = advisories.dependency_set(plugin)
    tools = tool_versions(settings["osv_url"], deps)
    policy_version = policy.policy_id(settings["require_audit"])
    if not force:
        reused = _reusable(plugin.name, content_hash, tools, policy_version, settings["max_age"])
        if reused is not None:
            return reused
    findings, state = run_checks(
        plugin,
        deps,
        osv_url=settings["osv_url"],
        cache_dir=settings["cache_dir"],
        require_audit=settings["require_audit"],
        snapshot=snapshot,
    )
    record = ScanRecord(
        plugin=plugin.name,
        version=plugin.version,
        content_hash=content_hash,
        files=dict(snapshot.digests) if snapshot is not None else None,
        findings=[f.to_dict() for f in findings],
        tool_versions=tools,
        policy_version=policy_version,
        advisory_state=state,
        verdict=str(policy.verdict_for(findings, settings["require_audit"])),
        created_at=clock.now(),
    )
    db.session.add(record)
    db.session.commit()
    return record


def check_gate(
    plugin: DiscoveredPlugin, *, accept_risk: bool = False, actor: str | None = None
) -> ScanRecord:
    """Scan (reusing a fresh record) and apply the policy; raise unless enabling may go on."""
    record = scan_plugin(plugin)
    if record.verdict == Verdict.BLOCK:
        raise ScanBlocked(record)
    if record.verdict == Verdict.WARN:
        if not accept_risk:
            raise ConfirmationRequired(record)
        from kernel import audit

        high = record.at_least(Severity.HIGH)
        audit.record(
            "plugin.risk_accepted",
            plugin.name,
            {
                "version": record.version,
                "content_hash": record.content_hash,
                "scan_id": record.id,
                "policy_version": record.policy_version,
                "findings": [f.brief() for f in high],
            },
            actor=actor,
        )
    return record
