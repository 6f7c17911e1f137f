"""Stripe Checkout top-ups: credited exactly once, whether the webhook or the return is first."""

from __future__ import annotations

import json

import pytest

from kernel.extensions import db
from kernel.payments.models import LedgerEntry
from kernel.security.models import ScanRecord
from tests.stripe.conftest import balance, payment, start_topup


def topup_entries(app) -> int:
    with app.app_context():
        return db.session.scalar(
            db.select(db.func.count(LedgerEntry.id)).where(LedgerEntry.kind == "topup")
        )


def test_enabled_through_the_gate_with_an_audited_dependency_set(enabled, osv_server):
    with enabled.app_context():
        record = db.session.scalars(
            db.select(ScanRecord).where(ScanRecord.plugin == "stripe_payments")
        ).one()
    assert record.verdict == "pass" and record.advisory_state == "ok", record.findings
    assert ("stripe", __import__("stripe").VERSION) in osv_server.queried()
    assert not [f for f in record.finding_objects() if f.severity.name in ("CRITICAL", "HIGH")]


def test_checkout_session_is_what_stripe_expects(stripe_app, stripe_server, customer):
    page = customer.get("/wallet")
    assert "Card (Stripe)" in page.text
    top = start_topup(stripe_app, customer, "12.50")
    session = stripe_server.session(top.session_id)
    assert top.checkout_url == session["url"] == f"{stripe_server.url}/pay/{top.session_id}"
    method, path, params = stripe_server.requests[-1]
    assert (method, path) == ("POST", "/v1/checkout/sessions")
    assert params["mode"] == "payment"
    assert params["line_items"] == [
        {
            "quantity": "1",
            "price_data": {
                "currency": "usd",
                "unit_amount": "1250",
                "product_data": {"name": "Wallet top-up"},
            },
        }
    ]
    assert params["client_reference_id"] == str(top.payment_id)
    assert params["metadata"] == {"payment_id": str(top.payment_id)}
    assert params["payment_method_types"] == ["card"]
    assert params["success_url"].endswith(f"/wallet/return/{top.payment_id}")
    assert params["cancel_url"].endswith(f"/wallet/cancel/{top.payment_id}")
    row = payment(stripe_app, top.payment_id)
    assert (row.status, row.amount_charged, row.external_id) == ("open", 1250, top.session_id)
    waiting = customer.get(f"/wallet/return/{top.payment_id}")
    assert "Waiting for the payment" in waiting.text and balance(stripe_app) == 0


def test_webhook_before_the_return(stripe_app, stripe_server, customer):
    top = start_topup(stripe_app, customer)
    stripe_server.pay(top.session_id)
    assert [d.status for d in stripe_server.deliveries] == [200]
    assert payment(stripe_app, top.payment_id).meta["settled_by"] == "webhook"
    assert balance(stripe_app) == 1250
    page = customer.get(f"/wallet/return/{top.payment_id}")
    assert "Payment received" in page.text and "12.50 USD" in page.text
    assert balance(stripe_app) == 1250 and topup_entries(stripe_app) == 1


def test_return_before_the_webhook(stripe_app, stripe_server, customer):
    top = start_topup(stripe_app, customer, "7")
    session = stripe_server.mark_paid(top.session_id)
    assert stripe_server.deliveries == []
    assert "Payment received" in customer.get(f"/wallet/return/{top.payment_id}").text
    assert payment(stripe_app, top.payment_id).meta["settled_by"] == "return"
    late = stripe_server.send(stripe_server.event("checkout.session.completed", session))
    assert late.status == 200
    assert balance(stripe_app) == 700 and topup_entries(stripe_app) == 1


def test_both_and_replayed_twenty_times(stripe_app, stripe_server, customer):
    top = start_topup(stripe_app, customer, "3.33")
    stripe_server.pay(top.session_id)
    for _ in range(3):
        customer.get(f"/wallet/return/{top.payment_id}")
    replays = stripe_server.replay(20)
    assert [d.status for d in replays] == [200] * 20
    assert balance(stripe_app) == 333 and topup_entries(stripe_app) == 1
    assert payment(stripe_app, top.payment_id).status == "paid"


def test_a_customer_can_pay_twice(stripe_app, stripe_server, customer):
    for amount in ("5", "6"):
        stripe_server.pay(start_topup(stripe_app, customer, amount).session_id)
    assert balance(stripe_app) == 1100 and topup_entries(stripe_app) == 2


@pytest.mark.parametrize("how", ["wrong_secret", "stale", "malformed", "unsigned"])
def test_unauthentic_webhooks_are_400_and_change_nothing(stripe_app, stripe_server, customer, how):
    top = start_topup(stripe_app, customer)
    session = stripe_server.mark_paid(top.session_id)
    event = stripe_server.event("checkout.session.completed", session)
    refused = stripe_server.send(event, how=how)
    assert refused.status == 400, refused.response
    assert "error" in refused.response
    assert payment(stripe_app, top.payment_id).status == "open" and balance(stripe_app) == 0
    assert stripe_server.send(event).status == 200  # the same event, signed right, credits
    assert balance(stripe_app) == 1250


def test_webhook_reasons_say_what_is_wrong(stripe_app, stripe_server, customer):
    session = stripe_server.mark_paid(start_topup(stripe_app, customer).session_id)
    event = stripe_server.event("checkout.session.completed", session)
    reasons = {
        how: stripe_server.send(event, how=how).response
        for how in ("wrong_secret", "stale", "malformed", "unsigned")
    }
    assert "signature does not verify" in reasons["wrong_secret"]
    assert "tolerance" in reasons["stale"]
    assert "not a valid event" in reasons["malformed"]
    assert "Stripe-Signature header is missing" in reasons["unsigned"]


def test_delayed_payment_that_fails_credits_nothing(stripe_app, stripe_server, customer):
    top = start_topup(stripe_app, customer)
    stripe_server.pay(top.session_id, delayed=True)  # completed, but still unpaid
    assert stripe_server.deliveries[-1].status == 200
    assert "Waiting for the payment" in customer.get(f"/wallet/return/{top.payment_id}").text
    stripe_server.fail_async(top.session_id)
    assert stripe_server.deliveries[-1].status == 200
    row = payment(stripe_app, top.payment_id)
    assert row.status == "failed" and "failed at Stripe" in row.failure_reason
    assert balance(stripe_app) == 0
    assert "did not go through" in customer.get(f"/wallet/return/{top.payment_id}").text


def test_delayed_payment_that_succeeds_credits_once(stripe_app, stripe_server, customer):
    top = start_topup(stripe_app, customer)
    stripe_server.pay(top.session_id, delayed=True)
    assert balance(stripe_app) == 0
    stripe_server.succeed_async(top.session_id)
    stripe_server.replay(2)
    customer.get(f"/wallet/return/{top.payment_id}")
    assert balance(stripe_app) == 1250 and topup_entries(stripe_app) == 1


def test_expired_session(stripe_app, stripe_server, customer):
    top = start_topup(stripe_app, customer)
    stripe_server.expire(top.session_id)
    row = payment(stripe_app, top.payment_id)
    assert row.status == "expired" and balance(stripe_app) == 0


def test_return_page_sees_an_expiry_without_the_webhook(stripe_app, stripe_server, customer):
    top = start_topup(stripe_app, customer)
    stripe_server.expire(top.session_id, webhook=False)
    assert "did not go through" in customer.get(f"/wallet/return/{top.payment_id}").text
    assert payment(stripe_app, top.payment_id).status == "expired"


def test_other_events_and_other_sessions_are_acknowledged(stripe_app, stripe_server, customer):
    other = stripe_server.send(
        stripe_server.event("customer.created", {"id": "cus_1", "object": "customer"})
    )
    assert (other.status, other.response.strip()) == (200, '{"applied":0}')  # not even kept
    foreign = {
        "id": "cs_test_not_ours",
        "object": "checkout.session",
        "payment_status": "paid",
        "status": "complete",
        "amount_total": 500,
        "currency": "usd",
    }
    sent = stripe_server.send(stripe_server.event("checkout.session.completed", foreign))
    assert sent.status == 200 and json.loads(sent.response)["applied"] == 0
