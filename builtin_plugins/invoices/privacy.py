"""The invoices plugin's answers to the kernel's privacy hooks (docs/invoices.md, docs/privacy.md).

**Export** (``personal_data``): the billing profile, and every document issued to the
customer (number, kind, date, amounts, currency, the credited invoice, the buyer details it
was issued with, its lines). Other customers' documents are never read.

**Erasure** (``erase_personal_data``, run after every other plugin: a server deleted by the
store's eraser may give money back, and its credit note must be issued first):

- Events waiting to be issued to the customer are **issued now**, while their billing profile
  still exists: money moved, so the law wants its document, and a document issued after the
  erasure would name nobody. One that still cannot be issued (a tax rate missing, the seller
  incomplete) raises, and the kernel tries the erasure again later: the reason is on the
  Invoicing page and in the erasure's error.
- The **billing profile** is deleted.
- Issued invoices, credit notes and receipts, their lines and PDFs are **kept unchanged**:
  they are accounting records the seller must store for years (the EU VAT Directive,
  Articles 244 to 247, lets each member state set the period, commonly six to ten years;
  GDPR Article 17(3)(b) exempts data kept to meet such a legal obligation), and they are
  immutable (database triggers refuse any change). They keep the buyer's name, postal
  address and email address as they were issued.
- Their deliveries are closed: one not sent yet is never sent to the erased account, and
  the text of a failed delivery's error (which may quote an address) is cleared.
"""

from __future__ import annotations

from kernel import db
from kernel import now as utcnow

from . import documents, pending, profiles
from .delivery import SENT, SKIPPED
from .models import BillingProfile, Delivery, Document, Pending

PROFILE_FIELDS = (*profiles.FIELDS, "vat_status", "vat_checked_by", "vat_checked_at", "updated_at")


class DocumentsWaiting(RuntimeError):
    """Documents of the account cannot be issued yet, so the erasure must wait for them."""


def _documents(user_id: int) -> list[Document]:
    return list(
        db.session.scalars(
            db.select(Document)
            .where(Document.user_id == user_id)
            .order_by(Document.issued_at, Document.id)
        )
    )


def export(user) -> dict:
    profile = profiles.get(user.id)
    rows = []
    for doc in _documents(user.id):
        view = documents.view(doc)
        rows.append(
            {
                "number": view.number,
                "kind": view.kind,
                "title": view.title,
                "issued_at": view.issued_at,
                "currency": view.currency,
                "net": view.net,
                "tax": view.tax,
                "total": view.gross,
                "credits": view.original_number or None,
                "billed_to": view.buyer,
                "lines": [
                    {
                        "description": x.description,
                        "quantity": x.quantity,
                        "unit_amount": x.unit_amount,
                        "net": x.net,
                        "tax": x.tax,
                        "total": x.gross,
                        "tax_rate": x.rate,
                    }
                    for x in view.lines
                ],
            }
        )
    return {
        "billing_profile": (
            {f: getattr(profile, f) for f in PROFILE_FIELDS} if profile is not None else None
        ),
        "documents": rows,
    }


def issue_waiting(user_id: int) -> None:
    """Issue every event waiting for this customer, or raise :class:`DocumentsWaiting`."""
    sources = pending.of_user(user_id)
    for source in sources:
        pending.process(source)
    left = [db.session.get(Pending, source) for source in sources]
    left = [row for row in left if row is not None]
    if left:
        reasons = "; ".join(f"{row.source}: {row.last_error or 'not issued'}" for row in left[:5])
        raise DocumentsWaiting(
            f"{len(left)} document(s) of the account must be issued before "
            f"its billing details are erased ({reasons})"
        )


def erase(user) -> None:
    issue_waiting(user.id)
    db.session.execute(db.delete(BillingProfile).where(BillingProfile.user_id == user.id))
    ids = [doc.id for doc in _documents(user.id)]
    done = (
        {
            row.document_id: row
            for row in db.session.scalars(db.select(Delivery).where(Delivery.document_id.in_(ids)))
        }
        if ids
        else {}
    )
    for document_id in ids:
        row = done.get(document_id) or Delivery(document_id=document_id, attempts=0)
        if row.status != SENT:
            row.status = SKIPPED  # never mailed to the erased account
        row.error, row.updated_at = "", utcnow()
        db.session.add(row)
    db.session.commit()
