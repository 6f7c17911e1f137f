"""Refunds: from the admin through Stripe, and from the Stripe dashboard (webhook only)."""

from __future__ import annotations

import json
import threading
import time

import pytest

from kernel.extensions import db
from kernel.payments import settlement, takebacks
from kernel.payments.models import LedgerEntry, Payment, ProviderEvent
from tests.stripe.conftest import balance, configure, paid_topup, payment


def refund_entries(app) -> list[int]:
    with app.app_context():
        return list(
            db.session.scalars(
                db.select(LedgerEntry.amount)
                .where(LedgerEntry.kind == "refund")
                .order_by(LedgerEntry.id)
            )
        )


def deliver_when_queued(fake) -> None:
    deadline = time.monotonic() + 10
    while not fake.outbox and time.monotonic() < deadline:
        time.sleep(0.001)
    fake.flush()


def admin_refund(app, payment_id: int, amount: int) -> Payment:
    with app.app_context():
        return takebacks.refund(db.session.get(Payment, payment_id), amount, actor="admin")


@pytest.mark.parametrize("webhook", ["after", "racing"])
def test_admin_refund_debits_once_with_its_webhook(stripe_app, stripe_server, customer, webhook):
    top = paid_topup(stripe_app, stripe_server, customer)
    racer = None
    if webhook == "racing":  # Stripe's charge.refunded may overtake the admin's own bookkeeping
        racer = threading.Thread(target=deliver_when_queued, args=(stripe_server,))
        racer.start()
    admin_refund(stripe_app, top.payment_id, 500)
    if racer is not None:
        racer.join()
    stripe_server.flush()
    stripe_server.replay(3)
    deliveries = [d for d in stripe_server.deliveries if d.type == "charge.refunded"]
    assert deliveries and {d.status for d in deliveries} == {200}
    (refund,) = stripe_server.refunds.values()
    session = stripe_server.session(top.session_id)
    assert (refund["amount"], refund["payment_intent"]) == (500, session["payment_intent"])
    assert refund["metadata"] == {"payment_id": str(top.payment_id)}
    assert refund_entries(stripe_app) == [-500] and balance(stripe_app) == 750
    row = payment(stripe_app, top.payment_id)
    assert row.status == "partially_refunded" and row.amount_refunded == 500
    assert row.meta["refunds"][refund["id"]]["amount"] == 500


def test_dashboard_refunds_debit_from_the_webhook(stripe_app, stripe_server, customer):
    top = paid_topup(stripe_app, stripe_server, customer)
    first = stripe_server.refund(top.session_id, 400)  # current API: refunds listed via the API
    assert stripe_server.deliveries[-1].status == 200
    assert balance(stripe_app) == 850
    assert ("GET", "/v1/refunds") in [(m, p) for m, p, _ in stripe_server.requests]
    stripe_server.refund(top.session_id, embed_refunds=True)  # the rest; both refunds embedded
    stripe_server.replay(2)
    assert refund_entries(stripe_app) == [-400, -850] and balance(stripe_app) == 0
    row = payment(stripe_app, top.payment_id)
    assert row.status == "refunded" and row.amount_refunded == 1250
    assert row.meta["refunds"][first["id"]]["source"] == "webhook"


def test_refund_of_a_charge_pteroca_did_not_start_is_ignored(stripe_app, stripe_server, live):
    charge = {
        "id": "ch_elsewhere",
        "object": "charge",
        "amount": 900,
        "currency": "usd",
        "payment_intent": "pi_elsewhere",
        "refunded": True,
    }
    sent = stripe_server.send(stripe_server.event("charge.refunded", charge))
    assert sent.status == 200 and json.loads(sent.response)["applied"] == 0


def test_refund_webhook_that_cannot_look_up_the_charge_is_kept_and_tried_again(
    stripe_app, stripe_server, customer
):
    top = paid_topup(stripe_app, stripe_server, customer)
    configure(stripe_app, secret_key="sk_test_revoked")
    stripe_server.refund(top.session_id, 100)
    kept = stripe_server.deliveries[-1]
    assert kept.status == 200 and json.loads(kept.response)["applied"] == 0  # recorded, not lost
    assert balance(stripe_app) == 1250
    with stripe_app.app_context():
        event = db.session.scalar(db.select(ProviderEvent).order_by(ProviderEvent.id.desc()))
        assert event.status == "failed" and "secret key was rejected by Stripe" in event.error
        assert event.next_attempt_at is not None
    configure(stripe_app, secret_key=stripe_server.secret_key)
    assert stripe_server.replay()[0].status == 200  # Stripe retries: the recorded event runs again
    assert balance(stripe_app) == 1150
    with stripe_app.app_context():
        assert db.session.get(ProviderEvent, event.id).status == "done"


def test_admin_refund_refused_by_stripe_changes_nothing(stripe_app, stripe_server, customer):
    top = paid_topup(stripe_app, stripe_server, customer)
    stripe_server.refund(top.session_id, 1250, webhook=False)  # already refunded in full at Stripe
    with pytest.raises(settlement.PaymentError) as caught:
        admin_refund(stripe_app, top.payment_id, 100)
    assert "Card (Stripe) refused the refund: Stripe refused to refund payment pi_" in str(
        caught.value
    )
    assert "greater than unrefunded amount" in str(caught.value)
    assert refund_entries(stripe_app) == [] and balance(stripe_app) == 1250
