"""Sending documents: the PDF, emailed with a receipt of the payment, once.

A job (rq with Redis, inline without) renders the stored PDF and emails it through the
theme's ``email/invoices/document.txt``. The ``invoices_delivery`` row records the outcome; the
retry task sends again what failed (at most :data:`MAX_ATTEMPTS` times) and what never got a
row (the process died between issuing and sending).
"""

from __future__ import annotations

from datetime import timedelta

from kernel import User, db, format_amount, job, now, send_email

from . import config, documents, pdf
from .models import Delivery, Document

MAX_ATTEMPTS = 5
RECENT = timedelta(days=7)  # older documents are not sent by the retry task any more
GRACE = timedelta(minutes=10)
SENT, FAILED, SKIPPED = "sent", "failed", "skipped"


def _record(document_id: int, status: str, error: str = "") -> None:
    row = db.session.get(Delivery, document_id) or Delivery(document_id=document_id, attempts=0)
    row.status, row.error, row.attempts = status, error[:2000], (row.attempts or 0) + 1
    row.updated_at = now()
    db.session.add(row)
    db.session.commit()


@job(queue="mail", retries=3, backoff=(60, 300, 1800))
def deliver(document_id: int) -> str:
    """Job: store the PDF and email it to the customer (unless emailing is off: then the PDF
    waits for its first download)."""
    document = db.session.get(Document, document_id)
    if document is None:
        return "missing"
    done = db.session.get(Delivery, document_id)
    if done is not None and done.status in (SENT, SKIPPED):
        return done.status
    setup = config.load()
    user = db.session.get(User, document.user_id)
    if not setup.email_documents or user is None:
        _record(document_id, SKIPPED)  # the PDF is rendered at its first download
        return SKIPPED
    data = pdf.stored(document)
    view = documents.view(document)
    subject = f"{view.title} {view.number}"
    entry = send_email(
        user.email,
        subject,
        "invoices/document",
        doc=view,
        user_name=user.name,
        total=format_amount(view.gross, view.currency),
        attachments=[(pdf.filename(document), "application/pdf", data)],
    )
    status = FAILED if entry.status == "failed" else SENT
    _record(document_id, status, entry.error or "")
    return status


def undelivered(limit: int) -> list[int]:
    """Recent documents never delivered, or whose email failed and may be tried again, left
    alone for :data:`GRACE` first (their own delivery job may still be on its way)."""
    current = now()
    rows = db.session.execute(
        db.select(Document.id)
        .outerjoin(Delivery, Delivery.document_id == Document.id)
        .where(
            Document.issued_at >= current - RECENT,
            (Delivery.document_id.is_(None) & (Document.issued_at <= current - GRACE))
            | (
                (Delivery.status == FAILED)
                & (Delivery.attempts < MAX_ATTEMPTS)
                & (Delivery.updated_at <= current - GRACE)
            ),
        )
        .order_by(Document.id)
        .limit(limit)
    ).all()
    return [row[0] for row in rows]
