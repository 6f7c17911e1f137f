"""Kernel tables that are not owned by a sub-package: key/value state and the audit log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from kernel import clock
from kernel.extensions import db


class KernelState(db.Model):
    """Small cluster-wide values, such as the plugin generation."""

    __tablename__ = "kernel_state"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


class AuditLog(db.Model):
    __tablename__ = "audit_log"
    # Keyset pages of a filtered log (kernel/paging.py; migration k0015).
    __table_args__ = (
        Index("ix_audit_log_action_id", "action", "id"),
        Index("ix_audit_log_actor_id", "actor", "id"),
        Index("ix_audit_log_target_id", "target", "id"),
    )
    # What theme templates may read (kernel/theme_sandbox.py): the activity widget.
    __template_fields__ = ("id", "created_at", "action", "ip")
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=clock.now, index=True)
    actor: Mapped[str] = mapped_column(String(255), default="system")
    action: Mapped[str] = mapped_column(String(64), index=True)
    target: Mapped[str] = mapped_column(String(255), default="")
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    ip: Mapped[str] = mapped_column(String(64), default="")
