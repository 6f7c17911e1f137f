"""stripe_payments: wallet top-ups through Stripe Checkout (see provider.py)."""

from __future__ import annotations

from kernel import hookimpl


@hookimpl
def register_payment_providers():
    from builtin_plugins.stripe_payments.provider import StripeProvider

    return [StripeProvider()]
