"""Stripe payments converge without their webhook and their customer, and a retried create
makes one Checkout Session."""

from __future__ import annotations

import httpx

from kernel import clock
from kernel.extensions import db
from kernel.payments import converge
from kernel.payments.models import Payment
from tests.payments.test_converge import GRACE
from tests.stripe.conftest import balance, payment, start_topup


def test_a_dropped_webhook_and_no_return_converge_through_the_task(
    stripe_app, stripe_server, customer, cli
):
    top = start_topup(stripe_app, customer)
    stripe_server.webhook_url = "http://127.0.0.1:9/payments/stripe/webhook"  # nobody listens
    stripe_server.pay(top.session_id)  # paid at Stripe; the webhook is lost, no return
    assert stripe_server.deliveries[-1].status is None and balance(stripe_app) == 0
    assert "payments.converge" in cli("cron", "list").output
    with stripe_app.app_context(), clock.advanced(GRACE):
        assert converge.run()["payments"] == 1
        assert converge.run()["payments"] == 0
    row = payment(stripe_app, top.payment_id)
    assert row.status == "paid" and row.meta["settled_by"] == "converge"
    assert balance(stripe_app) == 1250
    retrieved = [
        r
        for r in stripe_server.requests
        if r[:2] == ("GET", f"/v1/checkout/sessions/{top.session_id}")
    ]
    assert len(retrieved) == 1


def test_an_expired_session_is_expired_and_continue_payment_starts_a_new_one(
    stripe_app, stripe_server, customer
):
    top = start_topup(stripe_app, customer, "7.00")
    stripe_server.expire(top.session_id, webhook=False)
    with stripe_app.app_context(), clock.advanced(GRACE):
        converge.run()
    assert payment(stripe_app, top.payment_id).status == "expired"
    wallet = customer.get("/wallet")
    assert f"/wallet/payments/{top.payment_id}/continue" in wallet.text
    again = customer.post(f"/wallet/payments/{top.payment_id}/continue")
    assert again.status_code == 303
    new_session = again.location.rsplit("/", 1)[1]
    assert new_session != top.session_id and stripe_server.session(new_session)["status"] == "open"
    assert stripe_server.session(new_session)["amount_total"] == 700
    stripe_server.pay(new_session)
    assert balance(stripe_app) == 700


def test_continue_payment_past_the_sessions_expiry_never_sends_the_customer_there(
    stripe_app, stripe_server, customer
):
    """Stripe said when the session expires: past it, "Continue payment" starts a new session
    without asking Stripe about the old one first."""
    top = start_topup(stripe_app, customer)
    same = customer.post(f"/wallet/payments/{top.payment_id}/continue")
    assert same.status_code == 303 and same.location == top.checkout_url
    row = payment(stripe_app, top.payment_id)
    assert row.meta["checkout_expires_at"]  # from the session's expires_at
    with clock.advanced(GRACE * 96):  # 24 hours later
        later = customer.post(f"/wallet/payments/{top.payment_id}/continue")
    assert later.status_code == 303 and later.location != top.checkout_url
    assert len(stripe_server.sessions) == 2


def test_a_create_whose_answer_is_lost_makes_one_session(stripe_app, stripe_server, customer):
    stripe_server.lose_answers = 1  # Stripe creates the session, the answer never arrives
    top = start_topup(stripe_app, customer)
    creates = [r for r in stripe_server.requests if r[:2] == ("POST", "/v1/checkout/sessions")]
    assert len(creates) == 2  # the library tried again...
    assert list(stripe_server.sessions) == [top.session_id]  # ...and Stripe made one session
    with stripe_app.app_context():
        assert db.session.scalar(db.select(db.func.count(Payment.id))) == 1


def test_a_create_retried_by_pteroca_returns_the_same_session(stripe_app, stripe_server, customer):
    from builtin_plugins.stripe_payments.provider import StripeProvider

    top = start_topup(stripe_app, customer)
    sent = stripe_server.requests[-1][2]
    with stripe_app.app_context():
        row = db.session.get(Payment, top.payment_id)
        again = StripeProvider().create_checkout(
            payment=row, success_url=sent["success_url"], cancel_url=sent["cancel_url"]
        )
    assert again.external_id == top.session_id and len(stripe_server.sessions) == 1


def test_the_fake_honours_idempotency_keys_as_stripe_does(stripe_server):
    headers = {"Authorization": f"Bearer {stripe_server.secret_key}", "Idempotency-Key": "k-1"}
    form = {
        "mode": "payment",
        "success_url": "http://x/ok",
        "line_items[0][quantity]": "1",
        "line_items[0][price_data][currency]": "usd",
        "line_items[0][price_data][unit_amount]": "500",
        "line_items[0][price_data][product_data][name]": "Wallet top-up",
    }
    url = f"{stripe_server.url}/v1/checkout/sessions"
    first = httpx.post(url, data=form, headers=headers)
    second = httpx.post(url, data=form, headers=headers)
    assert first.status_code == second.status_code == 200
    assert first.json()["id"] == second.json()["id"] and len(stripe_server.sessions) == 1
    assert second.headers["Idempotent-Replayed"] == "true"
    other = httpx.post(
        url, data={**form, "line_items[0][price_data][unit_amount]": "600"}, headers=headers
    )
    assert other.status_code == 400 and other.json()["error"]["type"] == "idempotency_error"
    fresh = httpx.post(url, data=form, headers={**headers, "Idempotency-Key": "k-2"})
    assert fresh.json()["id"] != first.json()["id"] and len(stripe_server.sessions) == 2
