"""Support tables, all prefixed ``support_``; the migration in ``migrations/`` creates them.

A ticket's thread is its messages in order: ``reply`` messages are seen by the customer and
staff, ``note`` messages by staff only (internal notes), ``event`` messages record what
happened (closed, reopened, assigned) and are shown to both. Attachments belong to one
message, so an attachment of an internal note is as hidden as the note.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kernel import db
from kernel import now as utcnow

OPEN, CLOSED = "open", "closed"
STATUSES = (OPEN, CLOSED)
STAFF, CUSTOMER = "staff", "customer"  # whose turn it is (ticket.waiting_on)
PRIORITIES = ("low", "normal", "high", "urgent")
REPLY, NOTE, EVENT = "reply", "note", "event"


class TicketCategory(db.Model):
    __tablename__ = "support_category"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    description: Mapped[str] = mapped_column(String(255), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)

    def __str__(self) -> str:
        return self.name


class Ticket(db.Model):
    __tablename__ = "support_ticket"
    __table_args__ = (
        Index("ix_support_ticket_queue", "status", "waiting_on", "waiting_since"),
        # a customer's tickets, paged by cursor in their order (migration support_0002)
        Index("ix_support_ticket_user_list", "user_id", "status", "last_message_at", "id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    subject: Mapped[str] = mapped_column(String(160))
    category_id: Mapped[int | None] = mapped_column(
        ForeignKey("support_category.id", ondelete="SET NULL"), nullable=True
    )
    priority: Mapped[str] = mapped_column(String(8), default="normal")
    status: Mapped[str] = mapped_column(String(8), default=OPEN)
    waiting_on: Mapped[str] = mapped_column(String(8), default=STAFF)
    # since when the customer has waited for staff (None while it is the customer's turn)
    waiting_since: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # the store's server, by id only: no foreign key, so purging the store never trips on it
    service_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    server_snapshot: Mapped[dict] = mapped_column(JSON, default=dict)
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id"), nullable=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    last_message_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_customer_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    last_staff_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    first_response_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class Message(db.Model):
    __tablename__ = "support_message"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("support_ticket.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), nullable=True)
    kind: Mapped[str] = mapped_column(String(8), default=REPLY)
    from_staff: Mapped[bool] = mapped_column(Boolean, default=False)
    body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    @property
    def internal(self) -> bool:
        return self.kind == NOTE


class Attachment(db.Model):
    __tablename__ = "support_attachment"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("support_ticket.id", ondelete="CASCADE"), index=True
    )
    message_id: Mapped[int] = mapped_column(
        ForeignKey("support_message.id", ondelete="CASCADE"), index=True
    )
    uploader_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), nullable=True)
    filename: Mapped[str] = mapped_column(String(120))  # sanitised, shown and downloaded as
    kind: Mapped[str] = mapped_column(String(16))  # the detected type: png, pdf, text, ...
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(64), unique=True)  # file name on disk
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ReadMark(db.Model):
    """When a participant last opened a ticket: what is newer is unread for them."""

    __tablename__ = "support_read"
    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("support_ticket.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), primary_key=True)
    read_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class SavedReply(db.Model):
    __tablename__ = "support_saved_reply"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    def __str__(self) -> str:
        return self.title


class Block(db.Model):
    """A customer who may not open tickets (their open tickets stay answerable)."""

    __tablename__ = "support_block"
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), primary_key=True)
    reason: Mapped[str] = mapped_column(String(255), default="")
    blocked_by: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
