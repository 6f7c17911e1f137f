"""Top-ups and their settlement: the one place a payment turns into wallet money.

Whichever arrives first (the provider's webhook, the customer's return page, a
"check again", or the convergence task asking the provider) settles the payment;
the others find it settled. The payment row is locked while it settles and the
ledger reference is unique per payment, so a payment is credited exactly once
however often anything is replayed. Money taken back later (refunds, chargebacks)
is :mod:`kernel.payments.takebacks`.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from flask import current_app

from kernel import audit, clock, site_settings
from kernel.extensions import db
from kernel.hooks import GENERIC_REFUSAL, answers, call_hook, is_objection, report_failure
from kernel.payments import ledger
from kernel.payments.models import Payment
from kernel.payments.money import MoneyError
from kernel.payments.providers import (
    EXPIRED,
    FAILED,
    OPEN,
    PAID,
    CheckoutProvider,
    ProviderError,
    SessionStatus,
    get_provider,
)

SETTLED = ("paid", "refunded", "partially_refunded", "charged_back")
# Payment meta keys the kernel writes; the rest came from ``topup_adjustment`` (kept by a retry).
KERNEL_META = frozenset(
    {
        "settled_by",
        "refunds",
        "reversals",
        "converge",
        "checkout_expires_at",
        "request_nonce",
        "continued_as",
        "continues",
        "last_check",
    }
)
# How long before a checkout's own expiry "Continue payment" starts a new one instead.
EXPIRY_MARGIN = timedelta(minutes=2)


class PaymentError(MoneyError):
    """A payment action that cannot be done; the message is shown to the user."""


def locked(provider: str, external_id: str) -> Payment | None:
    """The payment with this provider id, its row locked for this transaction."""
    return db.session.scalar(
        db.select(Payment)
        .where(Payment.provider == provider, Payment.external_id == external_id)
        .with_for_update()
    )


def checkout_provider(identifier: str) -> CheckoutProvider:
    provider = get_provider(identifier)
    if not isinstance(provider, CheckoutProvider):
        raise PaymentError(f"the payment method {identifier!r} is not available")
    return provider


def start_topup(
    user,
    amount: int,
    provider_id: str,
    *,
    return_urls,
    charge: int | None = None,
    meta: dict | None = None,
) -> Payment:
    """Create an open payment and its provider checkout; return it with ``checkout_url`` set.

    ``return_urls(payment)`` gives the (success, cancel) URLs for the new payment.
    ``charge`` is what the customer pays when it differs from the credited ``amount``
    (a top-up discount).
    """
    currency = site_settings.get("currency")
    provider = checkout_provider(provider_id)
    if not provider.is_configured() or currency not in provider.currencies:
        raise PaymentError(f"{provider.display_name} cannot take {currency} payments right now")
    if amount <= 0 or (charge is not None and charge <= 0):
        raise PaymentError("the amount must be more than zero")
    payment = Payment(
        user_id=user.id,
        provider=provider.identifier,
        status=OPEN,
        currency=currency,
        amount_charged=amount if charge is None else charge,
        amount_credited=amount,
        amount_refunded=0,
        meta={**(meta or {}), "request_nonce": secrets.token_hex(6)},
    )
    db.session.add(payment)
    db.session.commit()
    success_url, cancel_url = return_urls(payment)
    try:
        checkout = provider.create_checkout(
            payment=payment, success_url=success_url, cancel_url=cancel_url
        )
    except ProviderError as exc:
        payment.status, payment.failure_reason = FAILED, str(exc)
        db.session.commit()
        raise PaymentError(f"{provider.display_name} is not available right now: {exc}") from None
    payment.external_id, payment.checkout_url = checkout.external_id, checkout.redirect_url
    if checkout.expires_at is not None:
        payment.meta = {**payment.meta, "checkout_expires_at": checkout.expires_at.isoformat()}
    db.session.commit()
    audit.record(
        "payment.started",
        str(payment.id),
        {"provider": provider.identifier, "amount": payment.amount_charged},
    )
    return payment


def topup_terms(user, amount: int, form) -> tuple[int, int | None, dict]:
    """(credit, charge or None, meta) for a top-up of ``amount``, after the plugins'
    ``topup_adjustment`` (a voucher field on the form, say); raises PaymentError on a refusal.

    Like a veto, every plugin is asked until one refuses (a reason string; one that raises
    refuses with the generic reason); the first adjustment (a dict) applies and later ones are
    ignored with a warning, since two discounts on one top-up would need a rule nobody wrote.
    """
    answer, adjuster = None, ""
    for name, given, error in answers("topup_adjustment", user=user, amount=amount, form=form):
        if error is not None:
            raise PaymentError(str(GENERIC_REFUSAL))
        if not is_objection(given):
            continue
        if isinstance(given, dict):
            if answer is None:
                answer, adjuster = given, name
            else:
                current_app.logger.warning("plugin %s: a second topup_adjustment was ignored", name)
            continue
        raise PaymentError(str(GENERIC_REFUSAL) if given is True else str(given))
    if answer is None:
        return amount, None, {}
    try:
        credit, charge = _whole(answer.get("credit", amount)), _whole(answer.get("charge", amount))
    except (TypeError, ValueError) as exc:
        report_failure(adjuster, "topup_adjustment", exc)
        raise PaymentError(str(GENERIC_REFUSAL)) from None
    if credit <= 0 or charge <= 0:
        raise PaymentError("the amount must be more than zero")
    return credit, charge, dict(answer.get("meta") or {})


def _whole(value) -> int:
    """Minor units from a plugin's answer: an int (not a bool, not a float with a fraction)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"topup_adjustment amounts are integer minor units, not {value!r:.60}")
    return value


def checkout_usable(payment: Payment) -> bool:
    """Whether the customer can still pay at the payment's checkout page."""
    if payment.status != OPEN or not payment.checkout_url:
        return False
    expires = (payment.meta or {}).get("checkout_expires_at")
    if not expires:
        return True
    return clock.now() + EXPIRY_MARGIN < datetime.fromisoformat(expires)


def continue_topup(payment: Payment, user, *, return_urls) -> Payment:
    """ "Continue payment": the payment itself while its checkout is usable, else a new top-up
    for the same amounts (the old one is left to expire: the convergence task closes it)."""
    if checkout_usable(payment):
        return payment
    if payment.status not in (OPEN, EXPIRED, FAILED):
        raise PaymentError("this payment is already settled; nothing is left to pay")
    follow = (payment.meta or {}).get("continued_as")
    if follow:
        newer = db.session.get(Payment, follow)
        if newer is not None and checkout_usable(newer):
            return newer
    meta = {k: v for k, v in (payment.meta or {}).items() if k not in KERNEL_META}
    charge = payment.amount_charged if payment.amount_charged != payment.amount_credited else None
    new = start_topup(
        user,
        payment.amount_credited,
        payment.provider,
        return_urls=return_urls,
        charge=charge,
        meta={**meta, "continues": payment.id},
    )
    payment.meta = {**(payment.meta or {}), "continued_as": new.id}
    db.session.commit()
    return new


def settle(
    provider: str, external_id: str, status: SessionStatus, *, source: str
) -> Payment | None:
    """Apply a provider-reported status to the payment; None when the payment is unknown."""
    payment = locked(provider, external_id)
    if payment is None:
        db.session.rollback()
        return None
    if status.status == PAID:
        return _settle_paid(payment, status, source)
    if status.status in (FAILED, EXPIRED) and payment.status == OPEN:
        payment.status, payment.failure_reason = status.status, status.reason
    db.session.commit()
    return payment


def _settle_paid(payment: Payment, status: SessionStatus, source: str) -> Payment:
    if payment.status in SETTLED:
        db.session.commit()
        return payment
    mismatch = (status.amount is not None and status.amount != payment.amount_charged) or (
        status.currency and status.currency.upper() != payment.currency
    )
    if mismatch:
        payment.status = FAILED
        payment.failure_reason = (
            f"provider reported {status.amount} {status.currency}, expected "
            f"{payment.amount_charged} {payment.currency}; not credited"
        )
        db.session.commit()
        current_app.logger.error("payment %s: %s", payment.id, payment.failure_reason)
        return payment
    try:
        posted = ledger.credit(
            payment.user_id,
            payment.amount_credited,
            "topup",
            f"payment:{payment.id}",
            {"payment": payment.id, "provider": payment.provider},
            commit=False,
        )
    except ledger.CreditRefused as exc:
        payment.status, payment.failure_reason = FAILED, f"refused: {exc}"
        db.session.commit()
        return payment
    # A payment that failed or expired here and was paid after all: the old reason is stale.
    payment.status, payment.settled_at, payment.failure_reason = PAID, clock.now(), ""
    payment.meta = {**(payment.meta or {}), "settled_by": source}
    db.session.commit()
    if posted.created:
        ledger.changed(posted.entry)
    audit.record(
        "payment.settled", str(payment.id), {"source": source, "credited": payment.amount_credited}
    )
    call_hook("payment_settled", payment=payment)
    return payment


def ask_provider(payment: Payment) -> SessionStatus:
    """The provider's word on the payment now (a network call: never inside a transaction)."""
    provider = checkout_provider(payment.provider)
    db.session.commit()  # never hold a database transaction (SQLite: the write lock) over HTTP
    return provider.session_status(payment.external_id)


def refresh(payment: Payment, *, source: str = "return") -> Payment:
    """Ask the provider for the session's status now and settle on it."""
    if payment.status != OPEN or not payment.external_id:
        return payment
    provider = checkout_provider(payment.provider)
    try:
        status = ask_provider(payment)
    except ProviderError as exc:
        raise PaymentError(
            f"could not check the payment with {provider.display_name}: {exc}"
        ) from None
    return settle(payment.provider, payment.external_id, status, source=source) or payment
