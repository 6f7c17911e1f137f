"""Payment providers registered through ``register_payment_providers``.

Providers never touch the wallet. They create checkouts, report what a session's
status is, and turn webhooks into normalised events; :mod:`kernel.payments.settlement`
settles. Objects missing part of the protocol are left out and logged.

A provider that also has :class:`QueuedWebhooks` (``accept_webhook`` and ``webhook_events``)
has its webhooks answered at once: the web request only checks what can be checked
without the network and records the delivery; a job asks the provider whatever else it
needs (:mod:`kernel.payments.inbox`). Without them, ``parse_webhook`` runs in the request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from flask import current_app

if TYPE_CHECKING:  # annotations only: the models import nothing from here
    from kernel.payments.models import Payment

# Normalised statuses a provider reports for a checkout session.
PAID, OPEN, FAILED, EXPIRED = "paid", "open", "failed", "expired"
# Normalised money events after a payment: a refund, a reversal (chargeback, dispute: money the
# provider took back) and a reinstatement (a reversal or refund undone: the money came back).
REFUNDED, REVERSED, REINSTATED = "refunded", "reversed", "reinstated"


@dataclass(frozen=True)
class Checkout:
    """A created checkout: where to send the customer, and the provider's id for it."""

    external_id: str
    redirect_url: str
    expires_at: datetime | None = None  # naive UTC: after it the customer cannot pay there


@dataclass(frozen=True)
class SessionStatus:
    status: str  # PAID | OPEN | FAILED | EXPIRED
    amount: int | None = None  # minor units actually paid, when known
    currency: str | None = None
    reason: str = ""


@dataclass(frozen=True)
class WebhookEvent:
    """One normalised webhook event: ``kind`` is ``paid``, ``failed``, ``expired``, ``refunded``,
    ``reversed`` or ``reinstated``.

    ``refund_id`` names the refund or reversal (unique at the provider): a take-back is recorded
    once per id, and ``reinstated`` names the refund or reversal it undoes.
    """

    kind: str
    external_id: str
    amount: int | None = None
    currency: str | None = None
    refund_id: str | None = None
    reason: str = ""
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class WebhookReceipt:
    """What a provider's ``accept_webhook`` learned from a delivery without the network.

    ``event_id`` is the provider's id of the event (deliveries of one id are recorded once).
    ``verified`` False means authenticity is still to be checked by ``webhook_events`` in the
    job (a provider that verifies through its own API); ``headers`` are the request headers
    ``webhook_events`` needs again (signature headers), kept with the recorded body.
    """

    event_id: str
    event_type: str = ""
    verified: bool = True
    headers: dict[str, str] = field(default_factory=dict)


class ProviderError(Exception):
    """The provider refused or could not be reached; the message is safe to show an admin."""


class WebhookError(Exception):
    """A webhook that is not authentic or not understood (answered with 400, nothing changes)."""


@runtime_checkable
class PaymentProvider(Protocol):
    identifier: str
    display_name: str
    currencies: tuple[str, ...]

    def is_configured(self) -> bool: ...


@runtime_checkable
class CheckoutProvider(PaymentProvider, Protocol):
    """A provider that can take money (all real providers)."""

    def create_checkout(
        self, *, payment: Payment, success_url: str, cancel_url: str
    ) -> Checkout: ...

    def session_status(self, external_id: str) -> SessionStatus: ...

    def parse_webhook(self, *, body: bytes, headers: dict[str, str]) -> list[WebhookEvent]: ...


@runtime_checkable
class QueuedWebhooks(Protocol):
    """Webhooks answered at once and processed by a job (see the module docstring)."""

    def accept_webhook(self, *, body: bytes, headers: dict[str, str]) -> WebhookReceipt | None:
        """Check what needs no network; None: an event of no interest (acknowledged, not kept).
        Raise WebhookError for a delivery that is not authentic or not an event (a 400)."""

    def webhook_events(
        self, *, body: bytes, headers: dict[str, str], receipt: WebhookReceipt
    ) -> list[WebhookEvent]:
        """In a job: verify what is left, ask the provider what is needed, normalise. Raise
        WebhookError for a delivery that proves not authentic (recorded, never applied) and
        ProviderError when the provider cannot be asked now (tried again later)."""


def request_key(payment: Payment, action: str) -> str:
    """A stable idempotency key for one provider call about ``payment`` (Stripe's
    ``Idempotency-Key``, PayPal's ``PayPal-Request-Id``): a retried create is the same create.
    The payment's random nonce keeps two sites sharing one provider account (staging and
    production, both with a payment #1) from colliding."""
    nonce = (payment.meta or {}).get("request_nonce", "")
    return f"pteroca-{action}-{payment.id}-{nonce}"


def registered_providers() -> dict[str, PaymentProvider]:
    """Providers of the current app's plugins, by identifier (first registration wins)."""
    out: dict[str, PaymentProvider] = {}
    from kernel.hooks import answers

    for plugin, providers, error in answers("register_payment_providers"):
        if error is not None:
            continue  # logged and counted; the other providers are still offered
        for provider in providers or []:
            if not isinstance(provider, PaymentProvider):
                current_app.logger.error("%s: %r is not a payment provider", plugin, provider)
                continue
            out.setdefault(provider.identifier, provider)
    return out


def available_providers(currency: str) -> list[PaymentProvider]:
    """Configured providers that accept ``currency``."""
    return [
        p
        for p in registered_providers().values()
        if currency.upper() in p.currencies and p.is_configured()
    ]


def checkout_providers(currency: str) -> list[CheckoutProvider]:
    return [p for p in available_providers(currency) if isinstance(p, CheckoutProvider)]


@dataclass(frozen=True)
class ProviderChoice:
    """A provider as the wallet page shows it (templates never get the provider object,
    which holds its settings and API client)."""

    identifier: str
    display_name: str


def provider_choices(currency: str) -> list[ProviderChoice]:
    return [ProviderChoice(p.identifier, str(p.display_name)) for p in checkout_providers(currency)]


def get_provider(identifier: str) -> PaymentProvider | None:
    return registered_providers().get(identifier)
