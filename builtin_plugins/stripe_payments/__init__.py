"""stripe_payments: wallet top-ups through Stripe Checkout (see provider.py)."""

from __future__ import annotations

from kernel import hookimpl


@hookimpl
def register_payment_providers():
    from builtin_plugins.stripe_payments.provider import StripeProvider

    return [StripeProvider()]


@hookimpl
def personal_data(user):
    from kernel import provider_payments_export

    return provider_payments_export("stripe", user)


@hookimpl
def erase_personal_data(user):
    from kernel import clear_checkout_links

    clear_checkout_links("stripe", user)
