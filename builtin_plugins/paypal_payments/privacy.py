"""PayPal's answers to the kernel's privacy hooks.

The payments themselves are the kernel's (kept after an erasure, as the law requires); what
this plugin adds is the PayPal side of them: the ids under which PayPal keeps its own
records of the customer's payments (to ask PayPal for them), and the hosted checkout links,
which are cleared on erasure (an open one shows the customer's details at PayPal).
"""

from __future__ import annotations

from kernel import Payment, db

PROVIDER = "paypal"


def _payments(user_id: int) -> list[Payment]:
    return list(db.session.scalars(db.select(Payment).where(
        Payment.user_id == user_id, Payment.provider == PROVIDER).order_by(Payment.id)))


def export(user) -> dict:
    rows = [{"payment": p.id, "paypal_id": p.external_id, "status": p.status,
             "currency": p.currency, "amount": p.amount_charged, "created_at": p.created_at,
             "refunds": sorted((p.meta or {}).get("refunds", {}))} for p in _payments(user.id)]
    return {"payments": rows} if rows else {}


def erase(user) -> None:
    for payment in _payments(user.id):
        payment.checkout_url = ""
    db.session.commit()
