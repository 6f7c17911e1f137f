"""Staff adjustments of a wallet: a signed amount with a reason the customer sees, through
the ledger, audited. One rule for the admin page and the API."""

from __future__ import annotations

import secrets

from kernel import audit
from kernel.payments import ledger
from kernel.payments.money import MoneyError

MAX_REASON = 500


def adjust(user, amount: int, reason: str, *, actor: str, reference: str | None = None):
    """Credit (amount > 0) or debit (amount < 0) ``user``'s wallet; returns the Posted entry.
    ``reference`` makes a retried call post once (the ledger's references are unique).
    Raises MoneyError (or InsufficientFunds) with a message for the person adjusting."""
    reason = (reason or "").strip()
    if not reason:
        raise MoneyError("give a reason: the customer sees it in their history")
    if len(reason) > MAX_REASON:
        raise MoneyError(f"keep the reason under {MAX_REASON} characters")
    if isinstance(amount, bool) or not isinstance(amount, int) or amount == 0:
        raise MoneyError("the amount must be a whole number of minor units, not zero")
    reference = reference or f"adjust:{secrets.token_hex(8)}"
    meta = {"reason": reason, "by": actor}
    if amount < 0:
        posted = ledger.debit(user.id, -amount, "adjustment", reference, meta)
    else:
        posted = ledger.credit(user.id, amount, "adjustment", reference, meta)
    if posted.created:
        audit.record("wallet.adjusted", user.email, {"amount": amount, "reason": reason},
                     actor=actor)
    return posted
