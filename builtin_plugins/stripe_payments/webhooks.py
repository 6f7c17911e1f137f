"""Stripe webhooks: verify the signature, then map the events pteroca settles on.

``checkout.session.completed`` (paid only when ``payment_status`` is ``paid``; a
delayed method such as SEPA Debit completes unpaid first),
``checkout.session.async_payment_succeeded``/``_failed``, ``checkout.session.expired``,
``charge.refunded`` (one event per refund, also those made in the Stripe dashboard),
disputes (``charge.dispute.created`` and ``charge.dispute.funds_withdrawn`` take the
disputed amount back once per dispute; ``charge.dispute.funds_reinstated`` and a dispute
closed as ``won`` give it back; ``charge.dispute.closed`` as ``lost`` takes it back if
nothing did before), and refunds that failed after all (``charge.refund.updated``,
``refund.updated``, ``refund.failed`` with status ``failed`` or ``canceled``: the money
came back). Anything else is acknowledged and ignored.

The signature is checked in the web request (:func:`accept`, no network); the rest runs in
a job (:func:`events_of`), where looking a charge's session up at Stripe is allowed.
"""

from __future__ import annotations

import json
import time
from typing import Any

import stripe

from builtin_plugins.stripe_payments.client import StripeSettings, field, make_client, stripe_errors
from kernel import (
    EXPIRED,
    FAILED,
    PAID,
    REINSTATED,
    REVERSED,
    ProviderError,
    WebhookError,
    WebhookEvent,
    WebhookReceipt,
)

TOLERANCE_SECONDS = 300
SIGNATURE_HEADER = "stripe-signature"
REFUND_STATES = ("succeeded", "pending")  # a failed or canceled refund gave nothing back
SESSION_EVENTS = (
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "checkout.session.expired",
)
DISPUTE_EVENTS = (
    "charge.dispute.created",
    "charge.dispute.funds_withdrawn",
    "charge.dispute.funds_reinstated",
    "charge.dispute.closed",
)
REFUND_UPDATES = ("charge.refund.updated", "refund.updated", "refund.failed")
HANDLED = SESSION_EVENTS + DISPUTE_EVENTS + REFUND_UPDATES + ("charge.refunded",)
INQUIRY = "warning_"  # dispute statuses of an inquiry: no money moves
UNDONE_REFUND = ("failed", "canceled")


def parse(body: bytes, headers: dict[str, str], settings: StripeSettings) -> list[WebhookEvent]:
    """Verify and normalise in one go (what the web request used to do)."""
    return events_of(verify(body, headers, settings), settings)


def accept(body: bytes, headers: dict[str, str], settings: StripeSettings) -> WebhookReceipt | None:
    """The web request's part: the signature (no network). None for events pteroca ignores."""
    event = verify(body, headers, settings)
    kind, event_id = field(event, "type", ""), field(event, "id")
    if kind not in HANDLED:
        return None
    if not isinstance(event_id, str) or not event_id:
        raise WebhookError("the Stripe event has no id")
    return WebhookReceipt(event_id=event_id, event_type=kind, verified=True)


def recorded(body: bytes) -> Any:
    """An event whose signature :func:`accept` verified when it arrived (the job's part: the
    signature's five-minute tolerance would refuse a delivery the job runs later)."""
    try:
        event = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise WebhookError(f"the recorded Stripe event is not JSON: {exc}") from None
    if not isinstance(event, dict) or not isinstance(event.get("data"), dict):
        raise WebhookError("the recorded Stripe event has no data")
    return event


def events_of(event: Any, settings: StripeSettings) -> list[WebhookEvent]:
    """The normalised events of one verified Stripe event (may ask Stripe's API)."""
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
    if kind in DISPUTE_EVENTS:
        return _dispute_events(kind, obj, raw, settings)
    if kind in REFUND_UPDATES:
        return _undone_refund(obj, raw, settings)
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
        event = stripe.Webhook.construct_event(
            body, signature, settings.webhook_secret, tolerance=TOLERANCE_SECONDS
        )
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
                raise WebhookError(
                    "the Stripe signature's timestamp is in the future, beyond "
                    f"the tolerance of {TOLERANCE_SECONDS} seconds"
                )


def _session_event(kind: str, session: Any, raw: dict, reason: str = "") -> WebhookEvent:
    session_id = field(session, "id")
    if not isinstance(session_id, str):
        raise WebhookError("the Stripe event carries no Checkout Session id")
    currency = field(session, "currency")
    return WebhookEvent(
        kind=kind,
        external_id=session_id,
        amount=field(session, "amount_total"),
        currency=currency.upper() if currency else None,
        reason=reason,
        raw=raw,
    )


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
    except ProviderError as exc:  # the job records it and tries again later
        raise ProviderError(f"could not look up the refunded charge: {exc}") from None
    currency = field(charge, "currency")
    return [
        WebhookEvent(
            kind="refunded",
            external_id=session_id,
            amount=field(r, "amount"),
            currency=currency.upper() if currency else None,
            refund_id=field(r, "id"),
            raw=raw,
        )
        for r in refunds
        if field(r, "status") in REFUND_STATES and field(r, "id")
    ]


def _dispute_events(
    kind: str, dispute: Any, raw: dict, settings: StripeSettings
) -> list[WebhookEvent]:
    """A dispute takes its amount back once (by dispute id) and gives it back if won."""
    dispute_id, status = field(dispute, "id"), str(field(dispute, "status", ""))
    if not isinstance(dispute_id, str) or not dispute_id:
        raise WebhookError("the Stripe dispute event carries no dispute id")
    if kind == "charge.dispute.funds_reinstated" or (
        kind == "charge.dispute.closed" and status == "won"
    ):
        what = REINSTATED
    elif (
        kind == "charge.dispute.funds_withdrawn"
        or status == "lost"
        or (kind == "charge.dispute.created" and not status.startswith(INQUIRY))
    ):
        what = REVERSED
    else:
        return []  # an inquiry, or a closed inquiry: Stripe moved no money
    session_id = _session_of_payment(
        field(dispute, "payment_intent"), field(dispute, "charge"), settings
    )
    if session_id is None:
        return []  # a charge pteroca did not start
    currency = field(dispute, "currency")
    reason = str(field(dispute, "reason", "") or "").replace("_", " ")
    return [
        WebhookEvent(
            kind=what,
            external_id=session_id,
            amount=field(dispute, "amount"),
            currency=currency.upper() if currency else None,
            refund_id=dispute_id,
            reason=f"disputed at Stripe ({reason or 'chargeback'})",
            raw=raw,
        )
    ]


def _undone_refund(refund: Any, raw: dict, settings: StripeSettings) -> list[WebhookEvent]:
    """A refund that failed or was canceled after it was recorded: the money came back."""
    if field(refund, "status") not in UNDONE_REFUND or not field(refund, "id"):
        return []
    session_id = _session_of_payment(
        field(refund, "payment_intent"), field(refund, "charge"), settings
    )
    if session_id is None:
        return []
    return [
        WebhookEvent(
            kind=REINSTATED,
            external_id=session_id,
            refund_id=field(refund, "id"),
            amount=field(refund, "amount"),
            raw=raw,
        )
    ]


def _session_of_payment(intent: Any, charge: Any, settings: StripeSettings) -> str | None:
    """The Checkout Session of a payment intent (or of a charge's intent), asking Stripe."""
    try:
        client = make_client(settings)
        intent_id = intent if isinstance(intent, str) else field(intent, "id")
        if not intent_id and charge:
            charge_id = charge if isinstance(charge, str) else field(charge, "id")
            with stripe_errors(settings, f"look up charge {charge_id}"):
                intent_id = field(client.v1.charges.retrieve(charge_id), "payment_intent")
        if not intent_id:
            return None  # a charge outside Checkout: not a top-up
        if not isinstance(intent_id, str):
            intent_id = field(intent_id, "id")
        return _session_for(client, intent_id, settings)
    except ProviderError as exc:  # the job tries again later
        raise ProviderError(f"could not look up the disputed payment: {exc}") from None


def _session_for(
    client: stripe.StripeClient, intent_id: str, settings: StripeSettings
) -> str | None:
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
