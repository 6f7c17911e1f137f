"""Concurrent buyers and concurrent sweeps: money and stock invariants hold."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from kernel import clock
from kernel.extensions import db
from kernel.payments import ledger
from kernel.testing import make_customer
from tests.store.conftest import recorder_product


@pytest.fixture
def store_db(database_url):
    """Every test here runs on SQLite and on PostgreSQL."""
    return database_url


def run_threads(app, count, target):
    results, lock = [], threading.Lock()

    def worker(i):
        with app.app_context():
            try:
                outcome = target(i)
            except Exception as exc:  # noqa: BLE001 - the refusal is the result under test
                outcome = f"{type(exc).__name__}: {exc}"
            finally:
                db.session.remove()
            with lock:
                results.append(outcome)

    db.session.commit()  # end the test's own transaction: SQLite would make the workers wait on it
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_fifty_parallel_buys_with_money_for_ten(store_app, ctx, recorder):
    from builtin_plugins.store import services
    from builtin_plugins.store.models import Service

    user = make_customer(balance=10_000)
    product_id = recorder_product(price=1000).id
    tokens = [services.new_purchase_token(user) for _ in range(50)]
    from builtin_plugins.store.models import Product

    user_id, plan_id = user.id, db.session.get(Product, product_id).plans[0].id

    def attempt(i):
        from kernel.accounts.models import User

        buyer = db.session.get(User, user_id)
        return services.purchase(
            buyer, token=tokens[i], product_id=product_id, plan_id=plan_id, name=f"s{i}"
        ).state

    results = run_threads(store_app, 50, attempt)
    assert results.count("active") == 10, results
    assert all("balance is too low" in r for r in results if r != "active")
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count(Service.id))) == 10
    assert ledger.balance(user_id) == 0 == ledger.ledger_sum(user_id)
    assert ledger.invariant_violations() == []


def test_stock_of_three_sells_three(store_app, ctx, recorder):
    from builtin_plugins.store import services
    from builtin_plugins.store.models import Product

    buyers = [make_customer(f"b{i}@example.com", balance=5000).id for i in range(12)]
    product = recorder_product(stock=3)
    product_id, plan_id = product.id, product.plans[0].id
    tokens = {}
    from kernel.accounts.models import User

    for uid in buyers:
        tokens[uid] = services.new_purchase_token(db.session.get(User, uid))

    def attempt(i):
        buyer = db.session.get(User, buyers[i])
        return services.purchase(
            buyer, token=tokens[buyers[i]], product_id=product_id, plan_id=plan_id, name="x"
        ).state

    results = run_threads(store_app, 12, attempt)
    assert results.count("active") == 3, results
    assert all("sold out" in r for r in results if r != "active")
    db.session.expire_all()
    assert db.session.get(Product, product_id).stock == 0
    assert ledger.invariant_violations() == []


def test_per_customer_limit_under_concurrency(store_app, ctx, recorder):
    from builtin_plugins.store import services
    from kernel.accounts.models import User

    user = make_customer(balance=50_000)
    product = recorder_product(limit=2)
    tokens = [services.new_purchase_token(user) for _ in range(8)]
    ids = (user.id, product.id, product.plans[0].id)

    def attempt(i):
        return services.purchase(
            db.session.get(User, ids[0]),
            token=tokens[i],
            product_id=ids[1],
            plan_id=ids[2],
            name="x",
        ).state

    results = run_threads(store_app, 8, attempt)
    assert results.count("active") == 2 and all("at most 2" in r for r in results if r != "active")


def test_two_sweeps_at_once_process_each_server_once(store_app, ctx, recorder):
    from builtin_plugins.store import sweep
    from builtin_plugins.store.testing import buy

    user = make_customer(balance=20_000)
    product = recorder_product()
    ids = sorted(buy(user, product, name=f"s{i}").id for i in range(12))
    clock.advance(timedelta(days=31))
    results = run_threads(store_app, 2, lambda i: sweep.run_lifecycle(batch=5))
    suspended = sorted(s for r in results for s in r.suspended)
    assert suspended == ids
    assert sorted(c[1] for c in recorder.CALLS if c[0] == "suspend") == ids


def test_one_order_form_submitted_twice_at_once_buys_one_server(store_app, ctx, recorder):
    """Both submissions pass the early checks; the token, used up under the wallet lock, lets
    one buy and hands the other the same server (not a second one, not a database error)."""
    from builtin_plugins.store import services
    from kernel.accounts.models import User

    user = make_customer(balance=10_000)
    product = recorder_product(price=1000)
    token = services.new_purchase_token(user)
    ids = (user.id, product.id, product.plans[0].id)

    def submit(_):
        return services.purchase(
            db.session.get(User, ids[0]),
            token=token,
            product_id=ids[1],
            plan_id=ids[2],
            name="twice",
        ).id

    results = run_threads(store_app, 6, submit)
    db.session.expire_all()
    from builtin_plugins.store.models import Service

    assert db.session.scalar(db.select(db.func.count(Service.id))) == 1
    assert len(set(results)) == 1 and isinstance(results[0], int), results
    assert ledger.balance(ids[0]) == 9000 == ledger.ledger_sum(ids[0])
    assert [c for c in recorder.CALLS if c[0] == "create"] == [("create", results[0])]


def test_a_submission_that_finds_its_token_used_meanwhile_gets_that_server(
    store_app, ctx, recorder, monkeypatch
):
    """The narrow window of the race above, made certain: the second submission passes the
    checks that need no lock, the first one commits, then the second takes the wallet lock and
    finds the token gone."""
    from builtin_plugins.store import services
    from kernel.accounts.models import User

    user = make_customer(balance=10_000)
    product = recorder_product(price=1000)
    token = services.new_purchase_token(user)
    ids = (user.id, product.id, product.plans[0].id)
    first_done = threading.Event()
    lock = services.lock_wallet

    def held_lock(*args, **kwargs):  # runs between the checks and the token's use
        if threading.current_thread().name == "second":
            db.session.rollback()  # wait outside a transaction (SQLite's write lock)
            assert first_done.wait(20)
        return lock(*args, **kwargs)

    monkeypatch.setattr(services, "lock_wallet", held_lock)
    results = {}

    def submit():
        with store_app.app_context():
            try:
                results[threading.current_thread().name] = services.purchase(
                    db.session.get(User, ids[0]),
                    token=token,
                    product_id=ids[1],
                    plan_id=ids[2],
                    name="twice",
                ).id
            except Exception as exc:  # noqa: BLE001 - the outcome under test
                results[threading.current_thread().name] = f"{type(exc).__name__}: {exc}"
            finally:
                db.session.remove()
                if threading.current_thread().name == "first":
                    first_done.set()

    db.session.commit()
    second = threading.Thread(target=submit, name="second")
    second.start()
    first = threading.Thread(target=submit, name="first")
    first.start()
    first.join()
    second.join()
    assert isinstance(results["first"], int) and results["second"] == results["first"], results
    db.session.expire_all()
    assert ledger.balance(ids[0]) == 9000
