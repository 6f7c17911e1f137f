"""The Stripe API client built from the plugin's settings, and Stripe errors in plain words."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import stripe

from kernel import ProviderError, settings_for

PLUGIN = "stripe_payments"
TIMEOUT_SECONDS = 20
NETWORK_RETRIES = 1  # the library sends an idempotency key with every retried POST
METHOD_TYPE = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True)
class StripeSettings:
    secret_key: str
    webhook_secret: str
    payment_methods: str  # comma-separated, as typed: see :func:`parse_methods`
    api_base: str


def load_settings() -> StripeSettings:
    """The plugin's effective settings (environment over stored values over defaults)."""
    values = settings_for(PLUGIN)
    return StripeSettings(
        secret_key=(values.get("secret_key") or "").strip(),
        webhook_secret=(values.get("webhook_secret") or "").strip(),
        payment_methods=values.get("payment_methods") or "",
        api_base=(values.get("api_base") or "https://api.stripe.com").strip().rstrip("/"),
    )


def parse_methods(text: str) -> tuple[str, ...]:
    """``"card, blik"`` -> ``("card", "blik")``; a malformed entry is a ProviderError."""
    methods = tuple(m.strip().lower() for m in text.split(",") if m.strip())
    for method in methods:
        if not METHOD_TYPE.fullmatch(method):
            raise ProviderError(
                f"the payment_methods setting holds {method!r}, "
                "which is not a Stripe payment method type"
            )
    return methods


def make_client(settings: StripeSettings) -> stripe.StripeClient:
    if not settings.secret_key:
        raise ProviderError("no Stripe secret key is configured")
    return stripe.StripeClient(
        settings.secret_key,
        base_addresses={"api": settings.api_base},
        http_client=stripe.RequestsClient(timeout=TIMEOUT_SECONDS),
        max_network_retries=NETWORK_RETRIES,
    )


def _detail(exc: stripe.StripeError) -> str:
    message = (exc.user_message or "").strip() or f"HTTP {exc.http_status}"
    param = getattr(exc, "param", None)
    return f"{message} (parameter {param})" if param else message


@contextmanager
def stripe_errors(settings: StripeSettings, doing: str) -> Iterator[None]:
    """Turn any failure of the Stripe library into a one-line :class:`ProviderError`."""
    try:
        yield
    except stripe.AuthenticationError:
        raise ProviderError("the secret key was rejected by Stripe") from None
    except stripe.PermissionError as exc:
        raise ProviderError(f"the secret key may not {doing}: {_detail(exc)}") from None
    except stripe.APIConnectionError:
        raise ProviderError(f"could not reach Stripe at {settings.api_base} to {doing}") from None
    except stripe.RateLimitError:
        raise ProviderError(f"Stripe is rate limiting requests; could not {doing}") from None
    except stripe.InvalidRequestError as exc:
        raise ProviderError(f"Stripe refused to {doing}: {_detail(exc)}") from None
    except stripe.StripeError as exc:
        raise ProviderError(f"Stripe failed to {doing}: {_detail(exc)}") from None


def field(obj: Any, name: str, default: Any = None) -> Any:
    """A field of a Stripe object or a plain dict (webhook payloads are either)."""
    try:
        value = obj[name]
    except (KeyError, TypeError, IndexError):
        return default
    return default if value is None else value
