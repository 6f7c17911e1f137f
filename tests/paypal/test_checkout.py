"""Top-ups through PayPal Orders v2: create, approve at PayPal, return (capture), settle once."""

from __future__ import annotations

import time

from kernel.extensions import db
from kernel.payments import ledger
from kernel.payments.models import LedgerEntry, Payment
from kernel.testing import login
from tests.paypal.conftest import EMAIL, ENV, PASSWORD, buyer_approves


def start(client, amount="12.50"):
    response = client.post("/wallet/topup", data={"amount": amount, "provider": "paypal"})
    assert response.status_code == 303, response.text
    return response.location


def the_payment(app) -> Payment:
    with app.app_context():
        return db.session.scalar(db.select(Payment))


def test_wallet_offers_paypal_and_creates_an_order(paypal_app, paypal):
    client = login(paypal_app, EMAIL, PASSWORD)
    assert "PayPal" in client.get("/wallet").text
    location = start(client)
    payment = the_payment(paypal_app)
    assert location == f"{paypal.url}/checkoutnow?token={payment.external_id}"
    order = paypal.order(payment.external_id)
    unit = order["purchase_units"][0]
    assert order["intent"] == "CAPTURE" and order["status"] == "PAYER_ACTION_REQUIRED"
    assert unit["amount"] == {"currency_code": "USD", "value": "12.50"}
    assert unit["custom_id"] == str(payment.id)
    assert (
        paypal.orders[payment.external_id]["_return_url"]
        == f"http://localhost/wallet/return/{payment.id}"
    )
    assert "Waiting for the payment" in client.get(f"/wallet/return/{payment.id}").text
    assert ("POST", f"/v2/checkout/orders/{payment.external_id}/capture") not in paypal.requests


def test_approve_then_return_captures_and_credits_once(paypal_app, paypal):
    client = login(paypal_app, EMAIL, PASSWORD)
    back = buyer_approves(start(client))
    payment = the_payment(paypal_app)
    assert back.startswith(f"/wallet/return/{payment.id}?token={payment.external_id}&PayerID=")
    page = client.get(back)
    assert "Payment received" in page.text and "12.50 USD" in page.text
    capture = paypal.capture_of(payment.external_id)
    assert capture["status"] == "COMPLETED"
    for _ in range(3):  # reloading the return page and "check again" change nothing
        client.get(back)
        client.post(f"/wallet/payments/{payment.id}/check")
    captures = [r for r in paypal.requests if r[1].endswith("/capture")]
    assert len(captures) == 1
    with paypal_app.app_context():
        assert ledger.balance(payment.user_id) == 1250
        assert db.session.scalar(db.select(db.func.count(LedgerEntry.id))) == 1
        assert db.session.get(Payment, payment.id).meta["settled_by"] == "return"


def test_declined_capture_credits_nothing_and_says_why(paypal_app, paypal):
    client = login(paypal_app, EMAIL, PASSWORD)
    back = buyer_approves(start(client, "30"))
    paypal.decline_next_capture("instrument")
    page = client.get(back)
    assert "The payment did not go through" in page.text
    assert "PayPal declined the payment method; nothing was charged." in page.text
    payment = the_payment(paypal_app)
    assert payment.status == "failed"
    with paypal_app.app_context():
        assert ledger.balance(payment.user_id) == 0


def test_capture_with_status_declined_is_failed_too(paypal_app, paypal):
    client = login(paypal_app, EMAIL, PASSWORD)
    back = buyer_approves(start(client, "30"))
    paypal.decline_next_capture("capture")
    assert "PayPal declined the payment method" in client.get(back).text
    assert paypal.capture_of(the_payment(paypal_app).external_id)["status"] == "DECLINED"
    with paypal_app.app_context():
        assert ledger.balance(1) == 0


def test_voided_order_expires_and_cancel_returns_to_the_wallet(paypal_app, paypal):
    client = login(paypal_app, EMAIL, PASSWORD)
    start(client)
    payment = the_payment(paypal_app)
    cancelled = client.get(f"/wallet/cancel/{payment.id}", follow_redirects=True)
    assert "nothing was charged" in cancelled.text
    paypal.void(payment.external_id)
    assert "PayPal voided the order" in client.get(f"/wallet/return/{payment.id}").text
    assert the_payment(paypal_app).status == "expired"


def test_order_paypal_forgot_expires(paypal_app, paypal):
    client = login(paypal_app, EMAIL, PASSWORD)
    start(client)
    payment = the_payment(paypal_app)
    del paypal.orders[payment.external_id]  # PayPal drops orders nobody approved
    assert "PayPal no longer knows this order" in client.get(f"/wallet/return/{payment.id}").text
    assert the_payment(paypal_app).status == "expired"


def test_bad_credentials_give_a_clear_message(paypal_app, paypal, monkeypatch):
    monkeypatch.setenv(ENV + "CLIENT_SECRET", "wrong-secret")
    client = login(paypal_app, EMAIL, PASSWORD)
    response = client.post("/wallet/topup", data={"amount": "5", "provider": "paypal"})
    assert response.status_code == 400
    assert (
        "PayPal is not available right now: PayPal rejected the client credentials "
        "(invalid_client: Client Authentication failed)"
    ) in response.text
    payment = the_payment(paypal_app)
    assert payment.status == "failed"
    assert "rejected the client credentials" in payment.failure_reason
    assert paypal.orders == {}


def test_unreachable_paypal_is_a_clear_message(paypal_app, paypal, monkeypatch):
    from tests.fakes.osv_server import unreachable_url

    monkeypatch.setenv(ENV + "BASE_URL", unreachable_url())
    response = login(paypal_app, EMAIL, PASSWORD).post(
        "/wallet/topup", data={"amount": "5", "provider": "paypal"}
    )
    assert response.status_code == 400
    assert "PayPal could not be reached at http://127.0.0.1:" in response.text


def test_unconfigured_paypal_is_not_offered(enabled, fresh, monkeypatch):
    from kernel.accounts.services import create_user

    app = fresh(enabled)
    with app.app_context():
        create_user("payer@example.com", "payer-password-1", verified=True)
    client = login(app, EMAIL, PASSWORD)
    assert "PayPal" not in client.get("/wallet").text
    response = client.post("/wallet/topup", data={"amount": "5", "provider": "paypal"})
    assert response.status_code == 400 and "PayPal cannot take USD payments" in response.text


def test_stored_settings_are_overridden_by_the_environment(paypal_app, paypal, monkeypatch):
    from kernel.plugins.settings import set_settings, settings_for

    with paypal_app.app_context():
        manifest = paypal_app.extensions["pteroca"].discovered["paypal_payments"].manifest
        set_settings(
            manifest,
            {
                "client_id": paypal.client_id,
                "client_secret": "stored-wrong",
                "base_url": paypal.url,
                "webhook_id": "WH-stored",
            },
        )
        assert settings_for("paypal_payments")["client_secret"] == paypal.client_secret
    client = login(paypal_app, EMAIL, PASSWORD)
    assert start(client).startswith(paypal.url)  # the environment's secret was used
    monkeypatch.delenv(ENV + "CLIENT_SECRET")
    with paypal_app.app_context():
        assert settings_for("paypal_payments")["client_secret"] == "stored-wrong"
    response = client.post("/wallet/topup", data={"amount": "5", "provider": "paypal"})
    assert response.status_code == 400 and "rejected the client credentials" in response.text


def test_access_token_is_cached_and_renewed_when_revoked(paypal_app, paypal):
    client = login(paypal_app, EMAIL, PASSWORD)
    for _ in range(3):
        start(client, "1")
    assert paypal.token_requests == 1
    paypal.revoke_tokens()  # PayPal answers 401 to the cached token: fetch a new one, once
    start(client, "1")
    assert paypal.token_requests == 2


def test_short_lived_tokens_are_renewed_before_they_expire(paypal_app, paypal):
    paypal.token_lifetime = 1  # a token is renewed halfway through its life
    client = login(paypal_app, EMAIL, PASSWORD)
    start(client, "1")
    start(client, "1")
    assert paypal.token_requests == 1
    time.sleep(0.6)
    start(client, "1")
    assert paypal.token_requests == 2
