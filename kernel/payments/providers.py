"""Payment providers registered through ``register_payment_providers``.

Providers never touch the wallet. They create checkouts, report what a session's
status is, and turn webhooks into normalised events; :mod:`kernel.payments.settlement`
settles. Objects missing part of the protocol are left out and logged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from flask import current_app

# Normalised statuses a provider reports for a checkout session.
PAID, OPEN, FAILED, EXPIRED = "paid", "open", "failed", "expired"


@dataclass(frozen=True)
class Checkout:
    """A created checkout: where to send the customer, and the provider's id for it."""

    external_id: str
    redirect_url: str


@dataclass(frozen=True)
class SessionStatus:
    status: str  # PAID | OPEN | FAILED | EXPIRED
    amount: int | None = None  # minor units actually paid, when known
    currency: str | None = None
    reason: str = ""


@dataclass(frozen=True)
class WebhookEvent:
    """One normalised webhook event: ``kind`` is ``paid``, ``failed``, ``expired`` or ``refunded``."""

    kind: str
    external_id: str
    amount: int | None = None
    currency: str | None = None
    refund_id: str | None = None
    reason: str = ""
    raw: dict[str, Any] = field(default_factory=dict)


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

    def create_checkout(self, *, payment, success_url: str, cancel_url: str) -> Checkout: ...

    def session_status(self, external_id: str) -> SessionStatus: ...

    def parse_webhook(self, *, body: bytes, headers: dict[str, str]) -> list[WebhookEvent]: ...


def registered_providers() -> dict[str, PaymentProvider]:
    """Providers of the current app's plugins, by identifier (first registration wins)."""
    out: dict[str, PaymentProvider] = {}
    for impl in current_app.extensions["pteroca"].pm.hook.register_payment_providers.get_hookimpls():
        for provider in impl.function() or []:
            if not isinstance(provider, PaymentProvider):
                current_app.logger.error("%s: %r is not a payment provider", impl.plugin_name, provider)
                continue
            out.setdefault(provider.identifier, provider)
    return out


def available_providers(currency: str) -> list[PaymentProvider]:
    """Configured providers that accept ``currency``."""
    return [p for p in registered_providers().values()
            if currency.upper() in p.currencies and p.is_configured()]


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
