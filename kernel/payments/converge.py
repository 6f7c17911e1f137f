"""Payments converge: nothing stays open because a webhook or a customer never came back.

The cron task ``payments.converge`` (every minute, :func:`run`):

1. queues recorded webhook deliveries whose job was lost, abandoned by a dead worker, or
   failed and is past its backoff (:func:`kernel.payments.inbox.due`);
2. queues a :func:`check` of every payment still ``open`` after the grace period
   (``payment_check_minutes``): the job asks the provider (Stripe: retrieve the Checkout
   Session; PayPal: get the order, capturing it when approved) and settles through
   :func:`kernel.payments.settlement.settle`, the code webhooks and return pages use, so a
   payment is still credited exactly once. Checks back off (the grace period, then twice as
   long each time, at most :data:`MAX_INTERVAL`) and each one is recorded on the payment
   (``meta["converge"]``) for the admin;
3. a payment the provider still calls open past ``payment_expire_hours`` is expired here
   (the customer gave up); one the provider holds (a payment under review) stays open and
   staff are alerted once. A payment whose checkout was never created (the process died in
   between) is failed.

The return page and "check again" use the same :func:`check` job, so no web request waits
on a provider when jobs run on a worker.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app

from kernel import clock, jobs, site_settings
from kernel.extensions import db
from kernel.payments import debts, inbox, settlement
from kernel.payments.models import Payment
from kernel.payments.providers import EXPIRED, OPEN, ProviderError, SessionStatus, get_provider

MAX_INTERVAL = timedelta(hours=6)
BATCH = 200
RECHECK_SECONDS = 3  # a return page queues a new check at most this often per payment


def grace() -> timedelta:
    return timedelta(minutes=max(1, int(site_settings.get("payment_check_minutes") or 15)))


def give_up_after() -> timedelta:
    return timedelta(hours=max(1, int(site_settings.get("payment_expire_hours") or 72)))


def run() -> dict:
    """The cron task: queue what needs the provider now; returns counts."""
    events = inbox.due(BATCH)
    inbox.release_abandoned(events)
    for event_id in events:
        jobs.enqueue(inbox.process, event_id)
    failed = fail_uncreated()
    payments = due_payments()
    for payment_id in payments:
        jobs.enqueue(check, payment_id)
    forgotten = inbox.forget_old()
    return {
        "events": len(events),
        "payments": len(payments),
        "never_created": failed,
        "forgotten": forgotten,
    }


def due_payments(limit: int = BATCH) -> list[int]:
    """Open payments past the grace period whose next check is due, least recently touched first."""
    now = clock.now()
    rows = db.session.scalars(
        db.select(Payment)
        .where(
            Payment.status == OPEN,
            Payment.external_id.is_not(None),
            Payment.created_at <= now - grace(),
        )
        .order_by(Payment.updated_at, Payment.id)
        .limit(limit * 5)
    )
    out = []
    for payment in rows:
        next_at = ((payment.meta or {}).get("converge") or {}).get("next_at")
        if next_at is None or datetime.fromisoformat(next_at) <= now:
            out.append(payment.id)
        if len(out) >= limit:
            break
    return out


def fail_uncreated() -> int:
    """Fail open payments whose checkout never got created (no provider id after the grace
    period): the customer never saw a page to pay on."""
    rows = list(
        db.session.scalars(
            db.select(Payment)
            .where(
                Payment.status == OPEN,
                Payment.external_id.is_(None),
                Payment.created_at <= clock.now() - grace(),
            )
            .limit(BATCH)
        )
    )
    for payment in rows:
        payment.status = "failed"
        payment.failure_reason = (
            "the checkout was never created at the provider; nothing was charged"
        )
    db.session.commit()
    return len(rows)


@jobs.job(queue="default")
def check(payment_id: int, source: str = "converge") -> dict:
    """Job: ask the provider about one open payment and settle on its answer (exactly once).

    Never raises for the provider's trouble: the error is recorded on the payment (the
    return page shows it, the admin sees it) and the next check tries again.
    """
    payment = db.session.get(Payment, payment_id)
    if payment is None or payment.status != OPEN or not payment.external_id:
        return {"status": payment.status if payment else "missing"}
    try:
        status = settlement.ask_provider(payment)
    except (ProviderError, settlement.PaymentError) as exc:
        provider = get_provider(payment.provider)
        name = provider.display_name if provider else payment.provider
        error = f"could not check the payment with {name}: {exc}"
        _note(payment_id, source, error=error)
        return {"status": OPEN, "error": error}
    payment = settlement.settle(payment.provider, payment.external_id, status, source=source)
    if payment is None:
        return {"status": "missing"}
    if payment.status == OPEN:
        _still_open(payment_id, status, source)
    return {"status": payment.status}


def _note(payment_id: int, source: str, *, error: str = "", status: str = OPEN) -> Payment:
    """Record a check on the payment: when, what the provider said, when the next one is due."""
    payment = db.session.scalar(
        db.select(Payment).where(Payment.id == payment_id).with_for_update()
    )
    now = clock.now()
    meta = dict(payment.meta or {})
    meta["last_check"] = {"at": now.isoformat(timespec="seconds"), "error": error, "source": source}
    if source == "converge":
        state = dict(meta.get("converge") or {})
        checks = int(state.get("checks", 0)) + 1
        wait = min(grace() * 2 ** (checks - 1), MAX_INTERVAL)
        state.update(
            checks=checks,
            last_at=now.isoformat(timespec="seconds"),
            last=("error" if error else status),
            error=error,
            next_at=(now + wait).isoformat(timespec="seconds"),
        )
        meta["converge"] = state
    payment.meta = meta
    db.session.commit()
    return payment


def _still_open(payment_id: int, status: SessionStatus, source: str) -> None:
    said = f"open: {status.reason}" if status.reason else OPEN
    payment = _note(payment_id, source, status=said)
    if source != "converge" or clock.now() - payment.created_at < give_up_after():
        return
    if not status.reason:  # nothing is pending at the provider: the customer never paid
        hours = int(give_up_after().total_seconds() // 3600)
        settlement.settle(
            payment.provider,
            payment.external_id,
            SessionStatus(EXPIRED, reason=f"the payment was not completed within {hours} hours"),
            source="converge",
        )
        return
    state = dict((payment.meta or {}).get("converge") or {})
    if state.get("alerted"):
        return
    payment.meta = {**payment.meta, "converge": {**state, "alerted": True}}
    db.session.commit()
    current_app.logger.warning(
        "payment %s still held by %s: %s", payment.id, payment.provider, status.reason
    )
    debts.notify_staff(
        f"Payment #{payment.id} is still open at {payment.provider}",
        [
            f"Top-up #{payment.id} ({payment.provider} {payment.external_id}) is still "
            f"open after {give_up_after()}: {status.reason}.",
            "pteroca keeps checking it every few hours; look at it in the provider's "
            "dashboard if it does not move.",
        ],
    )


def check_from_page(payment: Payment) -> str:
    """The return page and "check again": queue a check (run at once with inline jobs);
    returns an error to show, if the check ran and failed."""
    if payment.status != OPEN or not payment.external_id:
        return ""
    if jobs.uses_rq():
        last = ((payment.meta or {}).get("last_check") or {}).get("at")
        if last and clock.now() - datetime.fromisoformat(last) < timedelta(seconds=RECHECK_SECONDS):
            return ""
    outcome = jobs.enqueue(check, payment.id, "return")
    return outcome.get("error", "") if isinstance(outcome, dict) else ""
