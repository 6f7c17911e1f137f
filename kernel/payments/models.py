"""Wallets, the append-only ledger, debts, payments and the provider events that move them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from kernel import clock
from kernel.extensions import db


class Wallet(db.Model):
    """The cached balance of one user; always equal to the sum of their ledger entries."""

    __tablename__ = "wallet"
    __table_args__ = (CheckConstraint("balance >= 0", name="balance_not_negative"),)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), primary_key=True
    )
    balance: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=clock.now, onupdate=clock.now)


class LedgerEntry(db.Model):
    __tablename__ = "ledger_entry"
    __table_args__ = (Index("ix_ledger_entry_user_id_id", "user_id", "id"),)  # keyset pages
    __template_fields__ = ("id", "amount", "kind", "created_at")  # kernel/theme_sandbox.py
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)  # signed minor units
    kind: Mapped[str] = mapped_column(String(32))
    reference: Mapped[str] = mapped_column(String(191), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=clock.now, index=True)
    meta: Mapped[dict] = mapped_column(JSON, default=dict)


class Payment(db.Model):
    __tablename__ = "payment"
    __table_args__ = (
        UniqueConstraint("provider", "external_id"),
        Index("ix_payment_status_id", "status", "id"),  # keyset pages (migration k0015)
        Index("ix_payment_provider_id", "provider", "id"),
    )
    __template_fields__ = (
        "id",
        "provider",
        "status",
        "currency",
        "amount_charged",
        "amount_credited",
        "amount_refunded",
        "checkout_url",
        "failure_reason",
        "created_at",
        "settled_at",
    )
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
    created_at: Mapped[datetime] = mapped_column(DateTime, default=clock.now, index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=clock.now, onupdate=clock.now)
    settled_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    meta: Mapped[dict] = mapped_column(JSON, default=dict)


class Debt(db.Model):
    """Money a customer owes that their wallet could not cover: a receivable kept beside the
    wallet (which never goes below zero), e.g. a chargeback or a refund larger than the balance.

    ``amount`` is what was owed; ``outstanding`` what is still owed. The difference was paid
    by later credits (ledger entries ``debt:<id>:<entry>``, kind ``debt_payment``) or
    ``forgiven`` (written off by staff, or given back because the provider reinstated the money):
    amount == outstanding + forgiven + paid, always.
    """

    __tablename__ = "wallet_debt"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(
            "outstanding >= 0 AND forgiven >= 0 AND outstanding + forgiven <= amount",
            name="outstanding_in_range",
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    outstanding: Mapped[int] = mapped_column(BigInteger)
    forgiven: Mapped[int] = mapped_column(BigInteger, default=0)
    kind: Mapped[str] = mapped_column(String(32))  # the take-back's ledger kind: chargeback, refund
    reference: Mapped[str] = mapped_column(String(191), unique=True)  # that of the take-back
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payment.id"), nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=clock.now)
    settled_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    meta: Mapped[dict] = mapped_column(JSON, default=dict)


class ProviderEvent(db.Model):
    """One webhook delivery, recorded before any work is done so the answer is immediate.

    A job (``kernel.payments.inbox.process``) turns it into settlement; the convergence task
    picks up rows whose job was lost or failed. ``dedupe_key`` is the provider's event id
    (plus a digest of the body and signature when the receipt is not verified yet, so a forged
    delivery cannot shadow the genuine one).
    """

    __tablename__ = "payment_event"
    __table_args__ = (UniqueConstraint("provider", "dedupe_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider: Mapped[str] = mapped_column(String(64))
    dedupe_key: Mapped[str] = mapped_column(String(191))
    event_id: Mapped[str] = mapped_column(String(191), default="")
    event_type: Mapped[str] = mapped_column(String(128), default="")
    verified: Mapped[bool] = mapped_column(Boolean, default=True)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    headers: Mapped[dict] = mapped_column(JSON, default=dict)
    # received -> processing -> done | rejected (not authentic / not understood) | failed (retried)
    status: Mapped[str] = mapped_column(String(16), default="received", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    applied: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime] = mapped_column(DateTime, default=clock.now, index=True)
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    processed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
