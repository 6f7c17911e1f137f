"""stripe_payments: wallet top-ups through Stripe Checkout (see provider.py)."""

from __future__ import annotations

from kernel import hookimpl


@hookimpl
def register_payment_providers():
    from builtin_plugins.stripe_payments.provider import StripeProvider

    return [StripeProvider()]


@hookimpl
def personal_data(user):
    from builtin_plugins.stripe_payments import privacy

    return privacy.export(user)


@hookimpl
def erase_personal_data(user):
    from builtin_plugins.stripe_payments import privacy

    privacy.erase(user)
