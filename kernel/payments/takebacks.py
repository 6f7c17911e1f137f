"""Money taken back after a payment was credited: refunds, chargebacks, and their undoing.

Each take-back is recorded once per provider id (the refund's, the dispute's or the
reversal's) under the payment's row lock, in the payment's meta (``refunds`` or
``reversals``), and its wallet share goes through :func:`kernel.payments.debts.take_or_owe`:
the balance pays what it can, the rest is a debt beside the wallet (never a negative
balance, never money silently forgotten). A reinstatement (a dispute won, a refund that
failed) gives back what the customer actually paid of it and forgives what is still owed.
"""

from __future__ import annotations

from flask import current_app

from kernel import audit, clock
from kernel.extensions import db
from kernel.hooks import call_hook
from kernel.payments import debts, ledger
from kernel.payments.models import Debt, Payment
from kernel.payments.money import format_amount
from kernel.payments.providers import ProviderError
from kernel.payments.settlement import SETTLED, PaymentError, checkout_provider, locked

REFUNDS, REVERSALS = "refunds", "reversals"  # the payment meta books
_LEDGER_KIND = {REFUNDS: "refund", REVERSALS: "chargeback"}


def wallet_share(payment: Payment, taken: int) -> int:
    """The part of a take-back owed by the wallet (credited/charged of it, half up)."""
    charged = payment.amount_charged
    return (taken * payment.amount_credited * 2 + charged) // (2 * charged)


def refund(
    payment: Payment, amount: int, *, force: bool = False, actor: str | None = None
) -> Payment:
    """Refund ``amount`` (charged currency, minor units) through the provider and take its wallet
    share back; with ``force``, what the balance cannot cover becomes a debt."""
    if payment.status == "charged_back":
        raise PaymentError(
            "the provider took this payment back (a chargeback); it cannot be refunded as well"
        )
    if payment.status not in SETTLED:
        raise PaymentError("only paid payments can be refunded")
    left = payment.amount_charged - payment.amount_refunded
    if amount <= 0 or amount > left:
        raise PaymentError(
            f"the refund must be between 0 and {format_amount(left, payment.currency)}"
        )
    share = wallet_share(payment, amount)
    available = ledger.balance(payment.user_id)
    if share > available and not force:
        raise PaymentError(
            f"the customer's balance ({format_amount(available, payment.currency)})"
            f" cannot cover {format_amount(share, payment.currency)}; force to "
            "refund anyway (the rest becomes a debt the customer owes)"
        )
    provider = checkout_provider(payment.provider)
    if not hasattr(provider, "refund"):
        raise PaymentError(f"{provider.display_name} does not support refunds from pteroca")
    db.session.commit()  # never hold a database transaction (SQLite: the write lock) over HTTP
    try:
        refund_id = provider.refund(payment=payment, amount=amount)
    except ProviderError as exc:
        raise PaymentError(f"{provider.display_name} refused the refund: {exc}") from None
    audit.record(
        "payment.refunded", str(payment.id), {"amount": amount, "force": force}, actor=actor
    )
    return record_refund(payment.provider, payment.external_id, refund_id, amount, source="admin")


def record_refund(
    provider: str, external_id: str, refund_id: str, amount: int, *, source: str
) -> Payment | None:
    """Record one provider refund once (by its id) and take its wallet share back; fire
    ``payment_refunded`` once per refund id (a replayed webhook changes nothing)."""
    return _take_back(
        provider, external_id, refund_id, amount, book=REFUNDS, source=source, why="refunded"
    )


def record_reversal(
    provider: str, external_id: str, reversal_id: str, amount: int, *, source: str, reason: str = ""
) -> Payment | None:
    """Record one chargeback, dispute or reversal once (by its id) and take its share back."""
    return _take_back(
        provider,
        external_id,
        reversal_id,
        amount,
        book=REVERSALS,
        source=source,
        why=reason or "taken back by the payment provider (chargeback)",
    )


def _take_back(
    provider: str, external_id: str, take_id: str, amount: int, *, book: str, source: str, why: str
) -> Payment | None:
    payment = locked(provider, external_id)
    if payment is None:
        db.session.rollback()
        return None
    records = dict((payment.meta or {}).get(book, {}))
    if take_id in records or amount <= 0:
        db.session.commit()
        return payment
    taken = min(amount, payment.amount_charged - payment.amount_refunded)
    share = wallet_share(payment, taken) if taken > 0 else 0
    result = None
    if share > 0:
        kind = _LEDGER_KIND[book]
        result = debts.take_or_owe(
            payment.user_id,
            share,
            kind,
            f"{kind}:{provider}:{take_id}",
            {"payment": payment.id, "provider": provider},
            payment_id=payment.id,
            reason=f"payment #{payment.id} {why}",
        )
    records[take_id] = {
        "amount": taken,
        "debited": result.taken if result else 0,
        "owed": result.owed if result else 0,
        "source": source,
        "at": clock.now().isoformat(timespec="seconds"),
    }
    payment.meta = {**(payment.meta or {}), book: records}
    payment.amount_refunded += taken
    payment.status = status_of(payment)
    db.session.commit()
    if result is not None:
        debts.announce(result)
    if book == REVERSALS:
        audit.record(
            "payment.reversed",
            str(payment.id),
            {"id": take_id, "amount": taken, "source": source},
            actor="system",
        )
    if taken > 0:  # committed: a listener (the invoices plugin's credit note) sees it settled
        call_hook(
            "payment_refunded",
            payment=payment,
            amount=taken,
            refund_id=take_id,
            kind=_LEDGER_KIND[book],
        )
    return payment


def reinstate(provider: str, external_id: str, take_id: str, *, source: str) -> Payment | None:
    """Undo a recorded reversal or refund the provider gave back (a dispute won, a refund that
    failed): forgive what is still owed of it and credit back what the customer paid of it."""
    payment = locked(provider, external_id)
    if payment is None:
        db.session.rollback()
        return None
    book = next(
        (b for b in (REVERSALS, REFUNDS) if take_id in (payment.meta or {}).get(b, {})), None
    )
    record = dict(payment.meta[book][take_id]) if book else None
    if record is None or record.get("reinstated"):
        db.session.commit()
        return payment
    reference = f"{_LEDGER_KIND[book]}:{provider}:{take_id}"
    debt = db.session.scalar(db.select(Debt).where(Debt.reference == reference).with_for_update())
    paid_of_debt = (debt.amount - debt.outstanding - debt.forgiven) if debt else 0
    forgiven = (
        debts.forgive(debt, debt.outstanding, why="the provider gave the money back") if debt else 0
    )
    give_back = record["debited"] + paid_of_debt
    posted = None
    if give_back > 0:
        try:
            posted = ledger.credit(
                payment.user_id,
                give_back,
                "reinstated",
                f"reinstated:{provider}:{take_id}",
                {"payment": payment.id, "provider": provider},
                commit=False,
            )
        except ledger.CreditRefused as exc:  # a plugin's veto: staff settle it by hand
            current_app.logger.error(
                "payment %s: reinstatement of %s refused: %s", payment.id, take_id, exc
            )
            give_back = 0
    record["reinstated"] = {"credited": give_back, "forgiven": forgiven, "source": source}
    payment.meta = {**payment.meta, book: {**payment.meta[book], take_id: record}}
    payment.amount_refunded = max(0, payment.amount_refunded - record["amount"])
    payment.status = status_of(payment)
    db.session.commit()
    if posted is not None and posted.created:
        ledger.changed(posted.entry)
    audit.record(
        "payment.reinstated",
        str(payment.id),
        {"id": take_id, "credited": give_back, "forgiven": forgiven},
        actor="system",
    )
    return payment


def status_of(payment: Payment) -> str:
    """A settled payment's status from what was taken back of it."""
    reversals = (payment.meta or {}).get(REVERSALS, {})
    if any(not r.get("reinstated") for r in reversals.values()):
        return "charged_back"
    if payment.amount_refunded >= payment.amount_charged:
        return "refunded"
    return "partially_refunded" if payment.amount_refunded > 0 else "paid"
