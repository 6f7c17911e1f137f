"""Payment providers registered through ``register_payment_providers``.

A provider is any object with the attributes of :class:`PaymentProvider`.
Objects missing part of the protocol are left out and logged, naming the plugin.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from flask import current_app


@runtime_checkable
class PaymentProvider(Protocol):
    identifier: str
    display_name: str
    currencies: tuple[str, ...]

    def is_configured(self) -> bool: ...


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
