"""The wallet ledger: the only code that changes a balance.

Each change appends one :class:`LedgerEntry` with a unique reference and moves
the cached :class:`Wallet` balance in the same transaction. Debits use a guarded
``UPDATE ... WHERE balance >= amount``, so concurrent debits can never take a
balance below zero. Posting a reference twice returns the first entry: callers
make every money movement idempotent by choosing a stable reference.

Money a customer owes beyond their balance is a :class:`Debt` beside the wallet
(:mod:`kernel.payments.debts` opens them). Every credit pays outstanding debts first, oldest
first, in the same transaction (entries of kind ``debt_payment``, reference
``debt:<debt>:<credit entry>``), so a customer never holds a positive balance and a debt at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import g, has_app_context
from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError

from kernel import clock
from kernel.extensions import db
from kernel.hooks import call_hook, call_veto
from kernel.payments.models import Debt, LedgerEntry, Wallet
from kernel.payments.money import MoneyError


class InsufficientFunds(MoneyError):
    """The balance cannot cover a debit."""


class CreditRefused(MoneyError):
    """A ``veto_wallet_credit`` hook refused a credit; the message is the plugin's reason."""


class LedgerConflict(Exception):
    """A reference was reused for a different user or amount: a programming error."""


DEBT_PAYMENT = "debt_payment"


@dataclass(frozen=True)
class Posted:
    entry: LedgerEntry
    created: bool  # False when the reference had already been posted
    debt_payments: tuple[LedgerEntry, ...] = ()  # what this credit paid of outstanding debts


def balance(user_id: int) -> int:
    wallet = db.session.get(Wallet, user_id)
    return wallet.balance if wallet else 0


# Balances shown on a page, per app context and database transaction: a page shows the
# balance in a widget and in the menu, and the session's identity map is weak, so each
# read would query again. A posting forgets the user's (``_forget_shown``); a commit or
# rollback starts a new transaction, which forgets them all.
_SHOWN = "_pteroca_shown_balances"


def shown_balance(user_id: int) -> int:
    """The balance to display (read once per transaction). Money logic uses :func:`balance`."""
    if not has_app_context():
        return balance(user_id)
    memo = g.get(_SHOWN)
    if memo is not None and memo[0] is db.session().get_transaction() and user_id in memo[1]:
        return memo[1][user_id]
    value = balance(user_id)
    transaction = db.session().get_transaction()
    if memo is None or memo[0] is not transaction:
        memo = (transaction, {})
        setattr(g, _SHOWN, memo)
    memo[1][user_id] = value
    return value


def _forget_shown(user_id: int) -> None:
    memo = g.get(_SHOWN) if has_app_context() else None
    if memo is not None:
        memo[1].pop(user_id, None)


def ledger_sum(user_id: int) -> int:
    return (
        db.session.scalar(
            db.select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
                LedgerEntry.user_id == user_id
            )
        )
        or 0
    )


def _ensure_wallet(user_id: int) -> None:
    if db.session.get(Wallet, user_id) is not None:
        return
    try:
        with db.session.begin_nested():
            db.session.add(Wallet(user_id=user_id, balance=0))
    except IntegrityError:
        pass  # created concurrently


def lock_wallet(user_id: int) -> int:
    """Serialise one user's money operations until the transaction ends (a row lock on
    PostgreSQL; SQLite's transactions already hold the write lock from BEGIN) and return the
    current balance, read fresh from the database: one statement when the wallet exists."""
    locked = db.select(Wallet.balance).where(Wallet.user_id == user_id).with_for_update()
    found = db.session.scalar(locked)
    if found is None:  # no wallet yet: create it, then lock it
        _ensure_wallet(user_id)
        found = db.session.scalar(locked)
    return found or 0


def _existing(reference: str, user_id: int, amount: int) -> Posted | None:
    entry = db.session.scalar(db.select(LedgerEntry).where(LedgerEntry.reference == reference))
    if entry is None:
        return None
    if entry.user_id != user_id or entry.amount != amount:
        raise LedgerConflict(f"reference {reference!r} was already used for another movement")
    return Posted(entry, created=False)


def post(
    user_id: int,
    amount: int,
    kind: str,
    reference: str,
    meta: dict | None = None,
    *,
    commit: bool = True,
) -> Posted:
    """Append a signed movement. With ``commit=False`` the caller owns the transaction."""
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise TypeError("ledger amounts are integer minor units")
    if amount == 0:
        raise MoneyError("a ledger movement needs a non-zero amount")
    if amount > 0:
        from kernel.accounts.models import User

        done = _existing(reference, user_id, amount)  # a repeated credit is not asked again
        if done:
            return done
        reason = call_veto(
            "veto_wallet_credit",
            user=db.session.get(User, user_id),
            amount=amount,
            reference=reference,
        )
        if reason:
            raise CreditRefused(reason)
    # The balance moves first (a refused debit has then written nothing, so no savepoint is
    # needed), then the entry is inserted unless its reference is taken: a repeated or racing
    # reference puts the balance back and returns the first entry.
    if not _move(user_id, amount):
        if amount < 0:
            done = _existing(reference, user_id, amount)  # posted before: not refused now
            if done:
                return done
            raise InsufficientFunds(f"the balance cannot cover {-amount} (minor units)")
        _ensure_wallet(user_id)  # a credit moves every existing wallet: this one is new
        if not _move(user_id, amount):
            raise RuntimeError(f"the wallet of user {user_id} could not be created")
    entry = _insert_entry(user_id, amount, kind, reference, meta or {})
    if entry is None:
        _move(user_id, -amount, guarded=False)
        done = _existing(reference, user_id, amount)
        if done is None:  # the conflicting entry is gone again: cannot happen, never guess
            raise LedgerConflict(f"reference {reference!r} conflicted but cannot be found")
        return done
    paid = _pay_debts(user_id, entry) if amount > 0 else ()
    wallet = db.session.identity_map.get(db.session.identity_key(Wallet, user_id))
    if wallet is not None:
        db.session.expire(wallet)  # the UPDATE bypassed the identity map
    _forget_shown(user_id)
    entry.pteroca_debt_payments = paid  # for changed(): not a column
    if commit:
        db.session.commit()
        changed(entry)
    return Posted(entry, created=True, debt_payments=paid)


def _move(user_id: int, amount: int, *, guarded: bool = True) -> bool:
    """Add ``amount`` to the wallet's balance; a guarded debit never takes it below zero.
    False: no wallet, or (a debit) not enough on it."""
    statement = update(Wallet).where(Wallet.user_id == user_id)
    if amount < 0 and guarded:
        statement = statement.where(Wallet.balance >= -amount)
    result = db.session.execute(
        statement.values(balance=Wallet.balance + amount).execution_options(
            synchronize_session=False
        )
    )
    return result.rowcount == 1


def _insert_entry(
    user_id: int, amount: int, kind: str, reference: str, meta: dict
) -> LedgerEntry | None:
    """Insert the entry in one statement, or None when its reference is already posted (the
    unique reference decides, whatever the isolation level)."""
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - pteroca runs on SQLite and PostgreSQL only
        raise RuntimeError(f"the ledger does not support {dialect}")
    statement = (
        insert(LedgerEntry)
        .values(
            user_id=user_id,
            amount=amount,
            kind=kind,
            reference=reference,
            meta=meta,
            created_at=clock.now(),
        )
        .on_conflict_do_nothing(index_elements=[LedgerEntry.reference])
        .returning(LedgerEntry)
    )
    return db.session.scalar(statement)


def _pay_debts(user_id: int, credit: LedgerEntry) -> tuple[LedgerEntry, ...]:
    """Pay the user's outstanding debts from the balance, oldest first (in post's transaction)."""
    owed = list(
        db.session.scalars(
            db.select(Debt)
            .where(Debt.user_id == user_id, Debt.outstanding > 0)
            .order_by(Debt.id)
            .with_for_update()
        )
    )
    if not owed:
        return ()
    available = db.session.scalar(db.select(Wallet.balance).where(Wallet.user_id == user_id)) or 0
    paid = []
    for debt in owed:
        take = min(available, debt.outstanding)
        if take <= 0:
            break
        entry = LedgerEntry(
            user_id=user_id,
            amount=-take,
            kind=DEBT_PAYMENT,
            reference=f"debt:{debt.id}:{credit.id}",
            meta={"debt": debt.id, "paid_by": credit.reference, "reason": debt.reason},
        )
        db.session.add(entry)
        db.session.flush()
        result = db.session.execute(
            update(Wallet)
            .where(Wallet.user_id == user_id, Wallet.balance >= take)
            .values(balance=Wallet.balance - take)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # the wallet row is locked: cannot happen, never overdraw
            raise InsufficientFunds(f"the balance cannot cover a debt payment of {take}")
        debt.outstanding -= take
        if debt.outstanding == 0:
            debt.settled_at = clock.now()
        available -= take
        paid.append(entry)
    return tuple(paid)


def changed(entry: LedgerEntry) -> None:
    """Fire ``wallet_changed`` for ``entry`` and the debt payments it made (call after the
    transaction holding it committed)."""
    from kernel.accounts.models import User

    user = db.session.get(User, entry.user_id)
    for each in (entry, *getattr(entry, "pteroca_debt_payments", ())):
        call_hook("wallet_changed", user=user, entry=each)


def credit(
    user_id: int,
    amount: int,
    kind: str,
    reference: str,
    meta: dict | None = None,
    *,
    commit: bool = True,
) -> Posted:
    if amount <= 0:
        raise MoneyError("a credit must be positive")
    return post(user_id, amount, kind, reference, meta, commit=commit)


def debit(
    user_id: int,
    amount: int,
    kind: str,
    reference: str,
    meta: dict | None = None,
    *,
    commit: bool = True,
) -> Posted:
    if amount <= 0:
        raise MoneyError("a debit must be positive")
    return post(user_id, -amount, kind, reference, meta, commit=commit)


def entries_page(user_id: int, args, default_size: int = 20):
    """One page of ``user_id``'s movements, newest first, from the cursor in ``args``
    (:mod:`kernel.paging`; the ``(user_id, id)`` index makes any page one index range).
    Raises :class:`~kernel.paging.PagingError` for a malformed cursor or page size."""
    from kernel import paging

    query = db.select(LedgerEntry).where(LedgerEntry.user_id == user_id)
    return paging.fetch(db.session, query, LedgerEntry.id, args, default_size)


def entries(user_id: int, limit: int = 50) -> list[LedgerEntry]:
    return list(
        db.session.scalars(
            db.select(LedgerEntry)
            .where(LedgerEntry.user_id == user_id)
            .order_by(LedgerEntry.id.desc())
            .limit(limit)
        )
    )


def invariant_violations() -> list[tuple[int, int, int]]:
    """Users whose cached balance differs from their ledger sum, or is negative: (user, balance, sum)."""
    sums = dict(
        db.session.execute(
            db.select(LedgerEntry.user_id, func.sum(LedgerEntry.amount)).group_by(
                LedgerEntry.user_id
            )
        ).all()
    )
    bad = []
    for wallet in db.session.scalars(db.select(Wallet)):
        total = int(sums.pop(wallet.user_id, 0) or 0)
        if wallet.balance != total or wallet.balance < 0:
            bad.append((wallet.user_id, wallet.balance, total))
    bad.extend((user, 0, int(total)) for user, total in sums.items() if total)
    return bad
