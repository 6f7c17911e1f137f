"""Provider webhooks: answered in milliseconds, applied by a job, exactly once.

The web request only does what needs no network: the provider's ``accept_webhook``
checks what it can (Stripe: the signature), the delivery is recorded as a
:class:`~kernel.payments.models.ProviderEvent` (one row per provider event id), and a job
is queued after the commit. The job (:func:`process`) claims the row, lets the provider
verify the rest and ask its API (PayPal verifies signatures through its own API), and
applies the normalised events through the exactly-once settlement code. A lost enqueue,
a dead worker or a provider that cannot be reached leaves the row ``received``,
``processing`` or ``failed``; the convergence task (:mod:`kernel.payments.converge`) queues
it again, with backoff, up to :data:`MAX_ATTEMPTS`.

Providers without ``accept_webhook`` are handled in the request as before
(:func:`apply_now`).
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, or_, update
from sqlalchemy.exc import IntegrityError

from kernel import clock, jobs
from kernel.extensions import db
from kernel.payments import settlement, takebacks
from kernel.payments.models import ProviderEvent
from kernel.payments.providers import (
    EXPIRED,
    FAILED,
    PAID,
    REFUNDED,
    REINSTATED,
    REVERSED,
    ProviderError,
    QueuedWebhooks,
    SessionStatus,
    WebhookError,
    WebhookEvent,
    WebhookReceipt,
)

MAX_BODY = 256 * 1024  # bytes; providers' events are a few kilobytes
MAX_ATTEMPTS = 8
BACKOFF = (60, 300, 900, 3600, 3 * 3600, 6 * 3600)  # seconds before try 2, 3, ...
# Unverified deliveries waiting for a job (PayPal's, before PayPal confirms them): past this,
# new ones are answered 503 so a flood of forgeries cannot grow the table without bound.
MAX_UNVERIFIED_PENDING = 5000
RECEIVED, PROCESSING, DONE, REJECTED, RETRY = "received", "processing", "done", "rejected", "failed"
PENDING = (RECEIVED, RETRY)


class InboxFull(Exception):
    """Too many unverified deliveries wait already; the provider should deliver again later."""


def receive(provider_id: str, body: bytes, headers: dict[str, str]) -> dict:
    """Handle one webhook delivery; returns the JSON answer.

    Raises :class:`WebhookError` (a 400: not authentic, not an event) or :class:`InboxFull`.
    """
    provider = settlement.checkout_provider(provider_id)
    if len(body) > MAX_BODY:
        raise WebhookError(f"the webhook body is larger than {MAX_BODY // 1024} KiB")
    if not isinstance(provider, QueuedWebhooks):
        return {"applied": apply_now(provider_id, provider, body, headers)}
    receipt = provider.accept_webhook(body=body, headers=headers)
    if receipt is None:
        return {"applied": 0}
    event, fresh = record(provider_id, body, receipt)
    if event.status not in PENDING:  # processed, being processed or proved forged already
        return {"received": receipt.event_id, "duplicate": True, "status": event.status}
    outcome = jobs.enqueue(process, event.id)
    answer = {"received": receipt.event_id}
    if not fresh:
        answer["duplicate"] = True
    if isinstance(outcome, dict):  # inline jobs: done already
        answer["applied"] = outcome.get("applied", 0)
    return answer


def dedupe_key(receipt: WebhookReceipt, body: bytes) -> str:
    """The provider's event id; for an unverified receipt also a digest of the body and the
    signature headers, so a forged delivery naming a real event id cannot shadow the genuine
    one (exact replays of a genuine delivery still collapse into one row)."""
    if receipt.verified:
        return receipt.event_id[:191]
    digest = hashlib.sha256(body)
    for name in sorted(receipt.headers):
        digest.update(f"\n{name.lower()}:{receipt.headers[name]}".encode())
    return f"{receipt.event_id[:120]}#{digest.hexdigest()[:64]}"


def record(provider_id: str, body: bytes, receipt: WebhookReceipt) -> tuple[ProviderEvent, bool]:
    """The recorded event for this delivery, and whether this call recorded it."""
    key = dedupe_key(receipt, body)
    found = _find(provider_id, key)
    if found is not None:
        return found, False
    if not receipt.verified and _unverified_pending() >= MAX_UNVERIFIED_PENDING:
        raise InboxFull("too many webhook deliveries are waiting to be verified")
    row = ProviderEvent(
        provider=provider_id,
        dedupe_key=key,
        event_id=receipt.event_id[:191],
        event_type=receipt.event_type[:128],
        verified=receipt.verified,
        body=body,
        headers=dict(receipt.headers),
        status=RECEIVED,
        attempts=0,
        applied=0,
        error="",
        received_at=clock.now(),
    )
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:  # the same event, delivered twice at the same moment
        db.session.rollback()
        return _find(provider_id, key), False
    db.session.commit()
    return row, True


def _find(provider_id: str, key: str) -> ProviderEvent | None:
    return db.session.scalar(
        db.select(ProviderEvent).where(
            ProviderEvent.provider == provider_id, ProviderEvent.dedupe_key == key
        )
    )


def _unverified_pending() -> int:
    return (
        db.session.scalar(
            db.select(func.count(ProviderEvent.id)).where(
                ProviderEvent.verified.is_(False), ProviderEvent.status.in_(PENDING)
            )
        )
        or 0
    )


@jobs.job(queue="default")
def process(event_id: int) -> dict:
    """Job: apply one recorded delivery. Safe to run twice: the claim lets one run work, and
    every application is exactly-once. Never raises for the provider's trouble (the row says
    it and the convergence task tries again)."""
    now = clock.now()
    claimed = db.session.execute(
        update(ProviderEvent)
        .where(ProviderEvent.id == event_id, ProviderEvent.status.in_(PENDING))
        .values(status=PROCESSING, claimed_at=now, attempts=ProviderEvent.attempts + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    if claimed != 1:
        return {"applied": 0, "skipped": True}
    event = db.session.get(ProviderEvent, event_id)
    db.session.refresh(event)
    provider_id, body, headers = event.provider, event.body, dict(event.headers)
    receipt = WebhookReceipt(event.event_id, event.event_type, event.verified, headers)
    db.session.commit()  # never hold a database transaction (SQLite: the write lock) over HTTP
    try:
        provider = settlement.checkout_provider(provider_id)
        normalised = provider.webhook_events(body=body, headers=headers, receipt=receipt)
        applied = apply(provider_id, normalised, source="webhook")
    except WebhookError as exc:
        return _finish(event_id, REJECTED, error=str(exc))
    except (ProviderError, settlement.PaymentError) as exc:
        return _finish(event_id, RETRY, error=str(exc), retry=True)
    except Exception as exc:  # noqa: BLE001 - recorded, tried again; the traceback is logged
        current_app.logger.exception("payment event %s failed", event_id)
        return _finish(event_id, RETRY, error=f"{type(exc).__name__}: {exc}", retry=True)
    return _finish(event_id, DONE, applied=applied)


def _finish(
    event_id: int, status: str, *, error: str = "", applied: int = 0, retry: bool = False
) -> dict:
    db.session.rollback()
    event = db.session.get(ProviderEvent, event_id)
    event.status, event.error, event.applied = status, error[:2000], applied
    event.processed_at = clock.now() if status in (DONE, REJECTED) else None
    event.next_attempt_at = None
    if retry:
        if event.attempts >= MAX_ATTEMPTS:
            event.status = REJECTED
            event.error = f"gave up after {event.attempts} attempts: {error}"[:2000]
        else:
            wait = BACKOFF[min(event.attempts - 1, len(BACKOFF) - 1)]
            event.next_attempt_at = clock.now() + timedelta(seconds=wait)
    db.session.commit()
    return {"applied": applied, "status": event.status}


def apply(provider_id: str, events: list[WebhookEvent], *, source: str) -> int:
    """Apply normalised events through settlement and take-backs; how many matched a payment."""
    applied = 0
    for event in events:
        if event.kind in (PAID, FAILED, EXPIRED):
            status = SessionStatus(event.kind, event.amount, event.currency, event.reason)
            done = settlement.settle(provider_id, event.external_id, status, source=source)
        elif event.kind == REFUNDED and event.refund_id:
            done = takebacks.record_refund(
                provider_id, event.external_id, event.refund_id, event.amount or 0, source=source
            )
        elif event.kind == REVERSED and event.refund_id:
            done = takebacks.record_reversal(
                provider_id,
                event.external_id,
                event.refund_id,
                event.amount or 0,
                source=source,
                reason=event.reason,
            )
        elif event.kind == REINSTATED and event.refund_id:
            done = takebacks.reinstate(
                provider_id, event.external_id, event.refund_id, source=source
            )
        else:
            raise WebhookError(f"unsupported event {event.kind!r}")
        applied += done is not None
    return applied


def apply_now(provider_id: str, provider, body: bytes, headers: dict[str, str]) -> int:
    """A provider without ``accept_webhook``: verify and apply in the request."""
    return apply(provider_id, provider.parse_webhook(body=body, headers=headers), source="webhook")


def due(limit: int = 200) -> list[int]:
    """Recorded events that need a job now: never queued (a lost enqueue), abandoned by a dead
    worker, or failed and past their backoff."""
    now = clock.now()
    stale = now - timedelta(seconds=30)
    abandoned = now - timedelta(minutes=10)
    rows = db.session.scalars(
        db.select(ProviderEvent.id)
        .where(
            or_(
                (ProviderEvent.status == RECEIVED) & (ProviderEvent.received_at <= stale),
                (ProviderEvent.status == PROCESSING) & (ProviderEvent.claimed_at <= abandoned),
                (ProviderEvent.status == RETRY) & (ProviderEvent.next_attempt_at <= now),
            )
        )
        .order_by(ProviderEvent.id)
        .limit(limit)
    )
    return list(rows)


def release_abandoned(event_ids: list[int]) -> None:
    """Make rows a dead worker left ``processing`` claimable again."""
    if event_ids:
        db.session.execute(
            update(ProviderEvent)
            .where(ProviderEvent.id.in_(event_ids), ProviderEvent.status == PROCESSING)
            .values(status=RETRY)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()


def forget_old(days: int = 90) -> int:
    """Delete finished rows older than ``days`` (their effects live in payments and the ledger)."""
    cutoff = clock.now() - timedelta(days=days)
    gone = db.session.execute(
        db.delete(ProviderEvent).where(
            ProviderEvent.status.in_((DONE, REJECTED)), ProviderEvent.received_at < cutoff
        )
    ).rowcount
    db.session.commit()
    return gone or 0
