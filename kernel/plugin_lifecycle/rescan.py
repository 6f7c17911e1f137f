"""Scans that change what runs: the one place that applies a scan's verdict to a plugin.

The CLI's ``plugin scan``, the admin's Scan button and the daily rescan all call
:func:`scan_and_enforce`, so a CRITICAL finding in an enabled plugin blocks and
unloads it the same way wherever the scan was started.
"""

from __future__ import annotations

import logging

from kernel.plugins.discovery import DiscoveredPlugin
from kernel.security.findings import Severity, Verdict
from kernel.security.gate import scan_plugin, summarize
from kernel.security.models import ScanRecord

log = logging.getLogger(__name__)


# States of a plugin that is, or is meant to be, running: a blocking scan blocks them.
ACTIVE_STATES = ("enabled", "update_pending", "faulted")


def active_names() -> set[str]:
    from kernel.extensions import db
    from kernel.plugins.models import PluginRecord

    return set(
        db.session.scalars(
            db.select(PluginRecord.name).where(PluginRecord.state.in_(ACTIVE_STATES))
        )
    )


def scan_and_enforce(
    plugin: DiscoveredPlugin, *, force: bool = False, actor: str | None = None
) -> ScanRecord:
    """Scan ``plugin``; if the verdict is ``block`` and it is active, block and unload it.

    Active: enabled, or enabled and since turned ``update_pending``/``faulted``. Blocking
    goes through ``kernel.plugin_lifecycle.services.block``, which records the reason and bumps
    the plugin generation, so every process unloads it through the hot swap.
    """
    from kernel import audit
    from kernel.plugin_lifecycle.services import block

    record = scan_plugin(plugin, force=force)
    if record.verdict != Verdict.BLOCK or plugin.name not in active_names():
        return record
    critical = record.at_least(Severity.CRITICAL)
    reason = (
        f"scan found {len(critical)} CRITICAL finding{'s' if len(critical) != 1 else ''}"
        f": {summarize(critical)}"
    )
    audit.record(
        "plugin.scan_blocked",
        plugin.name,
        {
            "scan_id": record.id,
            "content_hash": record.content_hash,
            "findings": [f.brief() for f in critical],
        },
        actor=actor or "system",
        commit=False,
    )
    block(plugin.name, reason, actor=actor or "system")
    log.warning("scan blocked enabled plugin %s: %s", plugin.name, reason)
    return record


def rescan_enabled() -> list[str]:
    """Force-rescan every enabled plugin; block those whose verdict is now ``block``.

    Returns the names blocked.
    """
    from kernel.extensions import db
    from kernel.plugin_lifecycle.services import discover_all
    from kernel.plugins.models import PluginRecord

    plugins = discover_all()
    names = list(
        db.session.scalars(
            db.select(PluginRecord.name)
            .where(PluginRecord.state == "enabled")
            .order_by(PluginRecord.name)
        )
    )
    blocked: list[str] = []
    for name in names:
        plugin = plugins.get(name)
        if plugin is None:
            log.warning("rescan: enabled plugin %s is no longer installed", name)
            continue
        if scan_and_enforce(plugin, force=True, actor="system").verdict == Verdict.BLOCK:
            blocked.append(name)
    return blocked
