"""Vouchers: balance credits, top-up discounts and purchase/renewal discounts, with their limits."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import func, update

from builtin_plugins.store.models import Voucher, VoucherUsage
from builtin_plugins.store.pricing import apply_discount
from kernel import db, format_amount, ledger_credit, notify_wallet_changed
from kernel import now as utcnow

BALANCE, TOPUP_DISCOUNT, PURCHASE_DISCOUNT = "balance", "topup_discount", "purchase_discount"
KINDS = (BALANCE, TOPUP_DISCOUNT, PURCHASE_DISCOUNT)


class VoucherError(ValueError):
    """Why a code cannot be used; shown to the customer."""


def validate(voucher: Voucher) -> None:
    """Check a voucher an admin made or changed (its value already in minor units or percent):
    one rule for the admin page and the API. Raises VoucherError; uppercases the code."""
    voucher.code = (voucher.code or "").strip().upper()
    if not 1 <= len(voucher.code) <= 64:
        raise VoucherError("give the code 1 to 64 characters")
    if voucher.kind not in KINDS:
        raise VoucherError(f"the kind must be one of {', '.join(KINDS)}")
    if voucher.kind == BALANCE:
        if not isinstance(voucher.value, int) or voucher.value <= 0:
            raise VoucherError("a balance credit must be more than zero")
    else:
        highest = 99 if voucher.kind == TOPUP_DISCOUNT else 100
        if not isinstance(voucher.value, int) or not 1 <= voucher.value <= highest:
            raise VoucherError(f"a discount is a whole percent from 1 to {highest}")
    for name in ("max_uses", "new_accounts_days", "min_amount"):
        if (getattr(voucher, name) or 0) < 0:
            raise VoucherError(f"{name.replace('_', ' ')} cannot be negative")
    voucher.min_amount = voucher.min_amount or 0
    with db.session.no_autoflush:
        clash = db.session.scalar(
            db.select(Voucher.id).where(func.upper(Voucher.code) == voucher.code)
        )
    if clash is not None and clash != voucher.id:
        raise VoucherError(f"the code {voucher.code!r} exists already")


def find(code: str, kind: str, user, amount: int = 0, currency: str = "") -> Voucher:
    """The usable voucher for ``code`` or a VoucherError saying why not."""
    code = (code or "").strip().upper()
    # Locked for the rest of the caller's transaction: concurrent uses queue up here, so
    # once-per-user and max-uses hold.
    voucher = db.session.scalar(
        db.select(Voucher).where(func.upper(Voucher.code) == code).with_for_update()
    )
    if voucher is None or not voucher.active:
        raise VoucherError(f"the code {code!r} is not valid")
    if voucher.kind != kind:
        raise VoucherError(f"the code {code!r} cannot be used here")
    now = utcnow()
    if voucher.expires_at and voucher.expires_at <= now:
        raise VoucherError(f"the code {code!r} has expired")
    if voucher.max_uses is not None and voucher.uses >= voucher.max_uses:
        raise VoucherError(f"the code {code!r} has been used up")
    if voucher.new_accounts_days is not None and user.created_at < now - timedelta(
        days=voucher.new_accounts_days
    ):
        raise VoucherError(f"the code {code!r} is for new accounts only")
    if voucher.once_per_user and db.session.scalar(
        db.select(VoucherUsage.id)
        .where(VoucherUsage.voucher_id == voucher.id, VoucherUsage.user_id == user.id)
        .limit(1)
    ):
        raise VoucherError(f"you have already used the code {code!r}")
    if amount and amount < voucher.min_amount:
        raise VoucherError(
            f"the code {code!r} needs an amount of at least "
            f"{format_amount(voucher.min_amount, currency or 'USD')}"
        )
    return voucher


def discounted(voucher: Voucher, amount: int) -> tuple[int, int]:
    return apply_discount(amount, voucher.value)


def record_use(voucher: Voucher, user, reference: str, amount: int) -> None:
    """Count one use inside the caller's transaction; refuses when the last use was taken or
    this customer already used a once-per-user code (the voucher row is locked by ``find``)."""
    if voucher.once_per_user and db.session.scalar(
        db.select(VoucherUsage.id)
        .where(VoucherUsage.voucher_id == voucher.id, VoucherUsage.user_id == user.id)
        .limit(1)
    ):
        raise VoucherError(f"you have already used the code {voucher.code!r}")
    guard = update(Voucher).where(Voucher.id == voucher.id)
    if voucher.max_uses is not None:
        guard = guard.where(Voucher.uses < voucher.max_uses)
    if db.session.execute(guard.values(uses=Voucher.uses + 1)).rowcount != 1:
        raise VoucherError(f"the code {voucher.code!r} has been used up")
    db.session.add(
        VoucherUsage(voucher_id=voucher.id, user_id=user.id, reference=reference, amount=amount)
    )


def redeem_balance(code: str, user) -> int:
    """Credit a balance voucher to the wallet; returns the amount credited."""
    voucher = find(code, BALANCE, user)
    reference = f"voucher:{voucher.id}:{user.id}:{secrets.token_hex(6)}"
    record_use(voucher, user, reference, voucher.value)
    posted = ledger_credit(
        user.id, voucher.value, "voucher", reference, {"voucher": voucher.code}, commit=False
    )
    db.session.commit()
    notify_wallet_changed(posted.entry)
    return voucher.value
