"""Announcement tables, all prefixed ``announcements_``; the migration creates them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kernel import db
from kernel import now as utcnow

INFO, WARNING, MAINTENANCE = "info", "warning", "maintenance"
LEVELS = (INFO, WARNING, MAINTENANCE)
EVERYONE, CUSTOMERS, STAFF, PRODUCT, NODE = "everyone", "customers", "staff", "product", "node"
AUDIENCES = (EVERYONE, CUSTOMERS, STAFF, PRODUCT, NODE)


class Announcement(db.Model):
    __tablename__ = "announcements_announcement"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(160))
    body: Mapped[str] = mapped_column(Text, default="")  # Markdown, rendered sanitised
    level: Mapped[str] = mapped_column(String(16), default=INFO)
    audience: Mapped[str] = mapped_column(String(16), default=EVERYONE)
    product_ids: Mapped[list] = mapped_column(JSON, default=list)  # audience "product"
    node_ids: Mapped[list] = mapped_column(JSON, default=list)  # audience "node" (strings)
    starts_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    ends_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True, index=True)
    dismissible: Mapped[bool] = mapped_column(Boolean, default=True)
    email: Mapped[bool] = mapped_column(Boolean, default=False)
    # set once when the email went out to the audience (claimed by one runner)
    emailed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    created_by: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class AnnouncementDismissal(db.Model):
    """A user closed a dismissible banner: it stays closed for them."""

    __tablename__ = "announcements_dismissal"
    announcement_id: Mapped[int] = mapped_column(
        ForeignKey("announcements_announcement.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), primary_key=True, index=True)
    dismissed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class AnnouncementDelivery(db.Model):
    """An announcement emailed to a user: each user gets it once, however often a job runs."""

    __tablename__ = "announcements_delivery"
    announcement_id: Mapped[int] = mapped_column(
        ForeignKey("announcements_announcement.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), primary_key=True)
    sent_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
