"""Top-up discount vouchers: a lower charge for the same credit, counted once the payment settles.

The kernel asks ``topup_adjustment`` when a customer starts a top-up; the voucher's
use is recorded when the payment is credited (``payment_settled``), so an abandoned
checkout does not use the code up.
"""

from __future__ import annotations

from flask import current_app

from builtin_plugins.store.models import Voucher
from builtin_plugins.store.vouchers import (
    TOPUP_DISCOUNT,
    VoucherError,
    discounted,
    find,
    record_use,
)
from kernel import db, format_amount, record_audit

META_KEY = "store_voucher"


def adjustment(user, amount: int, code: str, currency: str) -> dict | str | None:
    """``{"charge", "meta"}`` for a valid code, the reason (a string) for a bad one, else None."""
    code = (code or "").strip()
    if not code:
        return None
    try:
        voucher = find(code, TOPUP_DISCOUNT, user, amount, currency)
    except VoucherError as exc:
        db.session.rollback()
        return str(exc)
    charge, discount = discounted(voucher, amount)
    db.session.rollback()  # nothing written yet: release the voucher row
    if charge <= 0:
        return f"the code {voucher.code!r} cannot pay for a whole top-up"
    return {
        "charge": charge,
        "meta": {
            META_KEY: {
                "id": voucher.id,
                "code": voucher.code,
                "discount": discount,
                "label": format_amount(discount, currency),
            }
        },
    }


def record_settled(payment) -> None:
    """Count the voucher a settled top-up used (once: the usage reference is the payment)."""
    info = (payment.meta or {}).get(META_KEY)
    if not info:
        return
    from kernel import User

    voucher = db.session.get(Voucher, info.get("id"))
    user = db.session.get(User, payment.user_id)
    if voucher is None or user is None:
        return
    try:
        record_use(voucher, user, f"payment:{payment.id}", int(info.get("discount", 0)))
        db.session.commit()
    except VoucherError as exc:
        # Used up by other top-ups that settled first: the customer paid the discounted
        # price already, so the credit stands; staff see it in the audit log.
        db.session.rollback()
        current_app.logger.warning("payment %s: %s", payment.id, exc)
        record_audit("store.voucher_overused", f"payment:{payment.id}", {"code": voucher.code})
