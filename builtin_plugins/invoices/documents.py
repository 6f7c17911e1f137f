"""Documents as plain read-only values (for templates, hooks and other plugins), and queries.

Templates, the ``invoice_issued`` hook and ``invoices.api`` get a :class:`DocumentView`, never
the ORM row: nothing outside the issuing code can reach the session through it, and themes see
only the fields listed here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import raiseload

from kernel import User, db, format_amount, keyset_page_sorted

from . import countries
from .amounts import format_rate
from .models import CREDIT_NOTE, INVOICE, KINDS, RECEIPT, Document

TITLES = {INVOICE: "Invoice", CREDIT_NOTE: "Credit note", RECEIPT: "Prepayment receipt"}
RULE_LABELS = {
    "domestic": "domestic",
    "seller-country": "seller's country",
    "eu-destination": "EU, customer's country",
    "eu-origin": "EU, seller's country",
    "reverse-charge": "reverse charge",
    "export": "outside the EU",
    "prepayment": "prepayment",
}


@dataclass(frozen=True)
class LineView:
    position: int
    description: str
    quantity: int
    unit_amount: int
    net: int
    tax: int
    gross: int
    rate_bp: int
    rate: str  # "19 %"
    tax_rule: str
    tax_country: str
    tax_class: str


@dataclass(frozen=True)
class TaxRow:
    """One rate of the document's tax summary: the sums of its lines at that rate."""

    rate_bp: int
    rate: str
    rule: str
    net: int
    tax: int
    gross: int


@dataclass(frozen=True)
class DocumentView:
    id: int
    kind: str
    title: str
    number: str
    issued_at: datetime
    user_id: int
    currency: str
    net: int
    tax: int
    gross: int
    price_mode: str
    subject: str
    seller: dict
    buyer: dict
    buyer_country_name: str
    seller_country_name: str
    notes: tuple[str, ...]
    lines: tuple[LineView, ...]
    taxes: tuple[TaxRow, ...]
    original_number: str = ""
    original_issued_at: datetime | None = None
    meta: dict = field(default_factory=dict)

    __template_fields__ = ("money",)  # the theme sandbox: fields, and this method

    def money(self, minor: int) -> str:
        """An amount of this document formatted with its currency (templates call it)."""
        return format_amount(minor, self.currency)


def _tax_rows(lines: list[LineView]) -> tuple[TaxRow, ...]:
    groups: dict[tuple[int, str], list[LineView]] = {}
    for line in lines:
        groups.setdefault((line.rate_bp, line.tax_rule), []).append(line)
    return tuple(
        TaxRow(
            rate_bp=rate,
            rate=format_rate(rate),
            rule=RULE_LABELS.get(rule, rule),
            net=sum(x.net for x in group),
            tax=sum(x.tax for x in group),
            gross=sum(x.gross for x in group),
        )
        for (rate, rule), group in sorted(groups.items(), key=lambda kv: -kv[0][0])
    )


def view(doc: Document) -> DocumentView:
    lines = [
        LineView(
            position=x.position,
            description=x.description,
            quantity=x.quantity,
            unit_amount=x.unit_amount,
            net=x.net,
            tax=x.tax,
            gross=x.gross,
            rate_bp=x.rate_bp,
            rate=format_rate(x.rate_bp),
            tax_rule=x.tax_rule,
            tax_country=x.tax_country,
            tax_class=x.tax_class,
        )
        for x in doc.lines
    ]
    original = doc.original
    buyer, seller = dict(doc.buyer or {}), dict(doc.seller or {})
    return DocumentView(
        id=doc.id,
        kind=doc.kind,
        title=TITLES.get(doc.kind, doc.kind),
        number=doc.number,
        issued_at=doc.issued_at,
        user_id=doc.user_id,
        currency=doc.currency,
        net=doc.net,
        tax=doc.tax,
        gross=doc.gross,
        price_mode=doc.price_mode,
        subject=doc.subject,
        seller=seller,
        buyer=buyer,
        buyer_country_name=countries.country_name(buyer.get("country", "")),
        seller_country_name=countries.country_name(seller.get("country", "")),
        notes=tuple(doc.notes or ()),
        lines=tuple(lines),
        taxes=_tax_rows(lines),
        original_number=original.number if original else "",
        original_issued_at=original.issued_at if original else None,
        meta=dict(doc.meta or {}),
    )


MAX_ID = 2**31 - 1  # ids beyond an INTEGER column are not ours (and would overflow PostgreSQL)


def get(document_id: int) -> Document | None:
    if not 0 < document_id <= MAX_ID:
        return None
    return db.session.get(Document, document_id)


# Newest issued first, then newest id: the ``(issued_at, id)`` and ``(user_id, issued_at, id)``
# indexes (migration invoices_0002) serve every page of both lists.
ORDER = ((Document.issued_at, True),)


def page(query, args, default_size: int):
    """One page of ``query``'s documents, newest issued first, from the cursor in ``args``
    (``?before=`` / ``?after=`` a document id, ``?per_page=``): no OFFSET, at most two
    statements (and one for the page's lines) whatever the page size or depth. Raises
    :class:`kernel.PagingError` for a malformed cursor or page size, or a cursor naming a
    document ``query`` does not hold."""
    return keyset_page_sorted(
        db.session,
        query,
        ORDER,
        Document.id,
        args,
        default_size,
        options=(raiseload(Document.lines),),  # a list shows no lines: never one query a row
    )


def for_user(user_id: int, args=None, per_page: int = 25):
    """A customer's documents, newest first: one :func:`page` (their own rows only, so a
    cursor naming another customer's document is refused)."""
    return page(db.select(Document).where(Document.user_id == user_id), args or {}, per_page)


def filtered(*, kind: str = "", country: str = "", email: str = "", number: str = ""):
    """A query of documents narrowed by the admin's filters (unknown values are ignored)."""
    email, number = (text.replace("\x00", "") for text in (email, number))
    query = db.select(Document)
    if kind in KINDS:
        query = query.where(Document.kind == kind)
    if country and countries.is_country(country.upper()):
        query = query.where(Document.buyer_country == country.upper())
    if email.strip():
        query = query.join(User, User.id == Document.user_id).where(
            User.email == email.strip().lower()[:255]
        )
    if number.strip():
        query = query.where(Document.number == number.strip()[:64])
    return query


def by_source(source: str) -> Document | None:
    return db.session.scalar(db.select(Document).where(Document.source == source))


def latest_for(subject: str, kind: str) -> Document | None:
    return db.session.scalar(
        db.select(Document)
        .where(Document.subject == subject, Document.kind == kind)
        .order_by(Document.id.desc())
        .limit(1)
    )
