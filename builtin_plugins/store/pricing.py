"""Prices, periods, proration and discounts, in integer minor units."""

from __future__ import annotations

from datetime import datetime, timedelta

from builtin_plugins.store.models import PricePlan
from kernel import percent_of


class PricingError(ValueError):
    """A choice that has no price (slots out of range...); the message is shown as is."""


def period(plan: PricePlan) -> timedelta:
    if plan.period_unit == "hours":
        return timedelta(hours=plan.period_count)
    return timedelta(days=plan.period_count)


def period_price(plan: PricePlan, slots: int = 1) -> int:
    if plan.kind == "slot":
        if not plan.min_slots <= slots <= plan.max_slots:
            raise PricingError(f"choose between {plan.min_slots} and {plan.max_slots} slots")
        return plan.price * slots
    return plan.price


def apply_discount(amount: int, percent: int) -> tuple[int, int]:
    """(price after a ``percent`` discount, the discount), never below zero."""
    discount = min(amount, percent_of(amount, percent))
    return amount - discount, discount


def next_expiry(current: datetime | None, now: datetime, plan: PricePlan) -> datetime:
    """Renewal rule: max(now, expiry) + period, so paying early stacks."""
    start = max(now, current) if current else now
    return start + period(plan)


def prorate(
    old_price: int, new_price: int, plan: PricePlan, expires_at: datetime, now: datetime
) -> int:
    """What switching price for the rest of the period costs (negative: a credit)."""
    total = period(plan).total_seconds()
    left = max(0.0, min(total, (expires_at - now).total_seconds()))
    # integer arithmetic on whole seconds keeps this exact and reproducible
    seconds_left, seconds_total = int(left), int(total)
    diff = (new_price - old_price) * seconds_left
    return (
        (diff * 2 + seconds_total) // (2 * seconds_total)
        if diff >= 0
        else -((-diff * 2 + seconds_total) // (2 * seconds_total))
    )
