"""Scan records: what a scan of one exact plugin content found, and under which policy."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from kernel import clock
from kernel.extensions import db
from kernel.security.findings import Finding, Severity, sort_key


class ScanRecord(db.Model):
    __tablename__ = "scan_record"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plugin: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[str] = mapped_column(String(64), default="")
    content_hash: Mapped[str] = mapped_column(String(64), default="")
    # relative path -> sha256 of every file the scan read and analysed (the verified list)
    files: Mapped[dict | None] = mapped_column(JSON, nullable=True, default=None)
    findings: Mapped[list] = mapped_column(JSON, default=list)  # Finding.to_dict() items
    # bandit, pip-audit, python, the OSV URL and the audited dependency pins
    tool_versions: Mapped[dict] = mapped_column(JSON, default=dict)
    policy_version: Mapped[str] = mapped_column(String(32), default="")
    advisory_state: Mapped[str] = mapped_column(String(16), default="none")
    verdict: Mapped[str] = mapped_column(String(8), default="block")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=clock.now, index=True)

    def finding_objects(self) -> list[Finding]:
        return sorted((Finding.from_dict(f) for f in self.findings or []), key=sort_key)

    def at_least(self, severity: Severity) -> list[Finding]:
        return [f for f in self.finding_objects() if f.severity >= severity]

    def counts(self) -> dict[str, int]:
        """Findings per severity name, every level present (for tables and widgets)."""
        counter = Counter(f.severity.name for f in self.finding_objects())
        return {s.name: counter.get(s.name, 0) for s in sorted(Severity, reverse=True)}

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "plugin": self.plugin,
            "version": self.version,
            "verdict": self.verdict,
            "advisory_state": self.advisory_state,
            "content_hash": self.content_hash,
            "policy_version": self.policy_version,
            "tool_versions": self.tool_versions,
            "created_at": (
                self.created_at.isoformat(timespec="seconds") if self.created_at else None
            ),
            "counts": self.counts(),
            "findings": [f.to_dict() for f in self.finding_objects()],
        }

    def __repr__(self) -> str:
        return f"<ScanRecord {self.plugin} {self.version} {self.verdict} #{self.id}>"
