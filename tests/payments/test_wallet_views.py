"""Wallet pages and the webhook route, through the test client."""

from __future__ import annotations

import json

from kernel.extensions import db
from kernel.payments import ledger
from kernel.payments.models import Payment


def logged_in(app):
    client = app.test_client()
    assert (
        client.post(
            "/login", data={"email": "payer@example.com", "password": "payer-password-1"}
        ).status_code
        == 302
    )
    return client


def test_topup_return_and_balance(pay_app, testpay):
    client = logged_in(pay_app)
    page = client.get("/wallet")
    assert "Test Pay" in page.text and "0.00 USD" in page.text
    response = client.post("/wallet/topup", data={"amount": "12.50", "provider": "testpay"})
    assert response.status_code == 303 and response.location.startswith("https://pay.test/ts_")
    external_id = response.location.rsplit("/", 1)[1]
    with pay_app.app_context():
        payment = db.session.scalar(db.select(Payment))
        assert payment.amount_charged == 1250 and payment.status == "open"
    waiting = client.get(f"/wallet/return/{payment.id}")
    assert "Waiting for the payment" in waiting.text
    assert "Continue payment" in client.get("/wallet").text
    testpay.SESSIONS[external_id]["status"] = "paid"
    assert client.post(f"/wallet/payments/{payment.id}/check").status_code == 302
    done = client.get(f"/wallet/return/{payment.id}")
    assert "Payment received" in done.text and "12.50 USD" in done.text
    assert "Wallet · 12.50 USD" in client.get("/dashboard").text


def test_bad_amounts_and_methods_are_400_with_a_message(pay_app):
    client = logged_in(pay_app)
    for data, words in [
        ({"amount": "abc", "provider": "testpay"}, "is not an amount"),
        ({"amount": "1.234", "provider": "testpay"}, "at most 2 decimal"),
        ({"amount": "5", "provider": "bogus"}, "is not available"),
    ]:
        response = client.post("/wallet/topup", data=data)
        assert response.status_code == 400 and words in response.text
    with pay_app.app_context():
        assert db.session.scalar(db.select(db.func.count(Payment.id))) == 0


def test_other_users_payment_is_404(pay_app):
    from kernel.accounts.services import create_user

    client = logged_in(pay_app)
    client.post("/wallet/topup", data={"amount": "5", "provider": "testpay"})
    with pay_app.app_context():
        create_user("other@example.com", "other-password-1")
        payment_id = db.session.scalar(db.select(Payment.id))
    other = pay_app.test_client()
    other.post("/login", data={"email": "other@example.com", "password": "other-password-1"})
    assert other.get(f"/wallet/return/{payment_id}").status_code == 404
    assert other.post(f"/wallet/payments/{payment_id}/check").status_code == 404


def test_webhook_route(pay_app, testpay):
    client = logged_in(pay_app)
    location = client.post("/wallet/topup", data={"amount": "3", "provider": "testpay"}).location
    body = json.dumps(
        [
            {
                "kind": "paid",
                "external_id": location.rsplit("/", 1)[1],
                "amount": 300,
                "currency": "USD",
            }
        ]
    )
    hook = pay_app.test_client()
    assert (
        hook.post("/payments/testpay/webhook", data=body, headers={"X-Sig": "nope"}).status_code
        == 400
    )
    ok = hook.post("/payments/testpay/webhook", data=body, headers={"X-Sig": "trusted"})
    assert ok.status_code == 200 and ok.get_json() == {"applied": 1}
    assert hook.post("/payments/nobody/webhook", data=body).status_code == 404
    with pay_app.app_context():
        assert ledger.balance(1) == 300
