"""Wallets, the append-only ledger and payments."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (JSON, BigInteger, CheckConstraint, DateTime, ForeignKey, Integer, String,
                        Text, UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column

from kernel.extensions import db
from kernel.models import utcnow


class Wallet(db.Model):
    """The cached balance of one user; always equal to the sum of their ledger entries."""

    __tablename__ = "wallet"
    __table_args__ = (CheckConstraint("balance >= 0", name="balance_not_negative"),)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)
    balance: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class LedgerEntry(db.Model):
    __tablename__ = "ledger_entry"
    __template_fields__ = ("id", "amount", "kind", "created_at")  # kernel/theme_sandbox.py
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)  # signed minor units
    kind: Mapped[str] = mapped_column(String(32))
    reference: Mapped[str] = mapped_column(String(191), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    meta: Mapped[dict] = mapped_column(JSON, default=dict)


class Payment(db.Model):
    __tablename__ = "payment"
    __table_args__ = (UniqueConstraint("provider", "external_id"),)
    __template_fields__ = ("id", "provider", "status", "currency", "amount_charged",
                           "amount_credited", "amount_refunded", "checkout_url",
                           "failure_reason", "created_at", "settled_at")
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    provider: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str | None] = mapped_column(String(191), nullable=True)
    status: Mapped[str] = mapped_column(String(24), default="open", index=True)
    currency: Mapped[str] = mapped_column(String(3))
    amount_charged: Mapped[int] = mapped_column(BigInteger)  # what the customer pays
    amount_credited: Mapped[int] = mapped_column(BigInteger)  # what the wallet receives
    amount_refunded: Mapped[int] = mapped_column(BigInteger, default=0)
    checkout_url: Mapped[str] = mapped_column(Text, default="")
    failure_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    settled_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    meta: Mapped[dict] = mapped_column(JSON, default=dict)
