"""Money figures for the admin: revenue per day, payment lists."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func

from kernel import clock
from kernel.extensions import db
from kernel.payments.models import Payment, ProviderEvent


def revenue_by_day(days: int = 30) -> dict:
    """Paid amounts (minor units, refunds subtracted) per settlement day, oldest first."""
    today = clock.now().date()
    start = today - timedelta(days=days - 1)
    day = func.date(Payment.settled_at)
    rows = db.session.execute(
        db.select(day, func.sum(Payment.amount_charged - Payment.amount_refunded))
        .where(Payment.settled_at.is_not(None), Payment.settled_at >= start)
        .group_by(day)).all()
    totals = {str(d): int(v or 0) for d, v in rows}
    labels = [(start + timedelta(days=i)).isoformat() for i in range(days)]
    return {"labels": labels, "values": [totals.get(label, 0) for label in labels]}


def payments_page(*, status: str = "", provider: str = "", page: int = 1, per_page: int = 50):
    query = db.select(Payment).order_by(Payment.id.desc())
    if status:
        query = query.where(Payment.status == status)
    if provider:
        query = query.where(Payment.provider == provider)
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def known_providers() -> list[str]:
    return list(db.session.scalars(db.select(Payment.provider).distinct().order_by(Payment.provider)))


def event_counts() -> dict[str, int]:
    """Recorded provider events per status (the webhook inbox, for the admin)."""
    return dict(db.session.execute(db.select(ProviderEvent.status, func.count())
                                   .group_by(ProviderEvent.status)).all())


def waiting_events(limit: int = 20):
    """Provider events not applied yet, or rejected, newest first: what staff may look at."""
    return list(db.session.scalars(db.select(ProviderEvent).where(
        ProviderEvent.status.in_(("received", "processing", "failed", "rejected")))
        .order_by(ProviderEvent.id.desc()).limit(limit)))
