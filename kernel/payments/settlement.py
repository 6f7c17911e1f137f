"""Top-ups and their settlement: the one place a payment turns into wallet money.

Whichever arrives first (the provider's webhook, the customer's return page, or a
manual "check again") settles the payment; the others find it settled. The
payment row is locked while it settles and the ledger reference is unique per
payment, so a payment is credited exactly once however often anything is replayed.
"""

from __future__ import annotations

from flask import current_app

from kernel import audit, site_settings
from kernel.extensions import db
from kernel.hooks import GENERIC_REFUSAL, answers, call_hook, is_objection, report_failure
from kernel.models import utcnow
from kernel.payments import ledger
from kernel.payments.models import Payment
from kernel.payments.money import MoneyError, format_amount
from kernel.payments.providers import (EXPIRED, FAILED, OPEN, PAID, CheckoutProvider, ProviderError,
                                       SessionStatus, WebhookError, get_provider)

SETTLED = ("paid", "refunded", "partially_refunded")


class PaymentError(MoneyError):
    """A payment action that cannot be done; the message is shown to the user."""


def _locked(provider: str, external_id: str) -> Payment | None:
    return db.session.scalar(db.select(Payment).where(
        Payment.provider == provider, Payment.external_id == external_id).with_for_update())


def _checkout_provider(identifier: str) -> CheckoutProvider:
    provider = get_provider(identifier)
    if not isinstance(provider, CheckoutProvider):
        raise PaymentError(f"the payment method {identifier!r} is not available")
    return provider


def start_topup(user, amount: int, provider_id: str, *, return_urls, charge: int | None = None,
                meta: dict | None = None) -> Payment:
    """Create an open payment and its provider checkout; return it with ``checkout_url`` set.

    ``return_urls(payment)`` gives the (success, cancel) URLs for the new payment.
    ``charge`` is what the customer pays when it differs from the credited ``amount``
    (a top-up discount).
    """
    currency = site_settings.get("currency")
    provider = _checkout_provider(provider_id)
    if not provider.is_configured() or currency not in provider.currencies:
        raise PaymentError(f"{provider.display_name} cannot take {currency} payments right now")
    if amount <= 0 or (charge is not None and charge <= 0):
        raise PaymentError("the amount must be more than zero")
    payment = Payment(user_id=user.id, provider=provider.identifier, status=OPEN, currency=currency,
                      amount_charged=amount if charge is None else charge, amount_credited=amount,
                      amount_refunded=0, meta=meta or {})
    db.session.add(payment)
    db.session.commit()
    success_url, cancel_url = return_urls(payment)
    try:
        checkout = provider.create_checkout(payment=payment, success_url=success_url,
                                            cancel_url=cancel_url)
    except ProviderError as exc:
        payment.status, payment.failure_reason = FAILED, str(exc)
        db.session.commit()
        raise PaymentError(f"{provider.display_name} is not available right now: {exc}") from None
    payment.external_id, payment.checkout_url = checkout.external_id, checkout.redirect_url
    db.session.commit()
    audit.record("payment.started", str(payment.id), {"provider": provider.identifier,
                                                      "amount": payment.amount_charged})
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
                current_app.logger.warning("plugin %s: a second topup_adjustment was ignored",
                                           name)
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


def settle(provider: str, external_id: str, status: SessionStatus, *, source: str) -> Payment | None:
    """Apply a provider-reported status to the payment; None when the payment is unknown."""
    payment = _locked(provider, external_id)
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
    mismatch = ((status.amount is not None and status.amount != payment.amount_charged)
                or (status.currency and status.currency.upper() != payment.currency))
    if mismatch:
        payment.status = FAILED
        payment.failure_reason = (f"provider reported {status.amount} {status.currency}, expected "
                                  f"{payment.amount_charged} {payment.currency}; not credited")
        db.session.commit()
        current_app.logger.error("payment %s: %s", payment.id, payment.failure_reason)
        return payment
    try:
        posted = ledger.credit(payment.user_id, payment.amount_credited, "topup",
                               f"payment:{payment.id}", {"payment": payment.id,
                                                         "provider": payment.provider}, commit=False)
    except ledger.CreditRefused as exc:
        payment.status, payment.failure_reason = FAILED, f"refused: {exc}"
        db.session.commit()
        return payment
    payment.status, payment.settled_at = PAID, utcnow()
    payment.meta = {**(payment.meta or {}), "settled_by": source}
    db.session.commit()
    if posted.created:
        ledger.changed(posted.entry)
    audit.record("payment.settled", str(payment.id), {"source": source,
                                                      "credited": payment.amount_credited})
    call_hook("payment_settled", payment=payment)
    return payment


def refresh(payment: Payment, *, source: str = "return") -> Payment:
    """Ask the provider for the session's status now (return page, "check again")."""
    if payment.status != OPEN or not payment.external_id:
        return payment
    provider = _checkout_provider(payment.provider)
    db.session.commit()  # never hold a database transaction (SQLite: the write lock) over HTTP
    try:
        status = provider.session_status(payment.external_id)
    except ProviderError as exc:
        raise PaymentError(f"could not check the payment with {provider.display_name}: {exc}") from None
    return settle(payment.provider, payment.external_id, status, source=source) or payment


def handle_webhook(provider_id: str, body: bytes, headers: dict[str, str]) -> int:
    """Verify and apply a provider webhook; return how many events were applied.

    Raises :class:`WebhookError` for anything not authentic or malformed (a 400, nothing changed).
    """
    provider = _checkout_provider(provider_id)
    events = provider.parse_webhook(body=body, headers=headers)
    applied = 0
    for event in events:
        if event.kind in (PAID, FAILED, EXPIRED):
            status = SessionStatus(event.kind, event.amount, event.currency, event.reason)
            applied += settle(provider_id, event.external_id, status, source="webhook") is not None
        elif event.kind == "refunded" and event.refund_id:
            applied += record_refund(provider_id, event.external_id, event.refund_id,
                                     event.amount or 0, source="webhook") is not None
        else:
            raise WebhookError(f"unsupported event {event.kind!r}")
    return applied


def _wallet_share(payment: Payment, refunded: int) -> int:
    """The part of a refund taken back from the wallet (credited/charged of it, half up)."""
    return (refunded * payment.amount_credited * 2 + payment.amount_charged) // (2 * payment.amount_charged)


def refund(payment: Payment, amount: int, *, force: bool = False, actor: str | None = None) -> Payment:
    """Refund ``amount`` (charged currency, minor units) through the provider and debit the wallet."""
    if payment.status not in SETTLED:
        raise PaymentError("only paid payments can be refunded")
    left = payment.amount_charged - payment.amount_refunded
    if amount <= 0 or amount > left:
        raise PaymentError(f"the refund must be between 0 and {format_amount(left, payment.currency)}")
    debit = _wallet_share(payment, amount)
    available = ledger.balance(payment.user_id)
    if debit > available and not force:
        raise PaymentError(f"the customer's balance ({format_amount(available, payment.currency)}) "
                           f"cannot cover {format_amount(debit, payment.currency)}; force to refund anyway")
    provider = _checkout_provider(payment.provider)
    if not hasattr(provider, "refund"):
        raise PaymentError(f"{provider.display_name} does not support refunds from pteroca")
    db.session.commit()  # never hold a database transaction (SQLite: the write lock) over HTTP
    try:
        refund_id = provider.refund(payment=payment, amount=amount)
    except ProviderError as exc:
        raise PaymentError(f"{provider.display_name} refused the refund: {exc}") from None
    audit.record("payment.refunded", str(payment.id), {"amount": amount, "force": force}, actor=actor)
    return record_refund(payment.provider, payment.external_id, refund_id, amount, source="admin")


def record_refund(provider: str, external_id: str, refund_id: str, amount: int, *,
                  source: str) -> Payment | None:
    """Record one provider refund once (by its id): debit the wallet, at most down to zero,
    then fire ``payment_refunded`` (once per refund id: a replayed webhook changes nothing)."""
    payment = _locked(provider, external_id)
    if payment is None:
        db.session.rollback()
        return None
    refunds = dict((payment.meta or {}).get("refunds", {}))
    if refund_id in refunds or amount <= 0:
        db.session.commit()
        return payment
    wanted = _wallet_share(payment, amount)
    taken = min(wanted, ledger.balance(payment.user_id))
    posted = None
    if taken > 0:
        posted = ledger.debit(payment.user_id, taken, "refund", f"refund:{provider}:{refund_id}",
                              {"payment": payment.id, "shortfall": wanted - taken}, commit=False)
    refunds[refund_id] = {"amount": amount, "debited": taken, "source": source}
    payment.meta = {**(payment.meta or {}), "refunds": refunds}
    payment.amount_refunded = min(payment.amount_charged, payment.amount_refunded + amount)
    payment.status = "refunded" if payment.amount_refunded >= payment.amount_charged else "partially_refunded"
    db.session.commit()
    if posted and posted.created:
        ledger.changed(posted.entry)
    call_hook("payment_refunded", payment=payment, amount=amount, refund_id=refund_id,
              kind="refund")
    return payment
