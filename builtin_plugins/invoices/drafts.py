"""What each event is invoiced as: drafts of documents, before taxes and numbers.

- a settled top-up: an **invoice** for the money received (``invoice_on = topup``), or a
  **prepayment receipt** without tax (``invoice_on = purchase``: VAT is due when the wallet
  money is spent, so the purchases are invoiced instead);
- a wallet debit for a server (store's ``server_billed``, ``invoice_on = purchase``): an
  **invoice** for the purchase, renewal or plan change; money given back for a server: a
  **credit note** on the server's latest invoice;
- a refund or chargeback of a top-up (kernel's ``payment_refunded``): a **credit note** on the
  top-up's invoice or receipt.

A draft of an invoice asks the ``invoice_lines`` hook for extra lines (a setup fee a plugin
collected, say). Nothing here writes to the database.
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass, field

from flask import current_app

from kernel import LedgerEntry, Payment, User, collect, db

from . import documents, profiles, taxes
from .amounts import GROSS, NET, split
from .config import Setup
from .models import CREDIT_NOTE, INVOICE, RECEIPT
from .profiles import Buyer
from .taxes import Decision

META_KEY = "invoices"  # the payment meta our topup_adjustment writes (net prices)
MAX_LINE_AMOUNT = 10**12
KIND_LABELS = {
    "purchase": "purchase",
    "renewal": "renewal",
    "upgrade": "plan change",
    "refund": "refund of a failed setup",
    "reversal": "plan change reversed",
    "downgrade": "plan change credit",
}


@dataclass
class LineDraft:
    description: str
    unit_amount: int
    quantity: int = 1
    tax_class: str = taxes.STANDARD
    decision: Decision | None = None  # fixed in advance (net top-ups, receipts)


@dataclass
class Draft:
    kind: str
    user_id: int
    currency: str
    source: str
    subject: str
    price_mode: str
    buyer: Buyer
    lines: list[LineDraft] = field(default_factory=list)
    meta: dict = field(default_factory=dict)
    original_id: int | None = None
    credit: int = 0  # credit notes: the (positive) amount to credit


def _user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise LookupError(f"user {user_id} no longer exists")
    return user


def topup(setup: Setup, payment: Payment) -> Draft:
    """The document for a settled top-up (see the module)."""
    user = _user(payment.user_id)
    buyer = profiles.buyer_of(user)
    label = f"payment #{payment.id}, {payment.provider}"
    common = dict(
        user_id=user.id,
        currency=payment.currency,
        source=f"payment:{payment.id}",
        subject=f"payment:{payment.id}",
        buyer=buyer,
        meta={"payment": payment.id, "provider": payment.provider, "paid": payment.amount_charged},
    )
    if setup.invoice_on == "purchase":
        note = "Prepayment credited to the wallet: VAT is invoiced with each purchase paid from it."
        return Draft(
            kind=RECEIPT,
            price_mode=GROSS,
            **common,
            lines=[
                LineDraft(
                    f"Prepayment to your wallet ({label})",
                    payment.amount_charged,
                    decision=Decision(0, "prepayment", "", note),
                )
            ],
        )
    fixed = _net_terms(payment)
    if fixed is not None:
        net, decision = fixed
        lines = [
            LineDraft(
                f"Wallet top-up ({label})", net, tax_class=setup.topup_tax_class, decision=decision
            )
        ]
        draft = Draft(kind=INVOICE, price_mode=NET, **common, lines=lines)
    else:
        lines = [
            LineDraft(
                f"Wallet top-up ({label})", payment.amount_charged, tax_class=setup.topup_tax_class
            )
        ]
        draft = Draft(kind=INVOICE, price_mode=GROSS, **common, lines=lines)
    draft.lines += extra_lines(draft)
    return draft


def _net_terms(payment: Payment) -> tuple[int, Decision] | None:
    """The net amount and tax fixed at checkout (net prices), when they add up to the charge."""
    terms = (payment.meta or {}).get(META_KEY)
    if not isinstance(terms, dict):
        return None
    try:
        net, rate = int(terms["net"]), int(terms["rate_bp"])
        decision = Decision(
            rate, str(terms["rule"]), str(terms.get("country", "")), str(terms.get("note", ""))
        )
    except (KeyError, TypeError, ValueError):
        return None
    if split(net, rate, NET).gross != payment.amount_charged:
        return None  # another adjustment changed the charge: invoice what was received
    return net, decision


def service(setup: Setup, service_row, entry: LedgerEntry) -> Draft | None:
    """The document for a wallet movement of a server, or None when purchases are not invoiced."""
    if setup.invoice_on != "purchase":
        return None
    user = _user(service_row.user_id)
    subject = f"service:{service_row.id}"
    product = getattr(service_row, "product", None)
    what = f"{product.name if product else 'Server'} · {service_row.name}"
    label = KIND_LABELS.get(entry.kind, entry.kind)
    common = dict(
        user_id=user.id,
        currency=_currency(),
        source=f"ledger:{entry.id}",
        subject=subject,
        buyer=profiles.buyer_of(user),
        price_mode=GROSS,
        meta={
            "service": service_row.id,
            "ledger_entry": entry.id,
            "movement": entry.kind,
            "provider": "wallet",
            "paid": -entry.amount,
        },
    )
    if entry.amount < 0:
        tax_class = taxes.product_class(getattr(service_row, "product_id", None))
        draft = Draft(
            kind=INVOICE,
            **common,
            lines=[
                LineDraft(
                    f"{what}: {label} (server #{service_row.id})",
                    -entry.amount,
                    tax_class=tax_class,
                )
            ],
        )
        draft.lines += extra_lines(draft)
        return draft
    original = documents.latest_for(subject, INVOICE)
    if original is None:
        current_app.logger.warning(
            "invoices: %s credited %s for server %s, which has no invoice to credit",
            user.email,
            entry.amount,
            service_row.id,
        )
        return None
    return Draft(kind=CREDIT_NOTE, **common, original_id=original.id, credit=entry.amount)


def refund(setup: Setup, payment: Payment, amount: int, refund_id: str, kind: str) -> Draft | None:
    """The credit note for a refund or chargeback of a top-up (None: it was never invoiced)."""
    original = documents.by_source(f"payment:{payment.id}")
    if original is None:
        current_app.logger.warning(
            "invoices: payment %s was refunded but has no document", payment.id
        )
        return None
    user = _user(payment.user_id)
    return Draft(
        kind=CREDIT_NOTE,
        user_id=user.id,
        currency=payment.currency,
        source=refund_source(payment.id, refund_id),
        subject=f"payment:{payment.id}",
        price_mode=GROSS,
        buyer=profiles.buyer_of(user),
        meta={"payment": payment.id, "refund": refund_id[:120], "reason": kind},
        original_id=original.id,
        credit=amount,
    )


def refund_source(payment_id: int, refund_id: str) -> str:
    """A unique, bounded source key for a refund (provider ids can be long)."""
    if len(refund_id) > 120:
        refund_id = hashlib.sha256(refund_id.encode()).hexdigest()
    return f"refund:{payment_id}:{refund_id}"


def _currency() -> str:
    from kernel import site_setting

    return site_setting("currency")


def extra_lines(draft: Draft) -> list[LineDraft]:
    """Lines other plugins add through ``invoice_lines``; malformed ones are dropped (logged)."""
    base = [
        {
            "description": x.description,
            "amount": x.unit_amount,
            "quantity": x.quantity,
            "tax_class": x.tax_class,
        }
        for x in draft.lines
    ]
    found = []
    for item in collect(
        "invoice_lines",
        item_type=dict,
        kind=draft.kind,
        subject=draft.subject,
        buyer=draft.buyer.as_dict(),
        lines=base,
    ):
        try:
            found.append(_line_from(item))
        except (TypeError, ValueError) as exc:
            current_app.logger.warning("invoices: a line from invoice_lines was dropped: %s", exc)
    return found


def _line_from(item: dict) -> LineDraft:
    description = unicodedata.normalize("NFC", str(item.get("description", ""))).strip()
    if not 0 < len(description) <= 300 or any(unicodedata.category(c) == "Cc" for c in description):
        raise ValueError(
            f"description {description[:40]!r} is empty, too long or has control characters"
        )
    amount, quantity = item.get("amount"), item.get("quantity", 1)
    for name, value, high in (("amount", amount, MAX_LINE_AMOUNT), ("quantity", quantity, 10_000)):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= high:
            raise ValueError(f"{name} {value!r:.30} is not a whole number between 1 and {high}")
    tax_class = taxes.check_class(str(item.get("tax_class") or taxes.STANDARD))
    return LineDraft(description, amount, quantity, tax_class)
