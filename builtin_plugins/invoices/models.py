"""Invoices tables, all prefixed ``invoices_``.

Issued documents, their lines and their PDFs are **immutable**: an ORM guard below refuses
any update or delete, and the migration adds database triggers that refuse them too, so not
even a stray SQL statement or the admin's database console changes an issued invoice. A
correction is a credit note. Everything that does change after issuance (the email delivery)
lives in its own table.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kernel import db
from kernel import now as utcnow

INVOICE, CREDIT_NOTE, RECEIPT = "invoice", "credit_note", "receipt"
KINDS = (INVOICE, CREDIT_NOTE, RECEIPT)


class ImmutableDocument(RuntimeError):
    """Something tried to change or delete an issued document: a programming error."""


class BillingProfile(db.Model):
    """Who the customer is for their invoices; copied into each document when it is issued."""

    __tablename__ = "invoices_profile"
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), primary_key=True
    )
    legal_name: Mapped[str] = mapped_column(String(200))
    company: Mapped[str] = mapped_column(String(200), default="")
    address: Mapped[str] = mapped_column(String(500))
    postcode: Mapped[str] = mapped_column(String(20), default="")
    city: Mapped[str] = mapped_column(String(100))
    region: Mapped[str] = mapped_column(String(100), default="")
    country: Mapped[str] = mapped_column(String(2))
    vat_id: Mapped[str] = mapped_column(String(24), default="")  # compact, with its prefix
    # "" (none) | valid | unverified (the online check could not answer); invalid ids are refused
    vat_status: Mapped[str] = mapped_column(String(16), default="")
    vat_checked_by: Mapped[str] = mapped_column(String(32), default="")  # offline | a provider
    vat_checked_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class TaxRate(db.Model):
    """A rate in basis points (1900 = 19.00 %) for a country and a product tax class."""

    __tablename__ = "invoices_tax_rate"
    __table_args__ = (UniqueConstraint("country", "tax_class"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    country: Mapped[str] = mapped_column(String(2))
    tax_class: Mapped[str] = mapped_column(String(32), default="standard")
    rate_bp: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(60), default="")


class ProductTaxClass(db.Model):
    """A store product's tax class (products without a row are ``standard``)."""

    __tablename__ = "invoices_product_class"
    product_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tax_class: Mapped[str] = mapped_column(String(32))


class Counter(db.Model):
    """The last number given in one series (``INV-2026-#``); moved in the issuing transaction."""

    __tablename__ = "invoices_counter"
    series: Mapped[str] = mapped_column(String(64), primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class Document(db.Model):
    """An issued invoice, credit note or prepayment receipt. Amounts are signed minor units:
    a credit note's are negative, so the sum over a period is what was really invoiced."""

    __tablename__ = "invoices_document"
    __table_args__ = (
        UniqueConstraint("series", "sequence"),
        # keyset pages, newest issued first (migration invoices_0002): the admin list, and
        # a customer's own
        Index("ix_invoices_document_issued_id", "issued_at", "id"),
        Index("ix_invoices_document_user_issued_id", "user_id", "issued_at", "id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    series: Mapped[str] = mapped_column(String(64))
    sequence: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    issued_at: Mapped[datetime] = mapped_column(DateTime)
    currency: Mapped[str] = mapped_column(String(3))
    net: Mapped[int] = mapped_column(BigInteger)
    tax: Mapped[int] = mapped_column(BigInteger)
    gross: Mapped[int] = mapped_column(BigInteger)
    price_mode: Mapped[str] = mapped_column(String(8))  # gross | net: how the lines were priced
    source: Mapped[str] = mapped_column(String(191), unique=True)  # what it was issued for, once
    subject: Mapped[str] = mapped_column(String(64), index=True)  # payment:12 | service:5
    original_id: Mapped[int | None] = mapped_column(
        ForeignKey("invoices_document.id"), nullable=True, index=True
    )
    buyer_country: Mapped[str] = mapped_column(String(2), index=True)  # "" when unknown
    seller: Mapped[dict] = mapped_column(JSON)
    buyer: Mapped[dict] = mapped_column(JSON)
    notes: Mapped[list] = mapped_column(JSON)
    meta: Mapped[dict] = mapped_column(JSON)
    lines: Mapped[list[Line]] = relationship(order_by="Line.position", lazy="selectin")
    original: Mapped[Document | None] = relationship(remote_side="Document.id")


class Line(db.Model):
    """One line with the rate and the rule that chose it, rounded on its own (docs/invoices.md)."""

    __tablename__ = "invoices_line"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("invoices_document.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(String(300))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_amount: Mapped[int] = mapped_column(BigInteger)  # per unit, as priced (net or gross)
    net: Mapped[int] = mapped_column(BigInteger)
    tax: Mapped[int] = mapped_column(BigInteger)
    gross: Mapped[int] = mapped_column(BigInteger)
    rate_bp: Mapped[int] = mapped_column(Integer)
    tax_rule: Mapped[str] = mapped_column(String(64))
    tax_country: Mapped[str] = mapped_column(String(2))
    tax_class: Mapped[str] = mapped_column(String(32))


class Pdf(db.Model):
    """The rendered PDF, stored once: what was sent is what is downloaded, years later."""

    __tablename__ = "invoices_pdf"
    document_id: Mapped[int] = mapped_column(ForeignKey("invoices_document.id"), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Delivery(db.Model):
    """Whether a document was emailed (the only thing about a document that changes)."""

    __tablename__ = "invoices_delivery"
    document_id: Mapped[int] = mapped_column(ForeignKey("invoices_document.id"), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))  # sent | failed | skipped
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class Pending(db.Model):
    """An event that must become a document: written before issuing, deleted in the issuing
    transaction, retried by the cron task while issuing fails (a missing tax rate, say)."""

    __tablename__ = "invoices_pending"
    source: Mapped[str] = mapped_column(String(191), primary_key=True)
    event: Mapped[str] = mapped_column(String(16))  # topup | refund | service
    payload: Mapped[dict] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)


def _refuse(mapper, connection, target) -> None:
    raise ImmutableDocument(
        f"{type(target).__name__} rows are immutable once issued; "
        "issue a credit note to correct an invoice"
    )


for _model in (Document, Line, Pdf):
    event.listen(_model, "before_update", _refuse)
    event.listen(_model, "before_delete", _refuse)
