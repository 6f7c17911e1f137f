"""The privacy tables: data exports waiting to be downloaded, and erasure requests."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kernel import clock
from kernel.extensions import db

# export states
QUEUED, READY, FAILED, EXPIRED = "queued", "ready", "failed", "expired"
# erasure states
SCHEDULED, RUNNING, CANCELLED, DONE = "scheduled", "running", "cancelled", "done"  # and FAILED


class DataExport(db.Model):
    """One requested export: the ZIP lives in the exports folder (never under the web root)
    under the random ``filename`` until ``expires_at``, then the file is deleted."""

    __tablename__ = "privacy_export"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=QUEUED, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=clock.now)
    ready_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True, index=True)
    filename: Mapped[str] = mapped_column(String(80), default="")
    size: Mapped[int] = mapped_column(Integer, default=0)
    # Areas that could not be gathered (a plugin that failed): the readme names them too.
    missing: Mapped[str] = mapped_column(Text, default="")


class ErasureRequest(db.Model):
    """A request to erase an account's personal data, carried out at ``due_at``.

    Holds no personal data itself: the account is ``user_id`` (pseudonymous once erased)."""

    __tablename__ = "privacy_erasure"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=SCHEDULED, index=True)
    requested_at: Mapped[datetime] = mapped_column(DateTime, default=clock.now)
    due_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    requested_by: Mapped[str] = mapped_column(String(16), default="customer")  # customer | staff
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # The plugins whose erase_personal_data ran; one enabled later is asked again (catch-up).
    erased_by: Mapped[list] = mapped_column(JSON, default=list)
