"""The time the business rules see: UTC, naive, and movable in tests.

Billing code (renewals, suspensions, expiries) asks :func:`now`, never
``datetime.now()``, so tests and demo environments can move time forward.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

_offset = timedelta(0)
_frozen: datetime | None = None


def now() -> datetime:
    if _frozen is not None:
        return _frozen
    return datetime.now(UTC).replace(tzinfo=None) + _offset


def advance(delta: timedelta) -> datetime:
    """Move the clock forward (or back) for the whole process."""
    global _offset, _frozen
    if _frozen is not None:
        _frozen += delta
    else:
        _offset += delta
    return now()


def freeze(at: datetime | None) -> None:
    """Stop the clock at ``at`` (None lets it run again)."""
    global _frozen
    _frozen = at


def reset() -> None:
    global _offset, _frozen
    _offset, _frozen = timedelta(0), None


@contextmanager
def frozen(at: datetime):
    freeze(at)
    try:
        yield
    finally:
        reset()
