"""The ledger keeps balance == sum(ledger) >= 0 under any interleaving of movements."""

from __future__ import annotations

import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kernel.accounts.services import create_user
from kernel.extensions import db
from kernel.payments import ledger
from kernel.payments.ledger import InsufficientFunds


@pytest.fixture
def user_id(app):
    with app.app_context():
        return create_user("wallet@example.com", "wallet-password-1").id


def test_credit_debit_and_idempotent_reference(app, user_id):
    with app.app_context():
        assert ledger.credit(user_id, 1000, "topup", "t1").created
        again = ledger.credit(user_id, 1000, "topup", "t1")
        assert not again.created and ledger.balance(user_id) == 1000
        ledger.debit(user_id, 400, "purchase", "p1")
        with pytest.raises(InsufficientFunds):
            ledger.debit(user_id, 601, "purchase", "p2")
        assert ledger.balance(user_id) == 600 == ledger.ledger_sum(user_id)
        assert [e.reference for e in ledger.entries(user_id)] == ["p1", "t1"]
        with pytest.raises(ledger.LedgerConflict):
            ledger.credit(user_id, 5, "topup", "t1")
        with pytest.raises(TypeError):
            ledger.credit(user_id, 1.5, "topup", "float")


def test_failed_debit_inside_a_larger_transaction_rolls_back_only_itself(app, user_id):
    with app.app_context():
        ledger.credit(user_id, 100, "topup", "seed")
        ledger.credit(user_id, 50, "bonus", "bonus-1", commit=False)
        with pytest.raises(InsufficientFunds):
            ledger.debit(user_id, 1000, "purchase", "too-much", commit=False)
        db.session.commit()
        assert ledger.balance(user_id) == 150 == ledger.ledger_sum(user_id)
        assert ledger.invariant_violations() == []


movement = st.tuples(
    st.sampled_from(["credit", "debit"]),
    st.integers(min_value=1, max_value=5000),
    st.integers(min_value=0, max_value=30),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(movement, max_size=40))
def test_invariant_under_any_sequence(app, user_id, moves):
    with app.app_context():
        expected = ledger.balance(user_id)
        for kind, amount, ref in moves:
            reference = f"{kind}-{amount}-{ref}"
            try:
                if kind == "credit":
                    posted = ledger.credit(user_id, amount, "topup", reference)
                else:
                    posted = ledger.debit(user_id, amount, "purchase", reference)
            except InsufficientFunds:
                assert expected < amount
                continue
            except ledger.LedgerConflict:
                continue
            if posted.created:
                expected += posted.entry.amount
        assert ledger.balance(user_id) == expected == ledger.ledger_sum(user_id) >= 0
        assert ledger.invariant_violations() == []


@pytest.fixture
def any_db_app(instance, database_url):
    from kernel.testing import build_app

    return build_app(instance, **({"DATABASE_URL": database_url} if database_url else {}))


def test_concurrent_debits_never_overdraw(any_db_app):
    app = any_db_app
    with app.app_context():
        user_id = create_user("racer@example.com", "racer-password-1").id
        ledger.credit(user_id, 1000, "topup", "seed")
    results = []

    def spend(i):
        with app.app_context():
            try:
                ledger.debit(user_id, 100, "purchase", f"buy-{i}")
                results.append("ok")
            except InsufficientFunds:
                results.append("refused")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=spend, args=(i,)) for i in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("ok") == 10 and results.count("refused") == 20
    with app.app_context():
        assert ledger.balance(user_id) == 0 == ledger.ledger_sum(user_id)
