"""Stripe webhooks: verify the signature, then map the events pteroca settles on.

``checkout.session.completed`` (paid only when ``payment_status`` is ``paid``; a
delayed method such as SEPA Debit completes unpaid first),
``checkout.session.async_payment_succeeded``/``_failed``, ``checkout.session.expired``
and ``charge.refunded`` (one event per refund, also those made in the Stripe
dashboard). Anything else is acknowledged and ignored.
"""

from __future__ import annotations

import time
from typing import Any

import stripe

from builtin_plugins.stripe_payments.client import StripeSettings, field, make_client, stripe_errors
from kernel.payments.providers import (
    EXPIRED,
    FAILED,
    PAID,
    ProviderError,
    WebhookError,
    WebhookEvent,
)

TOLERANCE_SECONDS = 300
SIGNATURE_HEADER = "stripe-signature"
REFUND_STATES = ("succeeded", "pending")  # a failed or canceled refund gave nothing back


def parse(body: bytes, headers: dict[str, str], settings: StripeSettings) -> list[WebhookEvent]:
    event = verify(body, headers, settings)
    kind, obj = field(event, "type", ""), field(field(event, "data", {}), "object", {})
    raw = {"event": field(event, "id"), "type": kind}
    if kind in ("checkout.session.completed", "checkout.session.async_payment_succeeded"):
        if field(obj, "payment_status") != "paid":
            return []  # a delayed payment method: async_payment_succeeded/failed follows
        return [_session_event(PAID, obj, raw)]
    if kind == "checkout.session.async_payment_failed":
        return [_session_event(FAILED, obj, raw, "the payment failed at Stripe")]
    if kind == "checkout.session.expired":
        return [_session_event(EXPIRED, obj, raw, "the Checkout Session expired")]
    if kind == "charge.refunded":
        return _refund_events(obj, raw, settings)
    return []


def verify(body: bytes, headers: dict[str, str], settings: StripeSettings) -> Any:
    """The event, if ``body`` carries a valid, recent signature of our webhook secret."""
    if not settings.webhook_secret:
        raise WebhookError("no Stripe webhook signing secret is configured")
    signature = next((v for k, v in headers.items() if k.lower() == SIGNATURE_HEADER), "")
    if not signature:
        raise WebhookError("the Stripe-Signature header is missing")
    _refuse_future(signature)
    try:
        event = stripe.Webhook.construct_event(body, signature, settings.webhook_secret,
                                               tolerance=TOLERANCE_SECONDS)
    except stripe.SignatureVerificationError as exc:
        raise WebhookError(f"the Stripe signature does not verify: {exc.user_message}") from None
    except (ValueError, AttributeError, TypeError) as exc:  # not UTF-8, not JSON, not an event
        raise WebhookError(f"the Stripe webhook body is not a valid event: {exc}") from None
    if not isinstance(field(event, "type"), str) or not field(event, "data"):
        raise WebhookError("the Stripe webhook body is not a valid event: no type or data")
    return event


def _refuse_future(signature: str) -> None:
    """Refuse a signature stamped more than the tolerance ahead of our clock. Stripe's
    library refuses old stamps only; a future one would stay replayable for that long."""
    for item in signature.split(","):
        key, _sep, value = item.strip().partition("=")
        if key == "t":
            try:
                stamp = int(value)
            except ValueError:
                raise WebhookError("the Stripe signature's timestamp is not a number") from None
            if stamp > time.time() + TOLERANCE_SECONDS:
                raise WebhookError("the Stripe signature's timestamp is in the future, beyond "
                                   f"the tolerance of {TOLERANCE_SECONDS} seconds")


def _session_event(kind: str, session: Any, raw: dict, reason: str = "") -> WebhookEvent:
    session_id = field(session, "id")
    if not isinstance(session_id, str):
        raise WebhookError("the Stripe event carries no Checkout Session id")
    currency = field(session, "currency")
    return WebhookEvent(kind=kind, external_id=session_id, amount=field(session, "amount_total"),
                        currency=currency.upper() if currency else None, reason=reason, raw=raw)


def _refund_events(charge: Any, raw: dict, settings: StripeSettings) -> list[WebhookEvent]:
    intent = field(charge, "payment_intent")
    if not intent:
        return []  # a charge outside Checkout: not a top-up
    intent_id = intent if isinstance(intent, str) else field(intent, "id")
    try:
        client = make_client(settings)
        session_id = _session_for(client, intent_id, settings)
        if session_id is None:
            return []  # a payment that pteroca did not start
        refunds = _refunds_of(client, charge, settings)
    except ProviderError as exc:  # answered 400: Stripe delivers the event again later
        raise WebhookError(f"could not look up the refunded charge: {exc}") from None
    currency = field(charge, "currency")
    return [WebhookEvent(kind="refunded", external_id=session_id, amount=field(r, "amount"),
                         currency=currency.upper() if currency else None,
                         refund_id=field(r, "id"), raw=raw)
            for r in refunds if field(r, "status") in REFUND_STATES and field(r, "id")]


def _session_for(client: stripe.StripeClient, intent_id: str,
                 settings: StripeSettings) -> str | None:
    with stripe_errors(settings, f"find the Checkout Session of {intent_id}"):
        found = client.v1.checkout.sessions.list(params={"payment_intent": intent_id, "limit": 1})
    sessions = field(found, "data", [])
    return field(sessions[0], "id") if sessions else None


def _refunds_of(client: stripe.StripeClient, charge: Any, settings: StripeSettings) -> list[Any]:
    """Every refund of the charge: the event's own list when complete, else from the API.

    Since API version 2022-11-15 a charge no longer embeds its refunds, so usually the API.
    """
    embedded = field(charge, "refunds")
    if embedded and not field(embedded, "has_more", False) and field(embedded, "data") is not None:
        return list(field(embedded, "data", []))
    charge_id = field(charge, "id")
    with stripe_errors(settings, f"list the refunds of {charge_id}"):
        page = client.v1.refunds.list(params={"charge": charge_id, "limit": 100})
        return list(page.auto_paging_iter())
