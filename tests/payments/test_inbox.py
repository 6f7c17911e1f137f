"""The webhook inbox: a delivery is recorded and answered at once, applied by a job exactly once,
and nothing recorded is ever left behind (lost enqueue, dead worker, provider down)."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest

from kernel import clock
from kernel.accounts.models import User
from kernel.extensions import db
from kernel.payments import converge, inbox, ledger
from kernel.payments.models import Payment, ProviderEvent
from kernel.payments.providers import WebhookError
from kernel.payments.settlement import start_topup

HOOK = "/payments/queuedpay/webhook"


def payer():
    return db.session.scalar(db.select(User).where(User.email == "payer@example.com"))


def open_payment(amount=1500) -> Payment:
    return start_topup(
        payer(), amount, "queuedpay", return_urls=lambda p: ("http://x/ok", "http://x/no")
    )


def delivery(event_id: str, payment: Payment | None = None, **extra) -> bytes:
    events = (
        []
        if payment is None
        else [
            {
                "kind": "paid",
                "external_id": payment.external_id,
                "amount": payment.amount_charged,
                "currency": payment.currency,
            }
        ]
    )
    return json.dumps({"id": event_id, "events": events, **extra}).encode()


def post(app, body: bytes, sig: str = "trusted"):
    return app.test_client().post(HOOK, data=body, headers={"X-Sig": sig})


def rows(app) -> list[tuple[str, str, int]]:
    with app.app_context():
        return [
            (e.event_id, e.status, e.attempts)
            for e in db.session.scalars(db.select(ProviderEvent).order_by(ProviderEvent.id))
        ]


def balance(app) -> int:
    with app.app_context():
        user = payer()
        assert ledger.balance(user.id) == ledger.ledger_sum(user.id)
        return ledger.balance(user.id)


@pytest.fixture
def payment_id(queued_app):
    with queued_app.app_context():
        return open_payment().id


def body_for(app, payment_id, event_id="ev_1", **extra) -> bytes:
    with app.app_context():
        return delivery(event_id, db.session.get(Payment, payment_id), **extra)


def test_a_verified_delivery_is_recorded_once_and_applied_once(queued_app, queuedpay, payment_id):
    body = body_for(queued_app, payment_id)
    first = post(queued_app, body)
    assert first.status_code == 200
    assert first.get_json() == {"received": "ev_1", "applied": 1}
    for _ in range(5):
        again = post(queued_app, body)
        assert again.get_json() == {"received": "ev_1", "duplicate": True, "status": "done"}
    assert rows(queued_app) == [("ev_1", "done", 1)] and queuedpay.CALLS == ["ev_1"]
    assert balance(queued_app) == 1500


def test_refusals_at_the_door_are_400_and_keep_nothing(queued_app, queuedpay, payment_id):
    body = body_for(queued_app, payment_id)
    assert post(queued_app, body, sig="forged").status_code == 400
    assert post(queued_app, b"{not json", sig="trusted").status_code == 400
    huge = json.dumps({"id": "big", "events": [], "pad": "x" * (inbox.MAX_BODY + 1)}).encode()
    assert post(queued_app, huge).status_code == 413  # refused before it is read
    with pytest.raises(WebhookError, match="larger than 256 KiB"), queued_app.app_context():
        inbox.receive("queuedpay", huge, {"X-Sig": "trusted"})
    ignored = post(queued_app, json.dumps({"id": "x", "type": "ignored"}).encode())
    assert ignored.get_json() == {"applied": 0}
    assert queued_app.test_client().post("/payments/nosuch/webhook", data=b"{}").status_code == 404
    assert rows(queued_app) == [] and balance(queued_app) == 0


def test_a_forged_unverified_delivery_cannot_shadow_the_genuine_one(
    queued_app, queuedpay, payment_id
):
    """An attacker who learns an event id first: their row is rejected by the job, and the
    genuine delivery (another body) is its own row and is applied."""
    forged = body_for(queued_app, payment_id, forged=True)
    assert post(queued_app, forged, sig="later").status_code == 200
    assert rows(queued_app) == [("ev_1", "rejected", 1)] and balance(queued_app) == 0
    genuine = body_for(queued_app, payment_id)
    assert post(queued_app, genuine, sig="later").get_json()["applied"] == 1
    assert [r[1] for r in rows(queued_app)] == ["rejected", "done"]
    assert balance(queued_app) == 1500
    with queued_app.app_context():
        rejected = db.session.scalar(
            db.select(ProviderEvent).where(ProviderEvent.status == "rejected")
        )
        assert rejected.error == "queuedpay never sent this" and not rejected.verified


def test_provider_down_keeps_the_event_and_the_task_retries_with_backoff(
    queued_app, queuedpay, payment_id
):
    queuedpay.DOWN.append(True)
    body = body_for(queued_app, payment_id, sig="x")
    answer = post(queued_app, body, sig="later")
    assert answer.status_code == 200 and answer.get_json()["applied"] == 0
    assert rows(queued_app) == [("ev_1", "failed", 1)]
    with queued_app.app_context():
        event = db.session.scalar(db.select(ProviderEvent))
        assert event.error == "queuedpay is down"
        first_wait = event.next_attempt_at - clock.now()
        assert timedelta(seconds=50) < first_wait <= timedelta(seconds=60)
        assert converge.run()["events"] == 0  # not due yet
        with clock.advanced(timedelta(seconds=61)):
            assert converge.run()["events"] == 1  # still down: second attempt, longer wait
            event = db.session.get(ProviderEvent, event.id)
            db.session.refresh(event)
            assert event.attempts == 2
            assert event.next_attempt_at - clock.now() > timedelta(minutes=4)
        queuedpay.DOWN.clear()
        with clock.advanced(timedelta(minutes=7)):
            assert converge.run()["events"] == 1
    assert rows(queued_app) == [("ev_1", "done", 3)] and balance(queued_app) == 1500


def test_a_lost_enqueue_is_picked_up_by_the_task(queued_app, queuedpay, payment_id, monkeypatch):
    """The row is committed before the job is queued: a process dying in between (here, an
    enqueue that goes nowhere) leaves a row the convergence task finds."""
    body = body_for(queued_app, payment_id)
    monkeypatch.setattr(inbox.jobs, "enqueue", lambda *args, **kwargs: None)
    assert post(queued_app, body).status_code == 200
    monkeypatch.undo()
    assert rows(queued_app) == [("ev_1", "received", 0)] and balance(queued_app) == 0
    with queued_app.app_context():
        assert converge.run()["events"] == 0  # just arrived: its own job may still come
        with clock.advanced(timedelta(seconds=31)):
            assert converge.run()["events"] == 1
    assert rows(queued_app) == [("ev_1", "done", 1)] and balance(queued_app) == 1500


def test_an_event_a_dead_worker_held_is_taken_over(queued_app, queuedpay, payment_id, monkeypatch):
    body = body_for(queued_app, payment_id)
    monkeypatch.setattr(inbox.jobs, "enqueue", lambda *args, **kwargs: None)
    post(queued_app, body)
    monkeypatch.undo()
    with queued_app.app_context():
        db.session.execute(
            db.update(ProviderEvent).values(status="processing", attempts=1, claimed_at=clock.now())
        )
        db.session.commit()
        assert inbox.process(1) == {"applied": 0, "skipped": True}  # claimed by someone else
        with clock.advanced(timedelta(minutes=5)):
            assert converge.run()["events"] == 0  # the holder may still be working
        with clock.advanced(timedelta(minutes=11)):
            assert converge.run()["events"] == 1
    assert rows(queued_app) == [("ev_1", "done", 2)] and balance(queued_app) == 1500


def test_gives_up_after_bounded_attempts(queued_app, queuedpay, payment_id, monkeypatch):
    monkeypatch.setattr(inbox, "MAX_ATTEMPTS", 2)
    queuedpay.DOWN.append(True)
    post(queued_app, body_for(queued_app, payment_id), sig="later")
    with queued_app.app_context(), clock.advanced(timedelta(hours=1)):
        converge.run()
        event = db.session.scalar(db.select(ProviderEvent))
        assert event.status == "rejected" and event.error.startswith("gave up after 2 attempts")
        assert converge.run()["events"] == 0


def test_a_flood_of_unverified_deliveries_is_answered_503(
    queued_app, queuedpay, payment_id, monkeypatch
):
    monkeypatch.setattr(inbox, "MAX_UNVERIFIED_PENDING", 1)
    queuedpay.DOWN.append(True)  # the first stays pending
    assert post(queued_app, body_for(queued_app, payment_id, "a"), sig="later").status_code == 200
    full = post(queued_app, body_for(queued_app, payment_id, "b"), sig="later")
    assert full.status_code == 503 and full.headers["Retry-After"] == "600"
    # verified deliveries are never turned away
    assert post(queued_app, body_for(queued_app, payment_id, "c")).status_code == 200


def test_simultaneous_deliveries_of_one_event_make_one_row(queued_app, queuedpay, payment_id):
    body = body_for(queued_app, payment_id)
    gate = threading.Barrier(8)
    answers = []

    def deliver():
        gate.wait()
        answers.append(post(queued_app, body).status_code)

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [200] * 8
    assert [r[:2] for r in rows(queued_app)] == [("ev_1", "done")] and balance(queued_app) == 1500


def test_old_finished_events_are_forgotten(queued_app, queuedpay, payment_id):
    post(queued_app, body_for(queued_app, payment_id))
    with queued_app.app_context():
        assert inbox.forget_old() == 0
        with clock.advanced(timedelta(days=91)):
            assert converge.run()["forgotten"] == 1
    assert rows(queued_app) == [] and balance(queued_app) == 1500
