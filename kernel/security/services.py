"""Scheduled rescans: a new CRITICAL finding in an enabled plugin blocks and unloads it."""

from __future__ import annotations

import logging

from kernel.security.findings import Severity, Verdict
from kernel.security.gate import scan_plugin, summarize

log = logging.getLogger(__name__)


def rescan_enabled() -> list[str]:
    """Force-rescan every enabled plugin; block those whose verdict is now ``block``.

    Returns the names blocked. Blocking goes through ``kernel.plugins.services.block``,
    which records the reason and bumps the plugin generation, so every process
    unloads the plugin through the hot swap.
    """
    from kernel import audit
    from kernel.extensions import db
    from kernel.plugins.models import PluginRecord
    from kernel.plugins.services import block, discover_all

    plugins = discover_all()
    names = list(db.session.scalars(
        db.select(PluginRecord.name).where(PluginRecord.state == "enabled")
        .order_by(PluginRecord.name)))
    blocked: list[str] = []
    for name in names:
        plugin = plugins.get(name)
        if plugin is None:
            log.warning("rescan: enabled plugin %s is no longer installed", name)
            continue
        record = scan_plugin(plugin, force=True)
        if record.verdict != Verdict.BLOCK:
            continue
        critical = record.at_least(Severity.CRITICAL)
        reason = f"rescan found {len(critical)} CRITICAL finding" \
                 f"{'s' if len(critical) != 1 else ''}: {summarize(critical)}"
        audit.record("plugin.scan_blocked", name, {
            "scan_id": record.id, "content_hash": record.content_hash,
            "findings": [f.brief() for f in critical]}, actor="system", commit=False)
        block(name, reason, actor="system")
        blocked.append(name)
        log.warning("rescan blocked plugin %s: %s", name, reason)
    return blocked
