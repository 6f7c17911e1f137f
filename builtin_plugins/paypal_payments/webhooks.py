"""PayPal webhooks: verified by PayPal itself, then turned into normalised events.

PayPal signs with a certificate chain; the plugin asks PayPal to check the signature
(``POST /v1/notifications/verify-webhook-signature``) and sends the event exactly as it
arrived, byte for byte, because PayPal verifies the bytes it signed. That is a network
call, so it happens in the job that processes the recorded delivery; the web request only
checks the shape (:func:`receipt_for`).

Money events: ``PAYMENT.CAPTURE.COMPLETED`` credits, ``CHECKOUT.ORDER.APPROVED`` captures
then credits, ``PAYMENT.CAPTURE.DENIED`` and ``CHECKOUT.PAYMENT-APPROVAL.REVERSED`` fail the
top-up, ``PAYMENT.CAPTURE.REFUNDED`` debits a refund and ``PAYMENT.CAPTURE.REVERSED`` (a
chargeback or a reversal by PayPal) takes the money back once per reversal id.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from builtin_plugins.paypal_payments import orders
from builtin_plugins.paypal_payments.client import PayPalClient
from kernel import (
    FAILED,
    OPEN,
    REFUNDED,
    REVERSED,
    SessionStatus,
    WebhookError,
    WebhookEvent,
    WebhookReceipt,
)

# PayPal header -> field of the verification request
SIGNATURE_HEADERS = {
    "paypal-auth-algo": "auth_algo",
    "paypal-cert-url": "cert_url",
    "paypal-transmission-id": "transmission_id",
    "paypal-transmission-sig": "transmission_sig",
    "paypal-transmission-time": "transmission_time",
}


def read_event(body: bytes) -> dict[str, Any]:
    """The event object, or WebhookError when the body is not one."""
    try:
        event = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise WebhookError("PayPal webhook body is not JSON") from None
    if (
        not isinstance(event, dict)
        or not isinstance(event.get("event_type"), str)
        or not isinstance(event.get("resource"), dict)
    ):
        raise WebhookError("PayPal webhook body has no event_type and resource")
    return event


HANDLED = (
    "PAYMENT.CAPTURE.COMPLETED",
    "PAYMENT.CAPTURE.DENIED",
    "CHECKOUT.ORDER.APPROVED",
    "PAYMENT.CAPTURE.REFUNDED",
    "PAYMENT.CAPTURE.REVERSED",
    "CHECKOUT.PAYMENT-APPROVAL.REVERSED",
)
APPROVAL_REVERSED_REASON = (
    "PayPal could not take the payment after it was approved; nothing "
    "was charged. Please try again."
)


def receipt_for(
    event: dict[str, Any], body: bytes, headers: dict[str, str], webhook_id: str
) -> WebhookReceipt | None:
    """What the web request can tell without PayPal: an event of interest, carrying the five
    signature headers, for a configured webhook. None: an event pteroca ignores."""
    if event["event_type"] not in HANDLED:
        return None
    if not webhook_id:
        raise WebhookError("the PayPal webhook ID is not set, so webhooks cannot be verified")
    verification_body(body, headers, webhook_id)  # raises for a missing signature header
    event_id = event.get("id")
    if not isinstance(event_id, str) or not event_id.strip():
        raise WebhookError("PayPal webhook event without an id")
    lowered = {key.lower(): value for key, value in headers.items()}
    return WebhookReceipt(
        event_id=event_id,
        event_type=event["event_type"],
        verified=False,
        headers={name: lowered[name] for name in SIGNATURE_HEADERS},
    )


def verification_body(body: bytes, headers: dict[str, str], webhook_id: str) -> bytes:
    """The verify-webhook-signature request with the received event embedded verbatim."""
    lowered = {key.lower(): value for key, value in headers.items()}
    missing = [name.upper() for name in SIGNATURE_HEADERS if not lowered.get(name)]
    if missing:
        raise WebhookError(f"PayPal webhook without the {', '.join(missing)} header(s)")
    fields = {field: lowered[name] for name, field in SIGNATURE_HEADERS.items()}
    fields["webhook_id"] = webhook_id
    head = json.dumps(fields)[:-1]  # drop the closing brace, append the event verbatim
    return f'{head}, "webhook_event": '.encode() + body.strip() + b"}"


def verify(api: PayPalClient, body: bytes, headers: dict[str, str], webhook_id: str) -> None:
    if not webhook_id:
        raise WebhookError("the PayPal webhook ID is not set, so webhooks cannot be verified")
    answer = api.call(
        "POST",
        "/v1/notifications/verify-webhook-signature",
        raw_json=verification_body(body, headers, webhook_id),
    )
    status = answer.get("verification_status")
    if status != "SUCCESS":
        raise WebhookError(f"PayPal did not verify the webhook signature ({status or 'no answer'})")


_KINDS = {"paid": "paid", "failed": "failed", "expired": "expired"}


def events_for(
    event: dict[str, Any],
    *,
    capture_order: Callable[[str], SessionStatus],
    get_capture: Callable[[str], dict[str, Any]],
) -> list[WebhookEvent]:
    """Normalised events for one verified PayPal event (an empty list: nothing to do)."""
    kind, resource = event["event_type"], event["resource"]
    try:
        if kind == "PAYMENT.CAPTURE.COMPLETED":
            amount, currency = orders.money_of(resource)
            return [
                WebhookEvent("paid", _order_of(resource, get_capture), amount, currency, raw=event)
            ]
        if kind == "PAYMENT.CAPTURE.DENIED":
            return [
                WebhookEvent(
                    "failed",
                    _order_of(resource, get_capture),
                    reason=orders.DECLINED_REASON,
                    raw=event,
                )
            ]
        if kind == "CHECKOUT.ORDER.APPROVED":
            if not orders.is_ours(resource) or not resource.get("id"):
                return []  # another application's order on the same PayPal account
            status = capture_order(str(resource["id"]))
            if status.status == OPEN:
                return []
            return [
                WebhookEvent(
                    _KINDS[status.status],
                    str(resource["id"]),
                    status.amount,
                    status.currency,
                    reason=status.reason,
                    raw=event,
                )
            ]
        if kind in ("PAYMENT.CAPTURE.REFUNDED", "PAYMENT.CAPTURE.REVERSED"):
            amount, currency = orders.money_of(_positive(resource))
            if not resource.get("id"):
                raise WebhookError(f"PayPal {kind} event without an id")
            if kind == "PAYMENT.CAPTURE.REFUNDED":
                return [
                    WebhookEvent(
                        REFUNDED,
                        _order_of(resource, get_capture),
                        amount,
                        currency,
                        refund_id=str(resource["id"]),
                        raw=event,
                    )
                ]
            why = str(resource.get("note_to_payer") or resource.get("reason_code") or "")
            return [
                WebhookEvent(
                    REVERSED,
                    _order_of(resource, get_capture),
                    amount,
                    currency,
                    refund_id=str(resource["id"]),
                    raw=event,
                    reason=f"reversed by PayPal ({why.rstrip('.') or 'chargeback'})",
                )
            ]
        if kind == "CHECKOUT.PAYMENT-APPROVAL.REVERSED":
            order_id = resource.get("order_id") or resource.get("id")
            if not order_id:
                raise WebhookError("PayPal approval reversal without an order id")
            return [WebhookEvent(FAILED, str(order_id), reason=APPROVAL_REVERSED_REASON, raw=event)]
    except orders.OrderDataError as exc:
        raise WebhookError(str(exc)) from None
    return []


def _positive(resource: dict[str, Any]) -> dict[str, Any]:
    """The resource with its amount as a positive value (a reversal may state it negative)."""
    amount = resource.get("amount")
    if isinstance(amount, dict) and str(amount.get("value", "")).startswith("-"):
        return {**resource, "amount": {**amount, "value": str(amount["value"])[1:]}}
    return resource


def _order_of(resource: dict[str, Any], get_capture: Callable[[str], dict[str, Any]]) -> str:
    """The order id of a capture or refund resource, asking PayPal for the capture if need be."""
    order_id = orders.related_order_id(resource)
    if order_id is None and (capture_id := orders.related_capture_id(resource)):
        order_id = orders.related_order_id(get_capture(capture_id))
    if order_id is None:
        raise WebhookError(f"PayPal event for {resource.get('id')} names no order")
    return order_id
