"""The webhook and the return page settling the same payment at the same moment credit it once.

Nothing here is specific to SQLite: the same test holds on any database the app is built on.
"""

from __future__ import annotations

import threading

from kernel.extensions import db
from kernel.payments.models import LedgerEntry, Payment
from kernel.testing import login
from tests.helpers import PASSWORD
from tests.stripe.conftest import CUSTOMER, balance, start_topup

ROUNDS = 20


def test_webhook_and_return_page_racing_credit_once(stripe_app, stripe_server, customer):
    other = stripe_app.test_client()  # the customer's second tab
    login(other, CUSTOMER, PASSWORD)
    returning = [customer, other]
    errors: list[BaseException] = []
    for _ in range(ROUNDS):
        top = start_topup(stripe_app, customer, "2.50")
        session = stripe_server.mark_paid(top.session_id)
        event = stripe_server.event("checkout.session.completed", session)
        gate = threading.Barrier(2 + len(returning))

        def deliver(event=event, gate=gate):
            gate.wait()
            delivery = stripe_server.send(event)
            assert delivery.status == 200, delivery.response

        def come_back(client, payment_id=top.payment_id, gate=gate):
            gate.wait()
            page = client.get(f"/wallet/return/{payment_id}")
            assert page.status_code == 200 and "Payment received" in page.text

        def guarded(target, *args):
            try:
                target(*args)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=guarded, args=(deliver,)) for _ in range(2)]
        threads += [threading.Thread(target=guarded, args=(come_back, c)) for c in returning]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not errors, errors
    with stripe_app.app_context():
        statuses = set(db.session.scalars(db.select(Payment.status)))
        entries = db.session.scalar(db.select(db.func.count(LedgerEntry.id)))
    assert statuses == {"paid"} and entries == ROUNDS
    assert balance(stripe_app) == ROUNDS * 250
