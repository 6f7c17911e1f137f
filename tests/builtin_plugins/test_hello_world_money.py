"""hello_world's money hooks: payment_settled, wallet_changed, veto_wallet_credit."""

from __future__ import annotations

import pytest

from kernel.accounts.models import User
from kernel.extensions import db
from kernel.payments import ledger
from kernel.payments.models import Payment
from kernel.payments.providers import PAID, SessionStatus
from kernel.payments.settlement import settle
from tests.builtin_plugins.test_hello_world import audit_actions, hello  # noqa: F401


def customer():
    return db.session.scalar(db.select(User).where(User.email == "cust@example.com"))


def open_payment(amount=500):
    payment = Payment(
        user_id=customer().id,
        provider="manual",
        external_id="ext-1",
        status="open",
        currency="USD",
        amount_charged=amount,
        amount_credited=amount,
        amount_refunded=0,
    )
    db.session.add(payment)
    db.session.commit()
    return payment


def test_hook_payment_settled(hello):  # noqa: F811
    with hello.app_context():
        payment = open_payment()
        settle("manual", "ext-1", SessionStatus(PAID, 500, "USD"), source="test")
        settle("manual", "ext-1", SessionStatus(PAID, 500, "USD"), source="test")
        assert payment.status == "paid"
    assert audit_actions(hello).count("hello_world.thanks_for_paying") == 1


def test_hook_payment_refunded(hello):  # noqa: F811
    from kernel.audit import AuditLog
    from kernel.payments.takebacks import record_refund

    with hello.app_context():
        payment = open_payment()
        settle("manual", "ext-1", SessionStatus(PAID, 500, "USD"), source="test")
        record_refund("manual", "ext-1", "re_1", 200, source="webhook")
        record_refund("manual", "ext-1", "re_1", 200, source="admin")  # the same refund again
        record_refund("manual", "ext-1", "re_2", 300, source="webhook")
        seen = [
            (a.target, a.details)
            for a in db.session.scalars(
                db.select(AuditLog).where(AuditLog.action == "hello_world.saw_refund")
            )
        ]
        assert payment.status == "refunded"
    assert seen == [
        (str(payment.id), {"amount": 200, "kind": "refund"}),
        (str(payment.id), {"amount": 300, "kind": "refund"}),
    ]


def test_hook_wallet_changed(hello):  # noqa: F811
    with hello.app_context():
        ledger.credit(customer().id, 250, "adjustment", "gift-1")
        ledger.debit(customer().id, 50, "purchase", "buy-1")
    assert audit_actions(hello).count("hello_world.saw_wallet_change") == 2


def test_hook_veto_wallet_credit(hello, monkeypatch):  # noqa: F811
    monkeypatch.setenv("PTEROCA_PLUGIN_HELLO_WORLD_MAX_CREDIT", "1000")
    with hello.app_context():
        with pytest.raises(ledger.CreditRefused, match="refuses credits above 1000"):
            ledger.credit(customer().id, 1001, "topup", "big")
        payment = open_payment(2000)
        settle("manual", "ext-1", SessionStatus(PAID, 2000, "USD"), source="test")
        assert payment.status == "failed" and "refuses credits above 1000" in payment.failure_reason
        assert ledger.balance(customer().id) == 0
        ledger.credit(customer().id, 1000, "topup", "ok")
        assert ledger.balance(customer().id) == 1000
