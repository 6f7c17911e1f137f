"""Staff balance adjustments: a signed amount with a reason, through the ledger, audited.

The ledger entry and its audit entry are written in one transaction: an adjustment is never
posted without a record of who made it and why, and never recorded without being posted. The
reason is shown in the customer's balance history, so it is required. One rule for the
admin's wallet page, its user page and the REST API.
"""

from __future__ import annotations

import secrets

from kernel import audit
from kernel.extensions import db
from kernel.payments import ledger
from kernel.payments.money import MoneyError, parse_amount

KIND = "adjustment"
MAX_REASON = 200


def parse_signed(text: str, currency: str) -> int:
    """``"-5.00"`` -> -500 (minor units); the sign is optional, the rest as ``parse_amount``."""
    raw = (text or "").strip()
    negative = raw.startswith("-")
    return (
        -parse_amount(raw.lstrip("+-"), currency)
        if negative
        else parse_amount(raw.lstrip("+"), currency)
    )


def adjust(
    user, amount: int, reason: str, *, actor: str, reference: str | None = None
) -> ledger.Posted:
    """Credit (``amount`` > 0) or debit (< 0) ``user``'s wallet in minor units, with ``reason``.

    ``reference`` makes a retried call post once (the ledger's references are unique; the
    API derives it from the request's idempotency key): a repeat writes nothing new.
    Raises MoneyError with a message for staff: no reason, a zero amount, or a debit beyond the
    balance (``InsufficientFunds``); nothing is written then.
    """
    reason = " ".join((reason or "").split())
    if not reason:
        raise MoneyError("give a reason: the customer sees it in their history")
    if len(reason) > MAX_REASON:
        raise MoneyError(f"keep the reason under {MAX_REASON} characters")
    if not isinstance(amount, int) or isinstance(amount, bool) or amount == 0:
        raise MoneyError("the amount must be a non-zero sum of money")
    meta = {"reason": reason, "by": actor}
    try:
        posted = ledger.post(
            user.id, amount, KIND, reference or f"adjust:{secrets.token_hex(8)}", meta, commit=False
        )
        if posted.created:
            audit.record(
                "wallet.adjusted",
                user.email,
                {"amount": amount, "reason": reason},
                actor=actor,
                commit=False,
            )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    if posted.created:
        ledger.changed(posted.entry)
    return posted
