"""Debts: money a customer owes beyond their balance, kept beside the wallet.

A provider can take money back after the wallet spent it: a chargeback, a dispute, a
refund larger than the balance. The wallet never goes below zero (the ledger's invariant),
so :func:`take_or_owe` debits what the balance covers and records the rest as a
:class:`~kernel.payments.models.Debt`. While a customer owes money, :func:`refusal` gives
the store its reason to refuse purchases and renewals, and every credit pays the debt first
(:mod:`kernel.payments.ledger`). Staff are alerted when a debt is opened and may write one
off.

Invariant (checked by :func:`invariant_violations`): for every debt,
``amount == outstanding + forgiven + paid`` where ``paid`` is the sum of its ``debt_payment``
ledger entries, and no customer holds a positive balance while owing.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func

from kernel import audit, clock, site_settings
from kernel.extensions import db
from kernel.payments import ledger
from kernel.payments.models import Debt, LedgerEntry, Wallet
from kernel.payments.money import MoneyError, format_amount

ALERT_PERMISSION = "admin.payments"


class DebtError(MoneyError):
    """A debt action that cannot be done; the message is shown to staff."""


@dataclass(frozen=True)
class TakeBack:
    """What a take-back did: ``taken`` from the balance, ``owed`` as a debt."""

    taken: int
    owed: int
    posted: ledger.Posted | None
    debt: Debt | None
    created: bool  # False: the reference had been taken back before (nothing changed now)


def take_or_owe(
    user_id: int,
    amount: int,
    kind: str,
    reference: str,
    meta: dict | None = None,
    *,
    reason: str,
    payment_id: int | None = None,
) -> TakeBack:
    """Take ``amount`` back from the user: debit what the balance covers, owe the rest.

    Runs in the caller's transaction (the caller commits, then calls :func:`announce`).
    ``reference`` makes it idempotent: taking the same reference back again changes nothing.
    """
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise MoneyError("a take-back needs a positive amount in integer minor units")
    done = _recorded(reference)
    if done is not None:
        return done
    available = ledger.lock_wallet(user_id)
    taken = min(amount, available)
    owed = amount - taken
    details = {**(meta or {}), "owed": owed, "reason": reason}
    posted = ledger.debit(user_id, taken, kind, reference, details, commit=False) if taken else None
    debt = None
    if owed:
        debt = Debt(
            user_id=user_id,
            amount=owed,
            outstanding=owed,
            forgiven=0,
            kind=kind,
            reference=reference,
            payment_id=payment_id,
            reason=reason,
            meta=meta or {},
        )
        db.session.add(debt)
        db.session.flush()
    return TakeBack(taken, owed, posted, debt, created=True)


def _recorded(reference: str) -> TakeBack | None:
    entry = db.session.scalar(db.select(LedgerEntry).where(LedgerEntry.reference == reference))
    debt = db.session.scalar(db.select(Debt).where(Debt.reference == reference))
    if entry is None and debt is None:
        return None
    return TakeBack(
        -entry.amount if entry else 0,
        debt.amount if debt else 0,
        ledger.Posted(entry, created=False) if entry else None,
        debt,
        created=False,
    )


def announce(result: TakeBack) -> None:
    """After the caller committed: fire ``wallet_changed`` and alert staff of a new debt."""
    if not result.created:
        return
    if result.posted is not None:
        ledger.changed(result.posted.entry)
    if result.debt is not None:
        alert_opened(result.debt)


def forgive(debt: Debt, amount: int, *, why: str) -> int:
    """Stop owing up to ``amount`` of ``debt`` without money moving (caller's transaction);
    returns what was forgiven."""
    cut = min(amount, debt.outstanding)
    if cut > 0:
        debt.outstanding -= cut
        debt.forgiven += cut
        debt.meta = {**(debt.meta or {}), "forgiven_why": why}
        if debt.outstanding == 0:
            debt.settled_at = clock.now()
    return cut


def write_off(debt_id: int, *, actor: str, note: str) -> Debt:
    """Staff: the customer no longer owes what is left of the debt (audited)."""
    debt = db.session.scalar(db.select(Debt).where(Debt.id == debt_id).with_for_update())
    if debt is None:
        raise DebtError(f"there is no debt #{debt_id}")
    note = (note or "").strip()
    if not note:
        raise DebtError("give a reason for writing the debt off")
    if debt.outstanding == 0:
        raise DebtError(f"debt #{debt.id} is already settled")
    cut = forgive(debt, debt.outstanding, why=f"written off by {actor}: {note}")
    db.session.commit()
    audit.record(
        "wallet.debt_written_off",
        f"debt:{debt.id}",
        {"user": debt.user_id, "amount": cut, "note": note},
        actor=actor,
    )
    return debt


def outstanding(user_id: int) -> int:
    """What the user still owes (minor units; 0 when nothing)."""
    return int(
        db.session.scalar(
            db.select(func.coalesce(func.sum(Debt.outstanding), 0)).where(
                Debt.user_id == user_id, Debt.outstanding > 0
            )
        )
        or 0
    )


def refusal(user_id: int) -> str | None:
    """Why the user may not buy or renew now (they owe money), or None: the store asks this."""
    owed = outstanding(user_id)
    if not owed:
        return None
    amount = format_amount(owed, site_settings.get("currency"))
    return (
        f"your account owes {amount} (a payment was taken back by the payment provider); "
        "top up your wallet to settle it before buying or renewing"
    )


def of_user(user_id: int, *, open_only: bool = False) -> list[Debt]:
    """The user's debts, newest first."""
    query = db.select(Debt).where(Debt.user_id == user_id).order_by(Debt.id.desc())
    if open_only:
        query = query.where(Debt.outstanding > 0)
    return list(db.session.scalars(query))


def of_payment(payment_id: int) -> list[Debt]:
    return list(
        db.session.scalars(db.select(Debt).where(Debt.payment_id == payment_id).order_by(Debt.id))
    )


def paid_of(debt: Debt) -> int:
    """What later credits paid of ``debt`` (its ``debt_payment`` ledger entries)."""
    return -int(
        db.session.scalar(
            db.select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
                LedgerEntry.reference.like(f"debt:{debt.id}:%")
            )
        )
        or 0
    )


def totals() -> dict[str, int]:
    """Open debts across all customers: how many customers, how much (for the admin)."""
    row = db.session.execute(
        db.select(
            func.count(func.distinct(Debt.user_id)), func.coalesce(func.sum(Debt.outstanding), 0)
        ).where(Debt.outstanding > 0)
    ).one()
    return {"customers": int(row[0] or 0), "amount": int(row[1] or 0)}


def open_debts(limit: int = 100) -> list[Debt]:
    return list(
        db.session.scalars(
            db.select(Debt).where(Debt.outstanding > 0).order_by(Debt.id.desc()).limit(limit)
        )
    )


def invariant_violations() -> list[str]:
    """Debts whose parts do not add up, and customers holding money while owing (empty: fine)."""
    bad = []
    for debt in db.session.scalars(db.select(Debt)):
        paid = paid_of(debt)
        if debt.amount != debt.outstanding + debt.forgiven + paid or debt.outstanding < 0:
            bad.append(
                f"debt {debt.id}: amount {debt.amount} != outstanding {debt.outstanding} "
                f"+ forgiven {debt.forgiven} + paid {paid}"
            )
    owing = db.session.execute(
        db.select(Wallet.user_id, Wallet.balance)
        .join(Debt, Debt.user_id == Wallet.user_id)
        .where(Debt.outstanding > 0, Wallet.balance > 0)
        .distinct()
    ).all()
    bad.extend(f"user {user}: balance {balance} while owing" for user, balance in owing)
    return bad


def alert_opened(debt: Debt) -> None:
    """Tell staff a customer now owes money: an audit entry and an email to each staff member
    who manages payments. Never raises (mail trouble must not undo the money's record)."""
    currency = site_settings.get("currency")
    audit.record(
        "wallet.debt_opened",
        f"debt:{debt.id}",
        {
            "user": debt.user_id,
            "amount": debt.amount,
            "kind": debt.kind,
            "payment": debt.payment_id,
            "reason": debt.reason,
        },
        actor="system",
    )
    from kernel.accounts.models import User

    customer = db.session.get(User, debt.user_id)
    lines = [
        f"{customer.email if customer else debt.user_id} now owes "
        f"{format_amount(debt.amount, currency)}: {debt.reason}.",
        "Their purchases and renewals are refused until a top-up settles it; "
        "you can write it off in the admin (Wallet adjustments).",
    ]
    notify_staff(f"A customer owes {format_amount(debt.amount, currency)}", lines)


def notify_staff(subject: str, lines: list[str]) -> int:
    """Email every active staff member with the payments permission; returns how many."""
    from kernel.accounts.models import Role, User
    from kernel.mail import send_email

    roles = [
        role.name
        for role in db.session.scalars(db.select(Role))
        if "*" in (role.permissions or []) or ALERT_PERMISSION in (role.permissions or [])
    ]
    sent = 0
    for user in db.session.scalars(
        db.select(User).where(User.role_name.in_(roles), User.is_blocked.is_(False))
    ):
        try:
            send_email(user.email, subject, "payment_alert", user=user, lines=lines)
            sent += 1
        except Exception as exc:  # noqa: BLE001 - an alert must never break the money path
            current_app.logger.warning("payment alert to %s failed: %s", user.email, exc)
    return sent
