"""A burst of money webhooks at a served app: the deliveries that tests/topology/
test_payment_webhooks.py checks and bench/bench_webhooks.py measures, built in one place."""

from __future__ import annotations

from collections.abc import Callable

from kernel.testing import run_cli

CUSTOMER = "busy@example.com"


def money_app(app, stripe, paypal):
    """``app`` (built on its instance) with the Stripe and PayPal plugins enabled through the
    gate and pointed at their simulators, and the customer; the rebuilt app."""
    from kernel.plugins.settings import set_settings
    from kernel.testing import rebuild
    from tests.helpers import make_user

    for plugin in ("stripe_payments", "paypal_payments"):
        result = run_cli(app, "plugin", "enable", plugin)
        if result.exit_code != 0:
            raise AssertionError(f"enabling {plugin} failed: {result.output}")
    app = rebuild(app)
    with app.app_context():
        found = app.extensions["pteroca"].discovered
        set_settings(
            found["stripe_payments"].manifest,
            {
                "secret_key": stripe.secret_key,
                "webhook_secret": stripe.webhook_secret,
                "api_base": stripe.url,
            },
        )
        set_settings(
            found["paypal_payments"].manifest,
            {
                "client_id": paypal.client_id,
                "client_secret": paypal.client_secret,
                "webhook_id": paypal.webhook_id,
                "base_url": paypal.url,
            },
        )
        make_user(CUSTOMER)
    return app


def paid_topups(app, stripe, paypal, count: int) -> list[tuple[str, str]]:
    """``count`` top-ups of 10.00 paid through each provider (settled in this process):
    (provider, provider id) of each."""
    from kernel.accounts.models import User
    from kernel.extensions import db
    from kernel.payments.settlement import refresh, start_topup

    made = []
    with app.test_request_context():
        user = db.session.scalar(db.select(User).where(User.email == CUSTOMER))
        for provider in ("stripe", "paypal") * count:
            payment = start_topup(
                user,
                1000,
                provider,
                return_urls=lambda p: (
                    f"http://shop.test/ok/{p.id}",
                    f"http://shop.test/no/{p.id}",
                ),
            )
            if provider == "stripe":
                stripe.pay(payment.external_id, webhook=False)
            else:
                paypal.approve(payment.external_id)
            status = refresh(payment).status
            if status != "paid":
                raise AssertionError(f"the {provider} top-up is {status}, not paid")
            made.append((provider, payment.external_id))
    return made


def deliveries(base: str, payments, stripe, paypal) -> list[Callable[[], int | None]]:
    """Per paid top-up two deliveries, each a callable sending it and returning the status: a
    refund and a dispute for Stripe, a reversal delivered twice for PayPal (as PayPal does)."""
    out: list[Callable[[], int | None]] = []
    for provider, external_id in payments:
        if provider == "stripe":
            refund = stripe.refund(external_id, 300, webhook=False)
            dispute = stripe.dispute(external_id, 700, webhook=False)
            for event in (
                stripe.refunded_event(refund["charge"]),
                stripe.event("charge.dispute.funds_withdrawn", dispute),
            ):
                out.append(lambda e=event: stripe.send(e).status)
        else:
            reversal = paypal.reverse(external_id)
            for _ in range(2):
                body, headers = paypal.capture_reversed(reversal)
                out.append(
                    lambda b=body, h=headers: paypal.deliver(
                        f"{base}/payments/paypal/webhook", b, h
                    )
                )
    return out
