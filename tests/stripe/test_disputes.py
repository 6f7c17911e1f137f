"""Disputes and failed refunds at Stripe: every money event is applied exactly once; money the
wallet cannot give back is a visible debt that the next top-up settles."""

from __future__ import annotations

import json

from kernel.extensions import db
from kernel.mail import EmailLog
from kernel.payments import debts, ledger
from kernel.payments.models import Debt, LedgerEntry
from kernel.testing import login
from tests.helpers import PASSWORD, make_user
from tests.stripe.conftest import CUSTOMER, balance, paid_topup, payment, start_topup

ADMIN = "boss@example.com"


def kinds(app) -> list[tuple[str, int]]:
    with app.app_context():
        return [
            (e.kind, e.amount)
            for e in db.session.scalars(db.select(LedgerEntry).order_by(LedgerEntry.id))
        ]


def owed(app) -> int:
    from kernel.accounts.models import User

    with app.app_context():
        user_id = db.session.scalar(db.select(User.id).where(User.email == CUSTOMER))
        assert debts.invariant_violations() == [] and ledger.invariant_violations() == []
        return debts.outstanding(user_id)


def spend(app, amount: int) -> None:
    """The customer spends part of the wallet (a purchase), so a chargeback cannot be covered."""
    from kernel.accounts.models import User

    with app.app_context():
        user_id = db.session.scalar(db.select(User.id).where(User.email == CUSTOMER))
        ledger.debit(user_id, amount, "purchase", f"spent-{amount}")


def redeliver(fake, prefix: str = "charge.dispute.") -> None:
    """Stripe delivering every dispute event again (freshly signed, as its retries are)."""
    for delivery in [d for d in fake.deliveries if d.type.startswith(prefix)]:
        assert fake.send(json.loads(delivery.body)).status == 200


def test_a_dispute_debits_exactly_once(stripe_app, stripe_server, customer):
    top = paid_topup(stripe_app, stripe_server, customer)
    dispute = stripe_server.dispute(top.session_id)
    sent = [d for d in stripe_server.deliveries if d.type.startswith("charge.dispute.")]
    assert [(d.type, d.status) for d in sent] == [
        ("charge.dispute.created", 200),
        ("charge.dispute.funds_withdrawn", 200),
    ]
    redeliver(stripe_server)
    redeliver(stripe_server)
    assert kinds(stripe_app) == [("topup", 1250), ("chargeback", -1250)]
    assert balance(stripe_app) == 0 and owed(stripe_app) == 0
    row = payment(stripe_app, top.payment_id)
    assert row.status == "charged_back" and row.amount_refunded == 1250
    record = row.meta["reversals"][dispute["id"]]
    assert (record["amount"], record["debited"], record["owed"]) == (1250, 1250, 0)


def test_a_dispute_beyond_the_balance_is_a_visible_debt_the_next_top_up_settles(
    stripe_app, stripe_server, customer
):
    with stripe_app.app_context():
        make_user(ADMIN, role="admin")
    top = paid_topup(stripe_app, stripe_server, customer)
    spend(stripe_app, 1000)  # 2.50 left in the wallet
    stripe_server.dispute(top.session_id, reason="product_not_received")
    redeliver(stripe_server)
    assert kinds(stripe_app) == [("topup", 1250), ("purchase", -1000), ("chargeback", -250)]
    assert balance(stripe_app) == 0 and owed(stripe_app) == 1000

    wallet = customer.get("/wallet")
    assert 'data-testid="debt"' in wallet.text and "Your account owes 10.00 USD" in wallet.text
    assert "disputed at Stripe (product not received)" in wallet.text
    admin = stripe_app.test_client()
    login(admin, ADMIN, PASSWORD)
    adjust = admin.get(f"/admin/wallets/?email={CUSTOMER}")
    assert "owes 10.00 USD" in adjust.text and 'id="wallet-debts"' in adjust.text
    detail = admin.get(f"/admin/payments/{top.payment_id}")
    assert "charged_back" in detail.text and "owes 10.00 USD" in detail.text
    assert "Chargebacks and reversals" in detail.text and "Debts from this payment" in detail.text
    assert "1 customer(s) owe 10.00 USD" in admin.get("/admin/payments/").text
    with stripe_app.app_context():
        mails = db.session.scalars(db.select(EmailLog).where(EmailLog.recipient == ADMIN)).all()
        assert [m.subject for m in mails] == ["A customer owes 10.00 USD"]

    again = start_topup(stripe_app, customer, "15.00")  # the next top-up pays the debt first
    stripe_server.pay(again.session_id)
    assert balance(stripe_app) == 500 and owed(stripe_app) == 0
    assert kinds(stripe_app)[-2:] == [("topup", 1500), ("debt_payment", -1000)]
    assert 'data-testid="debt"' not in customer.get("/wallet").text
    with stripe_app.app_context():
        (debt,) = db.session.scalars(db.select(Debt)).all()
        assert debt.outstanding == 0 and debt.settled_at is not None


def test_a_won_dispute_gives_back_what_was_taken_and_forgives_the_rest(
    stripe_app, stripe_server, customer
):
    top = paid_topup(stripe_app, stripe_server, customer)
    spend(stripe_app, 1000)
    dispute = stripe_server.dispute(top.session_id)
    assert balance(stripe_app) == 0 and owed(stripe_app) == 1000
    partly = start_topup(stripe_app, customer, "4.00")  # pays 4.00 of the debt
    stripe_server.pay(partly.session_id)
    assert balance(stripe_app) == 0 and owed(stripe_app) == 600
    events = stripe_server.close_dispute(dispute["id"], won=True)
    assert [e["type"] for e in events] == [
        "charge.dispute.funds_reinstated",
        "charge.dispute.closed",
    ]
    redeliver(stripe_server)
    # taken from the balance 2.50 + paid of the debt 4.00 come back; 6.00 owed is forgiven
    assert balance(stripe_app) == 650 and owed(stripe_app) == 0
    row = payment(stripe_app, top.payment_id)
    assert row.status == "paid" and row.amount_refunded == 0
    assert row.meta["reversals"][dispute["id"]]["reinstated"] == {
        "credited": 650,
        "forgiven": 600,
        "source": "webhook",
    }
    assert [k for k in kinds(stripe_app) if k[0] == "reinstated"] == [("reinstated", 650)]


def test_an_inquiry_moves_no_money(stripe_app, stripe_server, customer):
    top = paid_topup(stripe_app, stripe_server, customer)
    inquiry = stripe_server.dispute(top.session_id, inquiry=True)
    stripe_server.close_dispute(inquiry["id"], won=False)
    assert [d.status for d in stripe_server.deliveries][-2:] == [200, 200]
    assert balance(stripe_app) == 1250 and payment(stripe_app, top.payment_id).status == "paid"


def test_a_lost_dispute_whose_earlier_events_were_missed_is_taken_back_once(
    stripe_app, stripe_server, customer
):
    top = paid_topup(stripe_app, stripe_server, customer)
    dispute = stripe_server.dispute(top.session_id, 800, webhook=False)  # never delivered
    stripe_server.close_dispute(dispute["id"], won=False)
    stripe_server.replay(3)
    assert kinds(stripe_app)[-1] == ("chargeback", -800) and balance(stripe_app) == 450
    assert payment(stripe_app, top.payment_id).status == "charged_back"


def test_a_dispute_of_a_charge_pteroca_did_not_start_is_acknowledged(
    stripe_app, stripe_server, live
):
    stray = {
        "id": "dp_elsewhere",
        "object": "dispute",
        "amount": 900,
        "currency": "usd",
        "charge": "ch_elsewhere",
        "payment_intent": "pi_elsewhere",
        "status": "needs_response",
        "reason": "fraudulent",
    }
    sent = stripe_server.send(stripe_server.event("charge.dispute.funds_withdrawn", stray))
    assert sent.status == 200 and json.loads(sent.response)["applied"] == 0


def test_a_refund_that_failed_gives_the_money_back(stripe_app, stripe_server, customer):
    from kernel.payments.models import Payment
    from kernel.payments.takebacks import refund

    top = paid_topup(stripe_app, stripe_server, customer)
    with stripe_app.app_context():
        refund(db.session.get(Payment, top.payment_id), 500, actor="admin")
    stripe_server.flush()
    assert balance(stripe_app) == 750
    (made,) = stripe_server.refunds.values()
    stripe_server.fail_refund(made["id"])
    stripe_server.replay(2)
    assert balance(stripe_app) == 1250
    row = payment(stripe_app, top.payment_id)
    assert row.status == "paid" and row.amount_refunded == 0
    assert kinds(stripe_app)[-1] == ("reinstated", 500)


def test_a_refund_beyond_the_balance_from_the_dashboard_is_a_debt(
    stripe_app, stripe_server, customer
):
    top = paid_topup(stripe_app, stripe_server, customer)
    spend(stripe_app, 1200)
    stripe_server.refund(top.session_id)  # all 12.50, from Stripe's dashboard
    assert balance(stripe_app) == 0 and owed(stripe_app) == 1200
    assert payment(stripe_app, top.payment_id).meta["refunds"]
    assert "Your account owes 12.00 USD" in customer.get("/wallet").text
    with stripe_app.app_context():
        make_user(ADMIN, role="admin")
    admin = stripe_app.test_client()
    login(admin, ADMIN, PASSWORD)
    assert "owes 12.00 USD" in admin.get(f"/admin/wallets/?email={CUSTOMER}").text
    assert "owes 12.00 USD" in admin.get(f"/admin/payments/{top.payment_id}").text
    again = start_topup(stripe_app, customer, "20.00")
    stripe_server.pay(again.session_id)  # the next top-up settles it first
    assert balance(stripe_app) == 800 and owed(stripe_app) == 0
    assert "Your account owes" not in customer.get("/wallet").text
    assert 'id="owes"' not in admin.get(f"/admin/wallets/?email={CUSTOMER}").text
