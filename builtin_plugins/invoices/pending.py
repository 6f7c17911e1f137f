"""Events waiting to become documents: the plugin's desired state, and the retry of it.

An event (a settled top-up, a refund, a wallet movement of a server) is first written down
(``invoices_pending``, committed), then issued; the issuing transaction deletes the row. When
issuing fails (the seller is incomplete, a tax rate is missing, the database hiccups) the row
stays with the reason and the ``invoices.retry`` cron task tries again every few minutes, so
no payment is left without its document once the admin has fixed the cause; the health check
and the admin's Invoicing page show what waits and why.

A failure here is not the plugin's failure: it is recorded, not raised, so a missing tax rate
never counts against the plugin's health (which could fault it and stop invoicing entirely).
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from builtin_plugins.store.api import Service
from kernel import LedgerEntry, Payment, db, enqueue, now

from . import config, drafts, issuing
from .delivery import deliver, undelivered
from .models import Document, Pending

TOPUP, REFUND, SERVICE = "topup", "refund", "service"
RETRY_BATCH = 100
STALE_AFTER = timedelta(hours=1)


def submit(source: str, event: str, payload: dict) -> Document | None:
    """Write the event down, then try to issue its document now."""
    if db.session.get(Pending, source) is None:
        try:
            with db.session.begin_nested():
                db.session.add(
                    Pending(
                        source=source,
                        event=event,
                        payload=payload,
                        attempts=0,
                        last_error="",
                        created_at=now(),
                    )
                )
        except IntegrityError:
            pass  # the same event is being recorded concurrently
    db.session.commit()
    return process(source)


def _draft(setup: config.Setup, row: Pending) -> drafts.Draft | None:
    data = row.payload or {}
    if row.event == TOPUP:
        payment = db.session.get(Payment, int(data["payment_id"]))
        return drafts.topup(setup, payment) if payment is not None else None
    if row.event == REFUND:
        payment = db.session.get(Payment, int(data["payment_id"]))
        if payment is None:
            return None
        return drafts.refund(
            setup,
            payment,
            int(data["amount"]),
            str(data["refund_id"]),
            str(data.get("kind", "refund")),
        )
    if row.event == SERVICE:
        service = db.session.get(Service, int(data["service_id"]))
        entry = db.session.get(LedgerEntry, int(data["entry_id"]))
        if service is None or entry is None:
            return None
        return drafts.service(setup, service, entry)
    raise ValueError(f"unknown event {row.event!r}")


def process(source: str) -> Document | None:
    """Issue the document of one pending event; on failure keep the event with the reason."""
    row = db.session.get(Pending, source)
    if row is None:
        return None
    setup = config.load()
    try:
        problems = config.problems(setup)
        if problems:
            raise issuing.IssueError("; ".join(problems))
        draft = _draft(setup, row)
        if draft is None:
            db.session.delete(row)
            db.session.commit()
            return None
        document = issuing.issue(setup, draft, pending_source=source)
    except Exception as exc:  # noqa: BLE001 - kept for the retry, shown on the admin's page
        db.session.rollback()
        _failed(source, exc)
        return None
    if document is not None:
        deliver_later(document.id)
    return document


def _failed(source: str, exc: Exception) -> None:
    reason = (
        f"{type(exc).__name__}: {exc}"[:2000]
        if not isinstance(exc, (issuing.IssueError, ValueError))
        else str(exc)[:2000]
    )
    current_app.logger.warning("invoices: %s is not issued yet: %s", source, reason)
    try:
        row = db.session.get(Pending, source)
        if row is not None:
            row.attempts, row.last_error = row.attempts + 1, reason
            db.session.commit()
    except SQLAlchemyError:
        db.session.rollback()


def deliver_later(document_id: int) -> None:
    """Render the PDF and email it (a job with Redis; at once without)."""
    try:
        enqueue(deliver, document_id)
    except Exception as exc:  # noqa: BLE001 - the retry task renders and sends what is left
        db.session.rollback()
        current_app.logger.warning(
            "invoices: delivering document %s failed: %s: %s", document_id, type(exc).__name__, exc
        )


def retry(limit: int = RETRY_BATCH) -> dict[str, int]:
    """Cron: issue what waits (oldest first), then deliver documents not yet delivered."""
    sources = db.session.scalars(
        db.select(Pending.source).order_by(Pending.created_at).limit(limit)
    ).all()
    issued = sum(1 for source in sources if process(source) is not None)
    delivered = 0
    for document_id in undelivered(limit):
        deliver_later(document_id)
        delivered += 1
    return {"waiting": len(sources), "issued": issued, "delivered": delivered}


def waiting(limit: int = 50) -> list[Pending]:
    return list(db.session.scalars(db.select(Pending).order_by(Pending.created_at).limit(limit)))


def _owner(row: Pending) -> int | None:
    """The customer an event's document would be issued to (None: nobody's any more)."""
    data = row.payload or {}
    try:
        if row.event in (TOPUP, REFUND):
            payment = db.session.get(Payment, int(data["payment_id"]))
            return payment.user_id if payment is not None else None
        if row.event == SERVICE:
            entry = db.session.get(LedgerEntry, int(data["entry_id"]))
            return entry.user_id if entry is not None else None
    except (KeyError, TypeError, ValueError):
        return None
    return None


def of_user(user_id: int) -> list[str]:
    """The sources of the events waiting to be issued to ``user_id``, oldest first."""
    rows = db.session.scalars(db.select(Pending).order_by(Pending.created_at))
    return [row.source for row in rows if _owner(row) == user_id]


def stale() -> list[Pending]:
    """Events waiting for longer than an hour: the health check reports them."""
    return list(
        db.session.scalars(
            db.select(Pending)
            .where(Pending.created_at <= now() - STALE_AFTER)
            .order_by(Pending.created_at)
            .limit(5)
        )
    )
