"""Debts beside the wallet: money taken back beyond the balance is owed, never lost, never a
negative balance; the next credit pays it first; staff see it and are told."""

from __future__ import annotations

import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kernel import hookimpl, plugin_manager
from kernel.accounts.services import create_user
from kernel.extensions import db
from kernel.mail import EmailLog
from kernel.models import AuditLog
from kernel.payments import debts, ledger
from kernel.payments.models import Debt, LedgerEntry
from tests.helpers import make_user


@pytest.fixture
def user_id(app):
    with app.app_context():
        return create_user("owes@example.com", "owes-password-1").id


def take(user_id: int, amount: int, reference: str) -> debts.TakeBack:
    result = debts.take_or_owe(
        user_id, amount, "chargeback", reference, {"why": "test"}, reason="payment #1 disputed"
    )
    db.session.commit()
    debts.announce(result)
    return result


def test_take_back_within_the_balance_opens_no_debt(app, user_id):
    with app.app_context():
        ledger.credit(user_id, 1000, "topup", "t1")
        result = take(user_id, 400, "cb-1")
        assert (result.taken, result.owed, result.debt) == (400, 0, None)
        assert ledger.balance(user_id) == 600 and debts.outstanding(user_id) == 0
        assert debts.refusal(user_id) is None


def test_take_back_beyond_the_balance_owes_the_rest_and_blocks(app, user_id):
    with app.app_context():
        ledger.credit(user_id, 300, "topup", "t1")
        result = take(user_id, 1000, "cb-1")
        assert (result.taken, result.owed) == (300, 700)
        assert ledger.balance(user_id) == 0 == ledger.ledger_sum(user_id)
        assert debts.outstanding(user_id) == 700
        reason = debts.refusal(user_id)
        assert "owes 7.00 USD" in reason and "top up your wallet" in reason
        again = take(user_id, 1000, "cb-1")  # the same take-back delivered again: nothing more
        assert not again.created and debts.outstanding(user_id) == 700
        assert ledger.balance(user_id) == 0 and debts.invariant_violations() == []


def test_an_empty_wallet_owes_all_of_it(app, user_id):
    with app.app_context():
        result = take(user_id, 250, "cb-1")
        assert (result.taken, result.owed, result.posted) == (0, 250, None)
        assert db.session.scalar(db.select(db.func.count(LedgerEntry.id))) == 0


def test_next_credit_pays_debts_first_oldest_first(app, user_id):
    with app.app_context():
        take(user_id, 500, "cb-1")
        take(user_id, 300, "cb-2")
        first, second = sorted(debts.of_user(user_id), key=lambda d: d.id)
        posted = ledger.credit(user_id, 600, "topup", "t1")
        assert [e.amount for e in posted.debt_payments] == [-500, -100]
        assert ledger.balance(user_id) == 0 and debts.outstanding(user_id) == 200
        db.session.refresh(first)
        db.session.refresh(second)
        assert first.outstanding == 0 and first.settled_at is not None
        assert second.outstanding == 200 and second.settled_at is None
        ledger.credit(user_id, 1000, "topup", "t2")
        assert ledger.balance(user_id) == 800 and debts.outstanding(user_id) == 0
        assert debts.refusal(user_id) is None
        kinds = [(e.kind, e.amount) for e in reversed(ledger.entries(user_id))]
        assert kinds == [
            ("topup", 600),
            ("debt_payment", -500),
            ("debt_payment", -100),
            ("topup", 1000),
            ("debt_payment", -200),
        ]
        assert debts.paid_of(first) == 500 and debts.invariant_violations() == []
        assert ledger.invariant_violations() == []


def test_a_replayed_credit_pays_nothing_twice(app, user_id):
    with app.app_context():
        take(user_id, 500, "cb-1")
        ledger.credit(user_id, 300, "topup", "t1")
        again = ledger.credit(user_id, 300, "topup", "t1")
        assert not again.created and again.debt_payments == ()
        assert debts.outstanding(user_id) == 200 and ledger.balance(user_id) == 0


def test_debt_payments_fire_wallet_changed(app, user_id):
    seen = []

    class Listener:
        @hookimpl
        def wallet_changed(self, user, entry):
            seen.append((entry.kind, entry.amount))

    with app.app_context():
        plugin_manager().register(Listener(), name="listener")
        take(user_id, 100, "cb-1")
        ledger.credit(user_id, 250, "topup", "t1")
    assert seen == [("topup", 250), ("debt_payment", -100)]


def test_staff_are_alerted_once_per_debt(app, user_id):
    with app.app_context():
        make_user("boss@example.com", role="admin")
        make_user("other@example.com")  # a customer: not told
        take(user_id, 900, "cb-1")
        take(user_id, 900, "cb-1")
        mails = db.session.scalars(db.select(EmailLog)).all()
        assert [m.recipient for m in mails] == ["boss@example.com"]
        assert mails[0].subject == "A customer owes 9.00 USD"
        audit = db.session.scalars(
            db.select(AuditLog).where(AuditLog.action == "wallet.debt_opened")
        ).all()
        assert len(audit) == 1 and audit[0].details["amount"] == 900


def test_write_off_needs_a_reason_and_is_audited(app, user_id):
    with app.app_context():
        take(user_id, 400, "cb-1")
        (debt,) = debts.of_user(user_id)
        with pytest.raises(debts.DebtError, match="give a reason"):
            debts.write_off(debt.id, actor="boss@example.com", note="  ")
        debts.write_off(debt.id, actor="boss@example.com", note="goodwill")
        assert debts.outstanding(user_id) == 0 and debt.forgiven == 400
        with pytest.raises(debts.DebtError, match="already settled"):
            debts.write_off(debt.id, actor="boss@example.com", note="again")
        with pytest.raises(debts.DebtError, match="no debt #999"):
            debts.write_off(999, actor="boss@example.com", note="x")
        ledger.credit(user_id, 100, "topup", "t1")  # nothing owed any more: all of it stays
        assert ledger.balance(user_id) == 100 and debts.invariant_violations() == []


def test_the_database_refuses_impossible_debts(app, user_id):
    from sqlalchemy.exc import IntegrityError

    with app.app_context():
        for amount, outstanding, forgiven in (
            (0, 0, 0),
            (100, 101, 0),
            (100, -1, 0),
            (100, 60, 50),
        ):
            db.session.add(
                Debt(
                    user_id=user_id,
                    amount=amount,
                    outstanding=outstanding,
                    forgiven=forgiven,
                    kind="x",
                    reason="",
                    meta={},
                    reference=f"bad-{amount}-{outstanding}",
                )
            )
            with pytest.raises(IntegrityError):
                db.session.commit()
            db.session.rollback()


def test_amounts_are_checked(app, user_id):
    with app.app_context():
        for bad in (0, -5, 1.5, True):
            with pytest.raises(ledger.MoneyError):
                debts.take_or_owe(user_id, bad, "chargeback", "r", reason="x")


# -- the invariant under any sequence --------------------------------------------------------

move = st.tuples(
    st.sampled_from(["credit", "debit", "take_back", "write_off", "forgive"]),
    st.integers(min_value=1, max_value=3000),
    st.integers(min_value=0, max_value=12),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(move, max_size=40))
def test_balance_and_debts_stay_consistent_under_any_sequence(app, user_id, moves):
    """balance == sum(ledger) >= 0; every debt == outstanding + forgiven + paid; never money
    and a debt at once; what the customer owes plus holds moves exactly by what happened."""
    with app.app_context():
        net = ledger.balance(user_id) - debts.outstanding(user_id)  # holdings minus debts
        for kind, amount, ref in moves:
            reference = f"{kind}-{amount}-{ref}"
            if kind == "credit":
                try:
                    posted = ledger.credit(user_id, amount, "topup", reference)
                except ledger.LedgerConflict:
                    continue
                net += amount if posted.created else 0
            elif kind == "debit":
                try:
                    posted = ledger.debit(user_id, amount, "purchase", reference)
                except (ledger.InsufficientFunds, ledger.LedgerConflict):
                    db.session.rollback()
                    continue
                net -= amount if posted.created else 0
            elif kind == "take_back":
                result = debts.take_or_owe(user_id, amount, "chargeback", reference, reason="t")
                db.session.commit()
                net -= amount if result.created else 0
            else:
                owed = debts.of_user(user_id, open_only=True)
                if not owed:
                    continue
                debt = owed[ref % len(owed)]
                if kind == "write_off":
                    net += debt.outstanding
                    debts.write_off(debt.id, actor="staff", note="property test")
                else:
                    net += debts.forgive(debt, amount, why="property test")
                    db.session.commit()
            balance, owes = ledger.balance(user_id), debts.outstanding(user_id)
            assert balance == ledger.ledger_sum(user_id) >= 0
            assert not (balance > 0 and owes > 0)
            assert balance - owes == net
        assert ledger.invariant_violations() == [] and debts.invariant_violations() == []


@pytest.fixture
def any_db_app(instance, database_url):
    from kernel.testing import build_app

    return build_app(instance, **({"DATABASE_URL": database_url} if database_url else {}))


def test_concurrent_take_backs_debits_and_credits_never_overdraw(any_db_app):
    app = any_db_app
    with app.app_context():
        user_id = create_user("racer@example.com", "racer-password-1").id
        ledger.credit(user_id, 1000, "topup", "seed")
    errors: list[BaseException] = []

    def work(i):
        with app.app_context():
            try:
                if i % 3 == 0:
                    take(user_id, 150, f"cb-{i}")
                elif i % 3 == 1:
                    try:
                        ledger.debit(user_id, 100, "purchase", f"buy-{i}")
                    except ledger.InsufficientFunds:
                        db.session.rollback()
                else:
                    ledger.credit(user_id, 50, "topup", f"top-{i}")
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    with app.app_context():
        balance, owes = ledger.balance(user_id), debts.outstanding(user_id)
        spent = -sum(e.amount for e in ledger.entries(user_id, 500) if e.kind == "purchase")
        # 1000 + 10 credits of 50 - 10 take-backs of 150 - what purchases spent
        assert balance - owes == 1000 + 500 - 1500 - spent
        assert balance == ledger.ledger_sum(user_id) >= 0 and not (balance and owes)
        assert ledger.invariant_violations() == [] and debts.invariant_violations() == []
