"""The store's use of the wallet: one customer's money operations one at a time."""

from __future__ import annotations

from sqlalchemy import select

from kernel.extensions import db
from kernel.payments import ledger
from kernel.payments.models import Wallet


def lock_wallet(user_id: int) -> None:
    """Serialise one customer's money operations (PostgreSQL row lock; SQLite locks at BEGIN)."""
    ledger._ensure_wallet(user_id)
    db.session.execute(select(Wallet.user_id).where(Wallet.user_id == user_id).with_for_update())
