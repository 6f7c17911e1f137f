"""Settlement credits once, whichever of webhook / return / check-again comes first."""

from __future__ import annotations

import json

import pytest

from kernel.accounts.models import User
from kernel.extensions import db
from kernel.payments import debts, ledger
from kernel.payments.inbox import receive
from kernel.payments.models import Payment
from kernel.payments.providers import PAID, SessionStatus, WebhookError
from kernel.payments.settlement import PaymentError, refresh, settle, start_topup
from kernel.payments.takebacks import refund


def payer():
    return db.session.scalar(db.select(User).where(User.email == "payer@example.com"))


def start(amount=1500, **kwargs):
    return start_topup(
        payer(), amount, "testpay", return_urls=lambda p: ("http://x/ok", "http://x/no"), **kwargs
    )


def paid_webhook(payment, **extra):
    event = {
        "kind": "paid",
        "external_id": payment.external_id,
        "amount": payment.amount_charged,
        "currency": payment.currency,
        **extra,
    }
    return json.dumps([event]).encode()


def test_webhook_then_return_then_replays_credit_once(pay_app, testpay):
    with pay_app.app_context():
        payment = start()
        assert payment.checkout_url.endswith(payment.external_id) and payment.status == "open"
        testpay.SESSIONS[payment.external_id]["status"] = "paid"
        for _ in range(20):
            receive("testpay", paid_webhook(payment), {"X-Sig": "trusted"})
        refresh(payment)
        assert payment.status == "paid"
        assert ledger.balance(payer().id) == 1500 == ledger.ledger_sum(payer().id)


def test_return_before_webhook(pay_app, testpay):
    with pay_app.app_context():
        payment = start(900)
        assert refresh(payment).status == "open"  # not paid yet: nothing happens
        testpay.SESSIONS[payment.external_id]["status"] = "paid"
        refresh(payment)
        receive("testpay", paid_webhook(payment), {"X-Sig": "trusted"})
        assert ledger.balance(payer().id) == 900


@pytest.mark.parametrize(
    "headers,body", [({"X-Sig": "forged"}, None), ({"X-Sig": "trusted"}, b"{nope")]
)
def test_bad_webhooks_change_nothing(pay_app, headers, body):
    with pay_app.app_context():
        payment = start()
        with pytest.raises(WebhookError):
            receive("testpay", body or paid_webhook(payment), headers)
        assert ledger.balance(payer().id) == 0 and payment.status == "open"


def test_amount_mismatch_is_not_credited(pay_app):
    with pay_app.app_context():
        payment = start(1000)
        settle("testpay", payment.external_id, SessionStatus(PAID, 1, "USD"), source="webhook")
        assert payment.status == "failed" and "expected 1000 USD" in payment.failure_reason
        assert ledger.balance(payer().id) == 0


def test_failed_payment_credits_nothing(pay_app):
    with pay_app.app_context():
        payment = start()
        body = json.dumps(
            [{"kind": "failed", "external_id": payment.external_id, "reason": "card declined"}]
        ).encode()
        receive("testpay", body, {"X-Sig": "trusted"})
        assert payment.status == "failed" and payment.failure_reason == "card declined"
        assert ledger.balance(payer().id) == 0


def test_discounted_topup_charges_less_and_refund_takes_back_the_credited_share(pay_app, testpay):
    with pay_app.app_context():
        payment = start(1000, charge=800)
        testpay.SESSIONS[payment.external_id]["status"] = "paid"
        refresh(payment)
        assert ledger.balance(payer().id) == 1000
        refund(payment, 400)  # half the charge -> half the credit
        assert ledger.balance(payer().id) == 500 and payment.status == "partially_refunded"
        with pytest.raises(PaymentError, match="between 0 and 4.00 USD"):
            refund(payment, 401)


def test_refund_the_balance_cannot_cover_needs_force(pay_app, testpay):
    with pay_app.app_context():
        payment = start(1000)
        testpay.SESSIONS[payment.external_id]["status"] = "paid"
        refresh(payment)
        ledger.debit(payer().id, 700, "purchase", "spent")
        with pytest.raises(PaymentError, match="cannot cover 10.00 USD"):
            refund(payment, 1000)
        assert testpay.REFUNDS == []
        refund(payment, 1000, force=True)
        assert ledger.balance(payer().id) == 0 and payment.status == "refunded"
        assert payment.meta["refunds"]["re_1"]["debited"] == 300
        assert payment.meta["refunds"]["re_1"]["owed"] == 700  # the rest is a debt, not lost
        assert debts.outstanding(payer().id) == 700
        # the provider's refund webhook for the same refund changes nothing more
        body = json.dumps(
            [
                {
                    "kind": "refunded",
                    "external_id": payment.external_id,
                    "refund_id": "re_1",
                    "amount": 1000,
                }
            ]
        ).encode()
        receive("testpay", body, {"X-Sig": "trusted"})
        assert ledger.balance(payer().id) == 0 == ledger.ledger_sum(payer().id)
        assert debts.outstanding(payer().id) == 700 and debts.invariant_violations() == []


def test_unknown_provider_is_refused(pay_app):
    with pay_app.app_context():
        with pytest.raises(PaymentError, match="not available"):
            start_topup(payer(), 100, "nope", return_urls=lambda p: ("x", "y"))
        assert db.session.scalar(db.select(db.func.count(Payment.id))) == 0


# --- what a provider reports after the fact (through the webhook route, as providers call it) ---


def _webhook(app, *events):
    answer = app.test_client().post(
        "/payments/testpay/webhook", data=json.dumps(list(events)), headers={"X-Sig": "trusted"}
    )
    assert answer.status_code == 200, answer.text
    return answer


def _topup(app, amount="15.00"):
    """A customer starts a top-up in the wallet; returns the payment's (id, external id)."""
    client = app.test_client()
    assert (
        client.post(
            "/login", data={"email": "payer@example.com", "password": "payer-password-1"}
        ).status_code
        == 302
    )
    location = client.post("/wallet/topup", data={"amount": amount, "provider": "testpay"}).location
    with app.app_context():
        payment = db.session.scalar(
            db.select(Payment).where(Payment.external_id == location.rsplit("/", 1)[1])
        )
        return payment.id, payment.external_id, client


def test_paid_in_another_currency_is_not_credited(pay_app):
    """The amount matches and only the currency differs: 1500 EUR is not 1500 USD."""
    payment_id, external_id, client = _topup(pay_app)
    _webhook(
        pay_app, {"kind": "paid", "external_id": external_id, "amount": 1500, "currency": "EUR"}
    )
    with pay_app.app_context():
        payment = db.session.get(Payment, payment_id)
        assert payment.status == "failed"
        assert payment.failure_reason == (
            "provider reported 1500 EUR, expected 1500 USD; not credited"
        )
        assert ledger.balance(payer().id) == 0 == ledger.ledger_sum(payer().id)
    assert "Wallet · 0.00 USD" in client.get("/dashboard").text
    # the same currency in the provider's own spelling is the same currency
    other_id, other_external, _ = _topup(pay_app, "4.00")
    _webhook(
        pay_app, {"kind": "paid", "external_id": other_external, "amount": 400, "currency": "usd"}
    )
    with pay_app.app_context():
        assert db.session.get(Payment, other_id).status == "paid"
        assert ledger.balance(payer().id) == 400


@pytest.mark.parametrize("late", ["failed", "expired"])
def test_a_late_failed_or_expired_event_leaves_a_paid_payment_paid(pay_app, late):
    """Providers deliver out of order: a session's "expired" or a declined retry's "failed"
    can arrive after its "paid". The money was credited; the payment stays paid."""
    payment_id, external_id, client = _topup(pay_app)
    _webhook(
        pay_app, {"kind": "paid", "external_id": external_id, "amount": 1500, "currency": "USD"}
    )
    _webhook(pay_app, {"kind": late, "external_id": external_id, "reason": "session ended"})
    with pay_app.app_context():
        payment = db.session.get(Payment, payment_id)
        assert (payment.status, payment.failure_reason) == ("paid", "")
        assert ledger.balance(payer().id) == 1500 == ledger.ledger_sum(payer().id)
    page = client.get(f"/wallet/return/{payment_id}")
    assert "Payment received" in page.text
    assert "Continue payment" not in client.get("/wallet").text
