"""May a plugin be imported now? The one place that answers, for every caller.

The loader (app builds in every process), enabling, ``pteroca db upgrade``,
uninstall with purge, lifecycle events and ``plugin list`` all ask here. A plugin
is admitted when it has a current verdict: its record carries the file list of
the scan that passed (or whose HIGH findings an admin confirmed) when it was
enabled, no later scan of those same files blocked it, and its files on disk are
still exactly those. The answer is an :class:`~kernel.plugins.verified.Admission`
(the only thing the verified loader imports from) or :class:`NotAdmitted` with a
reason a user can act on and the state the plugin should show.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kernel.extensions import db
from kernel.plugins.discovery import DiscoveredPlugin
from kernel.plugins.files import describe_changes, tree_hash
from kernel.plugins.states import State
from kernel.plugins.verified import Admission

if TYPE_CHECKING:
    from kernel.plugins.models import PluginRecord
    from kernel.security.models import ScanRecord

NO_FILE_LIST = (
    "has no verified file list (it was enabled before pteroca recorded per-file "
    "hashes, or never passed a scan); scan and enable it again"
)


class NotAdmitted(Exception):
    """The plugin may not be imported; ``reason`` says why, ``state`` what it is now."""

    def __init__(self, reason: str, state: State = State.UPDATE_PENDING):
        self.reason, self.state = reason, state
        super().__init__(reason)


def _scan(scan_id: int | None) -> ScanRecord | None:
    from kernel.security.models import ScanRecord

    return db.session.get(ScanRecord, scan_id) if scan_id else None


def _blocking_scan(name: str, content_hash: str) -> ScanRecord | None:
    """The newest scan of exactly these files, if its verdict is block."""
    from kernel.security.models import ScanRecord

    newest = db.session.scalars(
        db.select(ScanRecord)
        .where(ScanRecord.plugin == name, ScanRecord.content_hash == content_hash)
        .order_by(ScanRecord.created_at.desc(), ScanRecord.id.desc())
        .limit(1)
    ).first()
    return newest if newest is not None and newest.verdict == "block" else None


def recorded_files(record: PluginRecord | None) -> Mapping[str, str]:
    """The verified file list a record holds; NotAdmitted when there is none to trust."""
    if record is None or not record.files:
        raise NotAdmitted(NO_FILE_LIST)
    if record.state == State.BLOCKED:
        raise NotAdmitted(
            f"is blocked: {record.reason or 'its scan found CRITICAL findings'}", State.BLOCKED
        )
    if tree_hash(record.files) != record.content_hash:
        raise NotAdmitted(
            "its recorded file list does not match its content hash; scan and enable it again",
            State.FAULTED,
        )
    if _blocking_scan(record.name, record.content_hash) is not None:
        raise NotAdmitted(
            "a later scan of these same files blocks it; see its scan report", State.BLOCKED
        )
    return record.files


def admission_for(
    plugin: DiscoveredPlugin | None,
    record: PluginRecord | None,
    *,
    digests: Mapping[str, str] | None = None,
) -> Admission:
    """The admission for a plugin with a current verdict, else NotAdmitted (nothing imported)."""
    if plugin is None or plugin.path is None:
        raise NotAdmitted("cannot load: no longer installed", State.FAULTED)
    if not plugin.ok:
        raise NotAdmitted("cannot load: " + "; ".join(map(str, plugin.errors)), State.FAULTED)
    files = recorded_files(record)
    current = plugin.digests() if digests is None else digests
    if dict(current) != dict(files):
        raise NotAdmitted(
            "files changed since its passing scan ("
            + describe_changes(files, current)
            + "); scan and enable it again"
        )
    return Admission(plugin.name, plugin.module, plugin.path, files)


def admission_from_scan(plugin: DiscoveredPlugin, scan: ScanRecord) -> Admission:
    """Enabling: the scan that just passed (or was confirmed) admits the files it read."""
    if not scan.files:
        raise NotAdmitted("its scan record has no file list; scan it again")
    current = plugin.digests()
    if current != scan.files:
        raise NotAdmitted(
            "files changed while it was being scanned ("
            + describe_changes(scan.files, current)
            + "); nothing of it was "
            "imported: scan and enable it again"
        )
    return Admission(plugin.name, plugin.module, plugin.path, scan.files)


@dataclass(frozen=True)
class GateStatus:
    """What the loader enforces for one plugin, for listings (``plugin list``, the admin)."""

    verdict: str  # the verdict the loader honours: "pass", "warn" (accepted), or "" for none
    admitted: bool  # the loader would import it now
    reason: str  # why not, when it is enabled and would not be

    def to_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "admitted": self.admitted, "reason": self.reason}


def gate_status(plugin: DiscoveredPlugin | None, record: PluginRecord | None) -> GateStatus:
    scan = _scan(record.scan_id) if record is not None else None
    verdict = scan.verdict if scan is not None else ""
    if record is None or record.state != State.ENABLED:
        return GateStatus(verdict, False, "")
    try:
        admission_for(plugin, record)
    except NotAdmitted as exc:
        return GateStatus(verdict, False, exc.reason)
    return GateStatus(verdict, True, "")
