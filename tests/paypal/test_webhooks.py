"""PayPal webhooks (verified by PayPal's verify-webhook-signature) and refunds."""

from __future__ import annotations

import json

import pytest

from kernel.extensions import db
from kernel.payments import ledger
from kernel.payments.models import LedgerEntry, Payment, ProviderEvent
from kernel.payments.settlement import PaymentError
from kernel.payments.takebacks import refund
from kernel.testing import login
from tests.paypal.conftest import EMAIL, PASSWORD, buyer_approves

HOOK = "/payments/paypal/webhook"


def approved_order(app, client, amount="12.50") -> tuple[Payment, str]:
    """A top-up the buyer approved at PayPal but whose return page was never loaded."""
    back = buyer_approves(
        client.post("/wallet/topup", data={"amount": amount, "provider": "paypal"}).location
    )
    with app.app_context():
        return db.session.scalar(db.select(Payment).order_by(Payment.id.desc())), back


def post(app, delivery):
    body, headers = delivery
    return app.test_client().post(HOOK, data=body, headers=headers)


def state(app, payment_id):
    with app.app_context():
        payment = db.session.get(Payment, payment_id)
        return (
            payment.status,
            ledger.balance(payment.user_id),
            db.session.scalar(db.select(db.func.count(LedgerEntry.id))),
        )


def test_return_then_capture_webhook_and_20_replays_credit_once(paypal_app, paypal):
    client = login(paypal_app, EMAIL, PASSWORD)
    payment, back = approved_order(paypal_app, client)
    assert "Payment received" in client.get(back).text
    delivery = paypal.capture_completed(payment.external_id)
    first = post(paypal_app, delivery)
    assert first.status_code == 200 and first.get_json()["applied"] == 1
    for _ in range(20):  # PayPal delivering the same event again: recorded once, answered at once
        response = post(paypal_app, delivery)
        assert response.status_code == 200 and response.get_json()["duplicate"] is True
    assert state(paypal_app, payment.id) == ("paid", 1250, 1)
    assert len(paypal.verifications) == 1


def test_capture_webhook_first_then_return_page(paypal_app, paypal):
    client = login(paypal_app, EMAIL, PASSWORD)
    payment, back = approved_order(paypal_app, client, "7")
    paypal.capture(payment.external_id)  # captured by another request (e.g. a second tab)
    assert post(paypal_app, paypal.capture_completed(payment.external_id)).status_code == 200
    assert state(paypal_app, payment.id) == ("paid", 700, 1)
    assert "Payment received" in client.get(back).text
    assert state(paypal_app, payment.id) == ("paid", 700, 1)
    with paypal_app.app_context():
        assert db.session.get(Payment, payment.id).meta["settled_by"] == "webhook"


def test_order_approved_webhook_captures_and_credits(paypal_app, paypal):
    client = login(paypal_app, EMAIL, PASSWORD)
    payment, back = approved_order(paypal_app, client, "9.99")
    delivery = paypal.order_approved(payment.external_id)
    for _ in range(3):
        assert post(paypal_app, delivery).status_code == 200
    assert paypal.capture_of(payment.external_id)["status"] == "COMPLETED"
    assert state(paypal_app, payment.id) == ("paid", 999, 1)
    assert "Payment received" in client.get(back).text
    assert len([r for r in paypal.requests if r[1].endswith("/capture")]) == 1


def test_order_approved_for_another_application_is_left_alone(paypal_app, paypal):
    client = login(paypal_app, EMAIL, PASSWORD)
    payment, _ = approved_order(paypal_app, client)
    order = paypal.order(payment.external_id)
    order["purchase_units"][0]["reference_id"] = "someone-else-42"
    response = post(paypal_app, paypal.webhook("CHECKOUT.ORDER.APPROVED", order))
    assert response.status_code == 200 and response.get_json()["applied"] == 0
    assert paypal.order(payment.external_id)["status"] == "APPROVED"
    assert state(paypal_app, payment.id) == ("open", 0, 0)


def test_capture_denied_webhook_fails_the_payment(paypal_app, paypal):
    client = login(paypal_app, EMAIL, PASSWORD)
    payment, back = approved_order(paypal_app, client)
    paypal.decline_next_capture("capture")
    paypal.capture(payment.external_id)
    assert post(paypal_app, paypal.capture_denied(payment.external_id)).status_code == 200
    assert state(paypal_app, payment.id) == ("failed", 0, 0)
    assert "PayPal declined the payment method" in client.get(back).text


@pytest.mark.parametrize(
    "tamper",
    [
        "unverifiable",
        "other_webhook_id",
        "edited_body",
        "missing_header",
        "malformed_body",
        "not_an_event",
    ],
)
def test_bad_webhooks_change_nothing(paypal_app, paypal, tamper):
    """What needs no network is refused at once (400); a signature only PayPal can check is
    answered 200, checked by the job, recorded as rejected and never applied."""
    client = login(paypal_app, EMAIL, PASSWORD)
    payment, _ = approved_order(paypal_app, client)
    paypal.capture(payment.external_id)
    body, headers = paypal.capture_completed(
        payment.external_id, verifiable=tamper != "unverifiable"
    )
    if tamper == "other_webhook_id":
        paypal.webhook_id = "WH-SOMEONE-ELSE"
    elif tamper == "edited_body":
        event = json.loads(body)
        event["resource"]["amount"]["value"] = "1250.00"
        body = json.dumps(event).encode()
    elif tamper == "missing_header":
        headers.pop("PAYPAL-TRANSMISSION-SIG")
    elif tamper == "malformed_body":
        body = body[:-5]
    elif tamper == "not_an_event":
        body = b'["PAYMENT.CAPTURE.COMPLETED"]'
    response = post(paypal_app, (body, headers))
    assert state(paypal_app, payment.id) == ("open", 0, 0)
    verified = {"unverifiable", "other_webhook_id", "edited_body"}
    assert len(paypal.verifications) == (1 if tamper in verified else 0)
    if tamper in verified:
        assert response.status_code == 200 and response.get_json()["applied"] == 0
        with paypal_app.app_context():
            event = db.session.scalar(db.select(ProviderEvent).order_by(ProviderEvent.id.desc()))
            assert event.status == "rejected" and not event.verified
            assert "did not verify the webhook signature (FAILURE)" in event.error
        # the genuine delivery of the same event id is not shadowed by the forged one
        paypal.webhook_id = "WH-TEST-1"
        genuine = post(paypal_app, paypal.capture_completed(payment.external_id))
        assert genuine.status_code == 200 and state(paypal_app, payment.id) == ("paid", 1250, 1)
        return
    assert response.status_code == 400
    words = {
        "missing_header": "without the PAYPAL-TRANSMISSION-SIG header",
        "malformed_body": "not JSON",
        "not_an_event": "no event_type",
    }
    assert words[tamper] in response.text


def test_webhook_without_a_webhook_id_setting_is_refused(paypal_app, paypal, monkeypatch):
    from tests.paypal.conftest import ENV

    client = login(paypal_app, EMAIL, PASSWORD)
    payment, _ = approved_order(paypal_app, client)
    paypal.capture(payment.external_id)
    monkeypatch.setenv(ENV + "WEBHOOK_ID", "")
    response = post(paypal_app, paypal.capture_completed(payment.external_id))
    assert response.status_code == 400 and "webhook ID is not set" in response.text
    assert state(paypal_app, payment.id) == ("open", 0, 0)


def test_other_events_are_acknowledged_and_ignored(paypal_app, paypal):
    delivery = paypal.webhook("CUSTOMER.DISPUTE.CREATED", {"dispute_id": "PP-D-1"})
    response = post(paypal_app, delivery)
    assert response.status_code == 200 and response.get_json() == {"applied": 0}
    assert paypal.verifications == []  # not of interest: not kept, PayPal not asked


def paid(app, paypal, amount="12.50") -> Payment:
    client = login(app, EMAIL, PASSWORD)
    payment, back = approved_order(app, client, amount)
    assert "Payment received" in client.get(back).text
    with app.app_context():
        return db.session.get(Payment, payment.id)


def test_admin_refund_debits_once_also_when_the_webhook_follows(paypal_app, paypal):
    payment = paid(paypal_app, paypal)
    with paypal_app.app_context():
        payment = db.session.get(Payment, payment.id)
        refund(payment, 500, actor="admin@example.com")
        assert ledger.balance(payment.user_id) == 750
        assert payment.status == "partially_refunded" and payment.amount_refunded == 500
        (refund_id,) = payment.meta["refunds"]
    assert paypal.refunds[refund_id]["amount"] == {"currency_code": "USD", "value": "5.00"}
    assert paypal.capture_of(payment.external_id)["status"] == "PARTIALLY_REFUNDED"
    delivery = paypal.capture_refunded(paypal.refunds[refund_id])
    assert post(paypal_app, delivery).get_json()["applied"] == 1
    for _ in range(4):
        assert post(paypal_app, delivery).get_json()["duplicate"] is True
    with paypal_app.app_context():
        payment = db.session.get(Payment, payment.id)
        assert ledger.balance(payment.user_id) == 750 and payment.amount_refunded == 500
        refund(payment, 750)
        assert ledger.balance(payment.user_id) == 0 and payment.status == "refunded"
        with pytest.raises(PaymentError, match="between 0 and"):
            refund(payment, 1)
    assert paypal.capture_of(payment.external_id)["status"] == "REFUNDED"
    assert len(paypal.refunds) == 2


def test_refund_made_at_paypal_arrives_by_webhook(paypal_app, paypal):
    payment = paid(paypal_app, paypal, "20")
    made = paypal.refund(payment.external_id, "20.00")  # from PayPal's dashboard
    assert "supplementary_data" not in made  # the order is found through the capture
    for _ in range(3):  # three deliveries (new transmissions each): recorded, debited once
        assert post(paypal_app, paypal.capture_refunded(made)).get_json()["applied"] == 1
    with paypal_app.app_context():
        payment = db.session.get(Payment, payment.id)
        assert payment.status == "refunded" and ledger.balance(payment.user_id) == 0
        assert payment.meta["refunds"][made["id"]]["source"] == "webhook"


def test_refund_paypal_refuses_is_a_readable_error(paypal_app, paypal):
    payment = paid(paypal_app, paypal, "10")
    paypal.refund(payment.external_id, "4.00")  # PayPal already refunded part elsewhere
    with paypal_app.app_context():
        payment = db.session.get(Payment, payment.id)
        with pytest.raises(PaymentError) as caught:
            refund(payment, 1000)
        assert str(caught.value) == (
            "PayPal refused the refund: PayPal refused the request: The refund amount must be "
            "less than or equal to the capture amount that has not yet been refunded. "
            "[UNPROCESSABLE_ENTITY/REFUND_AMOUNT_EXCEEDED]"
        )
        assert ledger.balance(payment.user_id) == 1000
