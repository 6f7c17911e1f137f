"""Figures for the admin: top-ups, wallet spending and new customers per day, payment lists."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func

from kernel import paging
from kernel.clock import now as utcnow
from kernel.extensions import db
from kernel.paging import KeysetPage
from kernel.payments.models import LedgerEntry, Payment, ProviderEvent


def revenue_by_day(days: int = 30) -> dict:
    """Paid amounts (minor units, refunds subtracted) per settlement day, oldest first."""
    labels, start = _days(days)
    day = func.date(Payment.settled_at)
    rows = db.session.execute(
        db.select(day, func.sum(Payment.amount_charged - Payment.amount_refunded))
        .where(Payment.settled_at.is_not(None), Payment.settled_at >= start)
        .group_by(day)
    ).all()
    totals = {str(d): int(v or 0) for d, v in rows}
    return {"labels": labels, "values": [totals.get(label, 0) for label in labels]}


def payments_page(args, default_size: int = 50) -> KeysetPage:
    """One page of payments, newest first, from the cursor in ``args`` (:mod:`kernel.paging`),
    filtered by ``status`` and ``provider``: one statement, whatever the table's size.
    Raises :class:`~kernel.paging.PagingError` for a malformed cursor or page size."""
    query = db.select(Payment)
    if args.get("status"):
        query = query.where(Payment.status == args["status"])
    if args.get("provider"):
        query = query.where(Payment.provider == args["provider"])
    return paging.fetch(db.session, query, Payment.id, args, default_size)


def known_providers() -> list[str]:
    return list(
        db.session.scalars(db.select(Payment.provider).distinct().order_by(Payment.provider))
    )


def event_counts() -> dict[str, int]:
    """Recorded provider events per status (the webhook inbox, for the admin)."""
    return dict(
        db.session.execute(
            db.select(ProviderEvent.status, func.count()).group_by(ProviderEvent.status)
        ).all()
    )


def waiting_events(limit: int = 20):
    """Provider events not applied yet, or rejected, newest first: what staff may look at."""
    return list(
        db.session.scalars(
            db.select(ProviderEvent)
            .where(ProviderEvent.status.in_(("received", "processing", "failed", "rejected")))
            .order_by(ProviderEvent.id.desc())
            .limit(limit)
        )
    )


# Debits that are not a customer spending: staff corrections, debts paid off from a credit,
# and money a payment provider took back (refunds, chargebacks of top-ups).
NOT_SPENDING = ("adjustment", "debt_payment", "refund", "chargeback")


def _days(days: int) -> tuple[list[str], object]:
    """The last ``days`` days, ending today by the clock the rows are stamped with."""
    today = utcnow().date()
    start = today - timedelta(days=days - 1)
    return [(start + timedelta(days=i)).isoformat() for i in range(days)], start


def spending_by_day(days: int = 30) -> dict:
    """What customers paid from their wallets (purchases, renewals, upgrades: every debit but
    those in ``NOT_SPENDING``), minor units per day, oldest first. In a wallet-first shop this,
    not the top-ups, is what was sold."""
    labels, start = _days(days)
    day = func.date(LedgerEntry.created_at)
    rows = db.session.execute(
        db.select(day, func.sum(-LedgerEntry.amount))
        .where(
            LedgerEntry.amount < 0,
            LedgerEntry.kind.not_in(NOT_SPENDING),
            LedgerEntry.created_at >= start,
        )
        .group_by(day)
    ).all()
    totals = {str(d): int(v or 0) for d, v in rows}
    return {"labels": labels, "values": [totals.get(label, 0) for label in labels]}


def new_customers_by_day(days: int = 30) -> dict:
    """Accounts registered per day with the customer role (staff accounts are not customers)."""
    from kernel.accounts.models import User

    labels, start = _days(days)
    day = func.date(User.created_at)
    rows = db.session.execute(
        db.select(day, func.count())
        .where(User.role_name == "customer", User.created_at >= start, User.erased_at.is_(None))
        .group_by(day)
    ).all()
    totals = {str(d): int(v or 0) for d, v in rows}
    return {"labels": labels, "values": [totals.get(label, 0) for label in labels]}


def overview(days: int = 30) -> dict:
    """The admin overview's figures: per-day series and their totals over ``days`` days."""
    topups = revenue_by_day(days)
    spending = spending_by_day(days)
    customers = new_customers_by_day(days)
    return {
        "days": days,
        "labels": topups["labels"],
        "topups": topups["values"],
        "spending": spending["values"],
        "new_customers": customers["values"],
        "totals": {
            "topups": sum(topups["values"]),
            "spending": sum(spending["values"]),
            "new_customers": sum(customers["values"]),
        },
    }
