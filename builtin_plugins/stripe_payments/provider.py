"""The Stripe payment provider: Checkout Sessions for top-ups, refunds, webhooks.

It never touches the wallet: the kernel's settlement credits and debits from what
this reports. Amounts go to Stripe as they are stored, in integer minor units.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from builtin_plugins.stripe_payments import webhooks
from builtin_plugins.stripe_payments.client import (
    field,
    load_settings,
    make_client,
    parse_methods,
    stripe_errors,
)
from kernel import (
    EXPIRED,
    OPEN,
    PAID,
    Checkout,
    ProviderError,
    SessionStatus,
    WebhookEvent,
    WebhookReceipt,
    request_key,
)

PRODUCT_NAME = "Wallet top-up"


class StripeProvider:
    identifier = "stripe"
    display_name = "Card (Stripe)"
    # Currencies whose Stripe amounts are the site's minor units as stored (kernel.payments.money).
    currencies = (
        "USD",
        "EUR",
        "GBP",
        "PLN",
        "CAD",
        "AUD",
        "NZD",
        "CHF",
        "SEK",
        "NOK",
        "DKK",
        "CZK",
        "RON",
        "BGN",
        "SGD",
        "HKD",
        "MXN",
        "BRL",
        "JPY",
    )

    def is_configured(self) -> bool:
        return bool(load_settings().secret_key)

    def create_checkout(self, *, payment, success_url: str, cancel_url: str) -> Checkout:
        settings = load_settings()
        params: dict[str, Any] = {
            "mode": "payment",
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": payment.currency.lower(),
                        "unit_amount": payment.amount_charged,
                        "product_data": {"name": PRODUCT_NAME},
                    },
                }
            ],
            "client_reference_id": str(payment.id),
            "metadata": {"payment_id": str(payment.id)},
            "payment_intent_data": {"metadata": {"payment_id": str(payment.id)}},
            "success_url": success_url,
            "cancel_url": cancel_url,
        }
        methods = parse_methods(settings.payment_methods)
        if methods:  # none: Stripe offers what the dashboard's payment method settings allow
            params["payment_method_types"] = list(methods)
        with stripe_errors(settings, "create a Checkout Session"):
            # A stable key: a create retried (by the library or by us) returns the same session.
            session = make_client(settings).v1.checkout.sessions.create(
                params=params, options={"idempotency_key": request_key(payment, "checkout")}
            )
        url = field(session, "url")
        if not url:
            raise ProviderError(
                f"Stripe returned Checkout Session {field(session, 'id')} without a URL"
            )
        expires = field(session, "expires_at")
        return Checkout(
            external_id=session["id"],
            redirect_url=url,
            expires_at=datetime.fromtimestamp(int(expires), UTC).replace(tzinfo=None)
            if expires
            else None,
        )

    def session_status(self, external_id: str) -> SessionStatus:
        settings = load_settings()
        with stripe_errors(settings, f"look up Checkout Session {external_id}"):
            session = make_client(settings).v1.checkout.sessions.retrieve(external_id)
        return status_of(session)

    def parse_webhook(self, *, body: bytes, headers: dict[str, str]) -> list[WebhookEvent]:
        return webhooks.parse(body, headers, load_settings())

    def accept_webhook(self, *, body: bytes, headers: dict[str, str]) -> WebhookReceipt | None:
        """In the web request: the signature only (no network)."""
        return webhooks.accept(body, headers, load_settings())

    def webhook_events(
        self, *, body: bytes, headers: dict[str, str], receipt: WebhookReceipt
    ) -> list[WebhookEvent]:
        """In a job: the recorded event, whose signature was verified on arrival."""
        return webhooks.events_of(webhooks.recorded(body), load_settings())

    def refund(self, *, payment, amount: int) -> str:
        """Refund ``amount`` minor units of the payment; returns Stripe's refund id."""
        settings = load_settings()
        client = make_client(settings)
        with stripe_errors(settings, f"look up Checkout Session {payment.external_id}"):
            session = client.v1.checkout.sessions.retrieve(payment.external_id)
        intent = field(session, "payment_intent")
        if not intent:
            raise ProviderError(f"Checkout Session {payment.external_id} has no payment to refund")
        intent_id = intent if isinstance(intent, str) else field(intent, "id")
        with stripe_errors(settings, f"refund payment {intent_id}"):
            refund = client.v1.refunds.create(
                params={
                    "payment_intent": intent_id,
                    "amount": amount,
                    "metadata": {"payment_id": str(payment.id)},
                },
                options={
                    "idempotency_key": f"pteroca-refund-{payment.external_id}-"
                    f"{payment.amount_refunded}-{amount}"
                },
            )
        return refund["id"]


def status_of(session) -> SessionStatus:
    """A Checkout Session's normalised status (an async payment still pending is open)."""
    amount = field(session, "amount_total")
    currency = (field(session, "currency") or "").upper() or None
    if field(session, "payment_status") == "paid":
        return SessionStatus(PAID, amount, currency)
    if field(session, "status") == "expired":
        return SessionStatus(EXPIRED, amount, currency, "the Checkout Session expired")
    return SessionStatus(OPEN, amount, currency)
