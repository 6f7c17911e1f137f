"""paypal_payments: wallet top-ups through PayPal Orders v2 (see provider.py)."""

from __future__ import annotations

from kernel import hookimpl


@hookimpl
def register_payment_providers():
    from builtin_plugins.paypal_payments.provider import PayPalProvider

    return [PayPalProvider()]


@hookimpl
def personal_data(user):
    from builtin_plugins.paypal_payments import privacy

    return privacy.export(user)


@hookimpl
def erase_personal_data(user):
    from builtin_plugins.paypal_payments import privacy

    privacy.erase(user)
