"""PayPal: chargebacks (PAYMENT.CAPTURE.REVERSED) debit exactly once or leave a debt the next
top-up settles; a retried order create makes one order; an approved order whose webhook and
buyer never came back is captured by the convergence task."""

from __future__ import annotations

from kernel import clock
from kernel.extensions import db
from kernel.payments import converge, debts, ledger
from kernel.payments.models import LedgerEntry, Payment, ProviderEvent
from kernel.testing import login
from tests.payments.test_converge import GRACE
from tests.paypal.conftest import EMAIL, PASSWORD, buyer_approves
from tests.paypal.test_webhooks import approved_order, paid, post, state


def kinds(app) -> list[tuple[str, int]]:
    with app.app_context():
        return [
            (e.kind, e.amount)
            for e in db.session.scalars(db.select(LedgerEntry).order_by(LedgerEntry.id))
        ]


def test_a_reversal_debits_exactly_once(paypal_app, paypal):
    payment = paid(paypal_app, paypal, "20")
    reversal = paypal.reverse(payment.external_id)
    delivery = paypal.capture_reversed(reversal)
    assert post(paypal_app, delivery).get_json()["applied"] == 1
    for _ in range(3):  # the same delivery again, and new transmissions of the same reversal
        assert post(paypal_app, delivery).status_code == 200
        assert post(paypal_app, paypal.capture_reversed(reversal)).status_code == 200
    assert kinds(paypal_app) == [("topup", 2000), ("chargeback", -2000)]
    with paypal_app.app_context():
        row = db.session.get(Payment, payment.id)
        assert row.status == "charged_back" and row.amount_refunded == 2000
        assert row.meta["reversals"][reversal["id"]]["debited"] == 2000
        assert (
            "reversed by PayPal (Payment reversed)"
            in db.session.scalar(
                db.select(LedgerEntry.meta).where(LedgerEntry.kind == "chargeback")
            )["reason"]
        )


def test_a_reversal_beyond_the_balance_is_a_debt_the_next_top_up_settles(paypal_app, paypal):
    payment = paid(paypal_app, paypal, "20")
    with paypal_app.app_context():
        ledger.debit(payment.user_id, 1500, "purchase", "spent")
    paypal.reverse(payment.external_id, "12.00")
    post(paypal_app, paypal.capture_reversed(list(paypal.reversals.values())[0]))
    with paypal_app.app_context():
        assert ledger.balance(payment.user_id) == 0 and debts.outstanding(payment.user_id) == 700
    client = login(paypal_app, EMAIL, PASSWORD)
    assert "Your account owes 7.00 USD" in client.get("/wallet").text
    again, back = approved_order(paypal_app, client, "10")
    assert "Payment received" in client.get(back).text
    with paypal_app.app_context():
        assert ledger.balance(payment.user_id) == 300 and debts.outstanding(payment.user_id) == 0
        assert debts.invariant_violations() == [] and ledger.invariant_violations() == []
    assert "Your account owes" not in client.get("/wallet").text


def test_a_forged_reversal_changes_nothing(paypal_app, paypal):
    payment = paid(paypal_app, paypal, "20")
    reversal = paypal.reverse(payment.external_id)
    answer = post(paypal_app, paypal.capture_reversed(reversal, verifiable=False))
    assert answer.status_code == 200 and answer.get_json()["applied"] == 0
    assert kinds(paypal_app) == [("topup", 2000)]
    with paypal_app.app_context():
        assert (
            db.session.scalar(db.select(ProviderEvent.status).order_by(ProviderEvent.id.desc()))
            == "rejected"
        )


def test_a_retried_order_create_makes_one_order(paypal_app, paypal):
    paypal.lose_answers = 1  # PayPal creates the order; the answer is lost on the way back
    client = login(paypal_app, EMAIL, PASSWORD)
    response = client.post("/wallet/topup", data={"amount": "12.50", "provider": "paypal"})
    assert response.status_code == 303
    creates = [r for r in paypal.requests if r == ("POST", "/v2/checkout/orders")]
    assert len(creates) == 2 and len(paypal.orders) == 1
    with paypal_app.app_context():
        payment = db.session.scalar(db.select(Payment))
        assert payment.external_id in paypal.orders and payment.status == "open"


def test_the_order_create_carries_a_request_id_per_payment(paypal_app, paypal):
    from builtin_plugins.paypal_payments.provider import PayPalProvider

    client = login(paypal_app, EMAIL, PASSWORD)
    client.post("/wallet/topup", data={"amount": "5", "provider": "paypal"})
    client.post("/wallet/topup", data={"amount": "5", "provider": "paypal"})
    assert len(paypal.orders) == 2  # two top-ups: two orders
    with paypal_app.app_context():
        first = db.session.scalar(db.select(Payment).order_by(Payment.id))
        order = paypal.orders[first.external_id]
        again = PayPalProvider().create_checkout(
            payment=first, success_url=order["_return_url"], cancel_url=order["_cancel_url"]
        )
    assert again.external_id == first.external_id and len(paypal.orders) == 2


def test_an_approved_order_without_webhook_or_return_is_captured_by_the_task(paypal_app, paypal):
    client = login(paypal_app, EMAIL, PASSWORD)
    buyer_approves(
        client.post("/wallet/topup", data={"amount": "9.99", "provider": "paypal"}).location
    )
    with paypal_app.app_context():
        payment = db.session.scalar(db.select(Payment))
        payment_id, order_id = payment.id, payment.external_id
        assert payment.status == "open"
        with clock.advanced(GRACE):
            assert converge.run()["payments"] == 1
    assert state(paypal_app, payment_id) == ("paid", 999, 1)
    assert paypal.capture_of(order_id)["status"] == "COMPLETED"


def test_an_order_paypal_forgot_is_expired_by_the_task(paypal_app, paypal):
    client = login(paypal_app, EMAIL, PASSWORD)
    client.post("/wallet/topup", data={"amount": "3", "provider": "paypal"})
    with paypal_app.app_context():
        payment = db.session.scalar(db.select(Payment))
        del paypal.orders[payment.external_id]
        with clock.advanced(GRACE):
            converge.run()
        assert db.session.get(Payment, payment.id).status == "expired"


def test_an_approval_paypal_reversed_fails_the_top_up(paypal_app, paypal):
    client = login(paypal_app, EMAIL, PASSWORD)
    payment, back = approved_order(paypal_app, client)
    resource = {
        "order_id": payment.external_id,
        "purchase_units": [{"reference_id": f"pteroca-{payment.id}"}],
    }
    answer = post(paypal_app, paypal.webhook("CHECKOUT.PAYMENT-APPROVAL.REVERSED", resource))
    assert answer.get_json()["applied"] == 1
    with paypal_app.app_context():
        row = db.session.get(Payment, payment.id)
        assert row.status == "failed" and "could not take the payment" in row.failure_reason
    assert ("POST", f"/v2/checkout/orders/{payment.external_id}/capture") not in paypal.requests


def test_continue_payment_after_paypals_approval_window_makes_a_new_order(paypal_app, paypal):
    client = login(paypal_app, EMAIL, PASSWORD)
    first = client.post("/wallet/topup", data={"amount": "6", "provider": "paypal"}).location
    with paypal_app.app_context():
        payment_id = db.session.scalar(db.select(Payment.id))
    same = client.post(f"/wallet/payments/{payment_id}/continue")
    assert same.status_code == 303 and same.location == first
    with clock.advanced(GRACE * 12):  # 3 hours: PayPal no longer takes an approval
        later = client.post(f"/wallet/payments/{payment_id}/continue")
    assert later.status_code == 303 and later.location != first and len(paypal.orders) == 2
    assert paypal.order(later.location.rsplit("=", 1)[1])["purchase_units"][0]["amount"] == {
        "currency_code": "USD",
        "value": "6.00",
    }
