"""The ``paypal`` payment provider: Orders v2 top-ups, captures, webhooks and refunds.

It reports results only; the kernel's settlement moves wallet money.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from builtin_plugins.paypal_payments import orders, webhooks
from builtin_plugins.paypal_payments.client import (
    REQUEST_ID,
    Credentials,
    PayPalClient,
    PayPalError,
    base_url_for,
)
from kernel import (
    EXPIRED,
    FAILED,
    Checkout,
    ProviderError,
    SessionStatus,
    WebhookError,
    WebhookEvent,
    WebhookReceipt,
    now,
    request_key,
    to_decimal_string,
)

PLUGIN = "paypal_payments"
# PayPal lets the buyer approve an order for 3 hours after it is created (the default; PayPal can
# extend it per account): after that "Continue payment" starts a new order.
APPROVAL_WINDOW = timedelta(hours=3)
# Currencies PayPal accepts with the same minor units as ISO 4217 (HUF and TWD differ: left out).
CURRENCIES = (
    "AUD",
    "CAD",
    "CHF",
    "CZK",
    "DKK",
    "EUR",
    "GBP",
    "HKD",
    "JPY",
    "MXN",
    "NOK",
    "NZD",
    "PLN",
    "SEK",
    "SGD",
    "USD",
)


def _id(value: str) -> str:
    """A PayPal id as one URL path segment."""
    return quote(str(value), safe="")


def plugin_settings() -> dict[str, Any]:
    from kernel import settings_for

    return settings_for(PLUGIN)


class PayPalProvider:
    identifier = "paypal"
    display_name = "PayPal"
    currencies = CURRENCIES

    def __init__(self, settings: Callable[[], dict[str, Any]] = plugin_settings) -> None:
        self._settings = settings

    def is_configured(self) -> bool:
        values = self._settings()
        return bool(values.get("client_id") and values.get("client_secret"))

    def _api(self) -> PayPalClient:
        values = self._settings()
        if not (values.get("client_id") and values.get("client_secret")):
            raise ProviderError("PayPal is not configured (client ID and secret are empty)")
        return PayPalClient(
            Credentials(
                base_url=base_url_for(
                    values.get("mode") or "sandbox", values.get("base_url") or ""
                ),
                client_id=str(values["client_id"]),
                client_secret=str(values["client_secret"]),
            )
        )

    def create_checkout(self, *, payment, success_url: str, cancel_url: str) -> Checkout:
        body = orders.order_request(
            payment_id=payment.id,
            amount=payment.amount_charged,
            currency=payment.currency,
            success_url=success_url,
            cancel_url=cancel_url,
            description="Wallet top-up",
        )
        with self._api() as api:
            # A stable request id: a create retried after a lost answer returns the same order.
            order = api.call(
                "POST",
                "/v2/checkout/orders",
                json_body=body,
                headers={REQUEST_ID: request_key(payment, "order")},
            )
        if not order.get("id"):
            raise ProviderError("PayPal created an order without an id")
        try:
            return Checkout(
                str(order["id"]), orders.approval_link(order), expires_at=now() + APPROVAL_WINDOW
            )
        except orders.OrderDataError as exc:
            raise ProviderError(str(exc)) from None

    def session_status(self, external_id: str) -> SessionStatus:
        """The order's status; an approved order is captured first."""
        with self._api() as api:
            return self._status(api, external_id)

    def _status(self, api: PayPalClient, order_id: str) -> SessionStatus:
        try:
            order = api.call("GET", f"/v2/checkout/orders/{_id(order_id)}")
        except PayPalError as exc:
            if exc.name == "RESOURCE_NOT_FOUND":
                return SessionStatus(EXPIRED, reason="PayPal no longer knows this order")
            raise
        if order.get("status") == "APPROVED":
            try:
                order = api.call(
                    "POST",
                    f"/v2/checkout/orders/{_id(order_id)}/capture",
                    headers={
                        REQUEST_ID: f"pteroca-capture-{order_id}",
                        "Prefer": "return=representation",
                    },
                )
            except PayPalError as exc:
                if exc.issue == "INSTRUMENT_DECLINED":
                    return SessionStatus(FAILED, reason=orders.DECLINED_REASON)
                if exc.issue != "ORDER_ALREADY_CAPTURED":
                    raise
                order = api.call("GET", f"/v2/checkout/orders/{_id(order_id)}")
        try:
            return orders.status_of(order)
        except orders.OrderDataError as exc:
            raise ProviderError(str(exc)) from None

    def parse_webhook(self, *, body: bytes, headers: dict[str, str]) -> list[WebhookEvent]:
        """Verify with PayPal and normalise in one go (in the caller's request)."""
        try:
            return self._verified_events(body, headers)
        except ProviderError as exc:
            raise WebhookError(f"could not process the PayPal webhook: {exc}") from None

    def accept_webhook(self, *, body: bytes, headers: dict[str, str]) -> WebhookReceipt | None:
        """In the web request, without the network: an event of interest, with the signature
        headers and a webhook ID to verify it against. PayPal checks the signature in the job."""
        event = webhooks.read_event(body)
        return webhooks.receipt_for(
            event, body, headers, str(self._settings().get("webhook_id") or "")
        )

    def webhook_events(
        self, *, body: bytes, headers: dict[str, str], receipt: WebhookReceipt
    ) -> list[WebhookEvent]:
        """In a job: PayPal verifies the signature, then the event is normalised (a capture
        of an approved order happens here). PayPal unreachable: ProviderError, tried again."""
        return self._verified_events(body, headers)

    def _verified_events(self, body: bytes, headers: dict[str, str]) -> list[WebhookEvent]:
        event = webhooks.read_event(body)
        with self._api() as api:
            webhooks.verify(api, body, headers, str(self._settings().get("webhook_id") or ""))
            return webhooks.events_for(
                event,
                capture_order=lambda order_id: self._status(api, order_id),
                get_capture=lambda capture_id: api.call(
                    "GET", f"/v2/payments/captures/{_id(capture_id)}"
                ),
            )

    def refund(self, *, payment, amount: int) -> str:
        """Refund ``amount`` (minor units) of the order's capture; return PayPal's refund id."""
        order_id = payment.external_id
        with self._api() as api:
            capture = orders.paid_capture(api.call("GET", f"/v2/checkout/orders/{_id(order_id)}"))
            if capture is None or not capture.get("id"):
                raise ProviderError(f"PayPal order {order_id} has no captured payment to refund")
            request_id = f"pteroca-refund-{order_id}-{payment.amount_refunded}-{amount}"
            result = api.call(
                "POST",
                f"/v2/payments/captures/{_id(capture['id'])}/refund",
                json_body={
                    "amount": {
                        "currency_code": payment.currency,
                        "value": to_decimal_string(amount, payment.currency),
                    }
                },
                headers={REQUEST_ID: request_id, "Prefer": "return=representation"},
            )
        if result.get("status") in ("CANCELLED", "FAILED") or not result.get("id"):
            raise ProviderError(f"PayPal did not refund the payment ({result.get('status')})")
        return str(result["id"])
