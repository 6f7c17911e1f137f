"""What one purchase costs the database: at most 12 SQL statements (issue 20), counted through
the engine as the other statement budgets are (tests/kernel/test_request_cost.py).

Counted: every statement the purchase sends, savepoints included, except SQLite's ``BEGIN``
(the kernel sends it itself to choose the transaction mode; psycopg begins PostgreSQL's
transactions without a statement of its own, so counting it would make the two databases
disagree). The transactions are pinned separately. The jobs go to a queue (as with Redis in
production): what they do later is the worker's work, not the purchase's.
"""

from __future__ import annotations

import re

import pytest

from kernel.extensions import db
from kernel.payments import ledger
from kernel.testing import TEST_PASSWORD, login, make_customer, statements
from tests.store.conftest import recorder_product

BUDGET = 12


def counted(seen: list[str]) -> list[str]:
    return [s for s in seen if not s.startswith("BEGIN")]


class Queue:
    """An rq queue that only records what it is handed."""

    def __init__(self):
        self.jobs: list[tuple[str, list, str]] = []

    def enqueue_call(self, func, args, kwargs, job_id=None, **options):
        self.jobs.append((func, list(args), job_id))


@pytest.fixture
def queue(monkeypatch):
    from kernel import jobs

    recorder = Queue()
    monkeypatch.setattr(jobs, "uses_rq", lambda: True)
    monkeypatch.setattr(jobs, "_queue", lambda name: recorder)
    return recorder


@pytest.fixture
def shop(store_app, recorder):
    with store_app.app_context():
        product = recorder_product("mc-small", price=1000)
        db.session.commit()
        customer = make_customer(balance=5000)
        ids = {"product": product.id, "plan": product.plans[0].id, "user": customer.id}
        db.session.remove()
    return ids


def buy_once(app, shop, name: str, **kwargs):
    """One purchase by a customer loaded in this transaction (as a request's login loads them),
    its statements, and the service."""
    from builtin_plugins.store import services
    from kernel.accounts.models import User

    with app.app_context():
        token = services.new_purchase_token(db.session.get(User, shop["user"]))
        db.session.remove()
        user = db.session.get(User, shop["user"])
        with statements(app) as seen:
            service = services.purchase(
                user,
                token=token,
                product_id=shop["product"],
                plan_id=shop["plan"],
                name=name,
                **kwargs,
            )
            state, service_id = service.state, service.id  # read: no reload either
        db.session.remove()
    return seen, service_id, state, token


def test_a_purchase_runs_at_most_twelve_statements(store_app, shop, queue):
    seen, service_id, state, _ = buy_once(store_app, shop, "Budget")
    assert len(counted(seen)) <= BUDGET, "\n".join(seen)
    assert state == "provisioning"
    # nothing is read twice: the product and plan in one query, no reload after the commit
    assert len([s for s in seen if "FROM store_product" in s]) == 1, seen
    assert not [s for s in seen if s.startswith("SELECT store_service")], seen
    assert not [s for s in seen if s.startswith("SELECT user")], seen
    # the charge's transaction and the hand-over's: no more (SQLite names them)
    if store_app.config["DATABASE_URL"].startswith("sqlite"):
        assert len([s for s in seen if s.startswith("BEGIN")]) <= 3, seen
    [(job, _, job_id)] = queue.jobs  # the server's job, handed over once
    assert job.endswith("converge")
    with store_app.app_context():
        from kernel.outbox import OutboxMessage

        row = db.session.get(OutboxMessage, int(job_id.removeprefix("outbox-")))
        assert row.status == "dispatched" and row.attempts == 1
        assert ledger.balance(shop["user"]) == 4000 == ledger.ledger_sum(shop["user"])
        assert not ledger.invariant_violations()


def test_the_lean_purchase_keeps_its_rules(store_app, shop, queue):
    """The cuts keep the money rules: a repeated form returns the first server, a refused
    purchase writes nothing and leaves the form usable, the balance never goes below zero."""
    from builtin_plugins.store import services
    from builtin_plugins.store.models import PurchaseToken, Service
    from kernel.accounts.models import User

    seen, first, _, token = buy_once(store_app, shop, "Once")
    with store_app.app_context():
        user = db.session.get(User, shop["user"])
        again = services.purchase(
            user, token=token, product_id=shop["product"], plan_id=shop["plan"], name="Once"
        )
        assert again.id == first
        # the form used again after the product left the store still finds its server
        assert (
            services.purchase(user, token=token, product_id=shop["product"], plan_id=0, name="x")
        ).id == first
        token = services.new_purchase_token(user)
        with pytest.raises(services.StoreError, match="name"):
            services.purchase(
                user, token=token, product_id=shop["product"], plan_id=shop["plan"], name=" "
            )
        ledger.debit(shop["user"], 3500, "adjustment", "budget:drain")
        with pytest.raises(services.StoreError, match="balance is too low"):
            services.purchase(
                db.session.get(User, shop["user"]),
                token=token,
                product_id=shop["product"],
                plan_id=shop["plan"],
                name="Broke",
            )
        assert db.session.get(PurchaseToken, token) is not None  # the form can be sent again
        assert db.session.scalar(db.select(db.func.count(Service.id))) == 1
        assert ledger.balance(shop["user"]) == 500 == ledger.ledger_sum(shop["user"])


def test_the_checkout_request_stays_within_its_count(store_app, shop, queue):
    """The whole POST of the order form (login, CSRF, the page's own reads, the purchase and the
    redirect), so a regression outside the service shows too."""
    client = login(store_app, "buyer@example.com", TEST_PASSWORD)
    page = client.get("/store/product/mc-small/checkout")
    token = re.search(r'name="token" value="([^"]+)"', page.text).group(1)
    with statements(store_app) as seen:
        response = client.post(
            "/store/product/mc-small/checkout",
            data={"token": token, "plan": shop["plan"], "name": "Form"},
        )
    assert response.status_code == 303, response.text
    assert len(counted(seen)) <= 18, "\n".join(seen)


def test_the_dashboard_with_the_store_reads_each_thing_once(store_app, shop):
    """The logged-in dashboard with the store's widget (issue 20's overhead benchmark page):
    the login, the settings, the wallet, the recent activity and the servers; no query per
    server and none for what the widget does not show (products, plans)."""
    from builtin_plugins.store.testing import make_server

    with store_app.app_context():
        for n in range(3):
            make_server(shop["user"], f"Server {n}")
        db.session.commit()
    client = login(store_app, "buyer@example.com", TEST_PASSWORD)
    assert client.get("/dashboard").status_code == 200  # warm: templates compiled
    with statements(store_app) as seen:
        page = client.get("/dashboard")
    assert page.status_code == 200 and "Server 2" in page.text
    assert len(counted(seen)) <= 5, "\n".join(seen)
    assert not [s for s in seen if "FROM store_product" in s or "FROM store_price_plan" in s]
