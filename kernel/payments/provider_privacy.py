"""What a payment provider plugin answers to the privacy hooks, written once for all of them.

The payments themselves are the kernel's (kept after an erasure, as the law requires); a
provider plugin adds its side of them: the ids under which the provider keeps its own records
of the customer's payments (so the customer can ask the provider for them), and the hosted
checkout links, which are cleared on erasure (an open one shows the customer's details at the
provider). Plugins call these from their ``personal_data`` and ``erase_personal_data`` hooks
(public API: ``provider_payments_export``, ``clear_checkout_links``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernel.extensions import db
from kernel.payments.models import Payment

if TYPE_CHECKING:
    from kernel.accounts.models import User


def _payments(provider: str, user_id: int) -> list[Payment]:
    return list(
        db.session.scalars(
            db.select(Payment)
            .where(Payment.user_id == user_id, Payment.provider == provider)
            .order_by(Payment.id)
        )
    )


def provider_payments_export(provider: str, user: User) -> dict:
    """``{"payments": [...]}`` of ``user``'s payments through ``provider`` (``{}`` when none):
    pteroca's id, the provider's id (``<provider>_id``), status, currency, amount, date and the
    provider's refund ids."""
    rows = [
        {
            "payment": p.id,
            f"{provider}_id": p.external_id,
            "status": p.status,
            "currency": p.currency,
            "amount": p.amount_charged,
            "created_at": p.created_at,
            "refunds": sorted((p.meta or {}).get("refunds", {})),
        }
        for p in _payments(provider, user.id)
    ]
    return {"payments": rows} if rows else {}


def clear_checkout_links(provider: str, user: User) -> None:
    """Forget the hosted checkout links of ``user``'s payments through ``provider`` (commits)."""
    for payment in _payments(provider, user.id):
        payment.checkout_url = ""
    db.session.commit()
