"""The plugin's tables (prefixed ``pterodactyl_``): the panel user and server of each local one,
the live-state cache, the request budget's buckets and where an interrupted reconcile stopped."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kernel import db
from kernel import now as utcnow


class UserLink(db.Model):
    """A local account and its panel user (created by us, or an existing one linked by email)."""

    __tablename__ = "pterodactyl_user_link"
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), primary_key=True
    )
    panel_user_id: Mapped[int] = mapped_column(Integer, unique=True)
    panel_username: Mapped[str] = mapped_column(String(191), default="")
    origin: Mapped[str] = mapped_column(String(16), default="created")  # created | linked
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    synced_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")


class ServerLink(db.Model):
    """A store service and its panel server; ``drift`` is what reconciliation last found."""

    __tablename__ = "pterodactyl_server"
    service_id: Mapped[int] = mapped_column(
        ForeignKey("store_service.id", ondelete="CASCADE"), primary_key=True
    )
    server_id: Mapped[int] = mapped_column(Integer, index=True)
    identifier: Mapped[str] = mapped_column(String(8), default="")
    uuid: Mapped[str] = mapped_column(String(36), default="")
    external_id: Mapped[str] = mapped_column(String(191), default="")
    node_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # created | adopted | imported
    origin: Mapped[str] = mapped_column(String(16), default="created")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    checked_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    drift: Mapped[str] = mapped_column(Text, default="")
    drift_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class LiveState(db.Model):
    """The last live state the panel gave for a server (statuses.py: the shared cache when
    no Redis is configured). Short-lived by design: rows older than a few seconds are ignored
    and overwritten by the next refresh."""

    __tablename__ = "pterodactyl_live_state"
    service_id: Mapped[int] = mapped_column(
        ForeignKey("store_service.id", ondelete="CASCADE"), primary_key=True
    )
    state: Mapped[str] = mapped_column(String(16), default="unknown")
    detail: Mapped[str] = mapped_column(Text, default="")
    checked_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class RequestBudget(db.Model):
    """One token bucket of the panel request budget (panel_kit's budget.py), per panel and
    API: used when no Redis is configured, taken with one atomic UPDATE per request."""

    __tablename__ = "pterodactyl_request_budget"
    scope: Mapped[str] = mapped_column(String(191), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)  # epoch seconds of the last refill


class RunCursor(db.Model):
    """Where an interrupted reconcile run stopped (panel_kit's resume.py), per job and panel:
    the next run goes on from it. Deleted when a run finishes."""

    __tablename__ = "pterodactyl_run_cursor"
    scope: Mapped[str] = mapped_column(String(191), primary_key=True)
    state: Mapped[str] = mapped_column(Text)  # the cursor as JSON
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
