"""Open payments converge: the task asks the provider after the grace period and settles,
expires or fails them through the same exactly-once code; "Continue payment" never leads to
an expired checkout; a payment paid after it failed loses its stale reason."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kernel import clock
from kernel.accounts.models import User
from kernel.extensions import db
from kernel.mail import EmailLog
from kernel.payments import converge, ledger
from kernel.payments.models import LedgerEntry, Payment
from kernel.payments.providers import EXPIRED, PAID, SessionStatus
from kernel.payments.settlement import PaymentError, continue_topup, settle, start_topup
from tests.helpers import make_user

GRACE = timedelta(minutes=15, seconds=1)


def payer():
    return db.session.scalar(db.select(User).where(User.email == "payer@example.com"))


def urls(payment):
    return (f"http://x/ok/{payment.id}", f"http://x/no/{payment.id}")


def open_payment(amount=1500) -> Payment:
    return start_topup(payer(), amount, "queuedpay", return_urls=urls)


def entries() -> int:
    return db.session.scalar(db.select(db.func.count(LedgerEntry.id)))


def test_paid_without_webhook_or_return_is_credited_by_the_task(queued_app, queuedpay):
    with queued_app.app_context():
        payment = open_payment()
        queuedpay.SESSIONS[payment.external_id]["status"] = "paid"
        assert converge.run()["payments"] == 0  # inside the grace period: webhook may come
        with clock.advanced(GRACE):
            assert converge.run()["payments"] == 1
            assert converge.run()["payments"] == 0  # settled: never asked again
        db.session.refresh(payment)
        assert payment.status == "paid" and payment.meta["settled_by"] == "converge"
        assert ledger.balance(payer().id) == 1500 and entries() == 1


def test_checks_back_off_and_are_recorded_for_the_admin(queued_app, queuedpay):
    with queued_app.app_context():
        payment = open_payment()
        with clock.advanced(GRACE):
            converge.run()
            state = db.session.get(Payment, payment.id).meta["converge"]
            assert state["checks"] == 1 and state["last"] == "open" and state["error"] == ""
            assert converge.run()["payments"] == 0  # next check in 15 minutes
        queuedpay.DOWN.append(True)
        with clock.advanced(GRACE * 2):
            assert converge.run()["payments"] == 1
            db.session.expire_all()
            state = db.session.get(Payment, payment.id).meta["converge"]
            assert state["checks"] == 2 and state["last"] == "error"
            assert state["error"] == (
                "could not check the payment with Queued Pay: queuedpay is down"
            )
            assert state["next_at"] == (clock.now() + timedelta(minutes=30)).isoformat(
                timespec="seconds"
            )
        assert db.session.get(Payment, payment.id).status == "open"


def test_an_expired_checkout_is_expired(queued_app, queuedpay):
    with queued_app.app_context():
        payment = open_payment()
        queuedpay.SESSIONS[payment.external_id].update(status="expired", reason="it expired")
        with clock.advanced(GRACE):
            converge.run()
        db.session.refresh(payment)
        assert payment.status == "expired" and payment.failure_reason == "it expired"
        assert entries() == 0


def test_the_task_gives_up_on_a_payment_nobody_paid(queued_app, queuedpay):
    with queued_app.app_context():
        payment = open_payment()
        with clock.advanced(timedelta(hours=72, minutes=1)):
            converge.run()
        db.session.refresh(payment)
        assert payment.status == "expired"
        assert payment.failure_reason == "the payment was not completed within 72 hours"


def test_a_payment_the_provider_holds_stays_open_and_staff_are_told_once(queued_app, queuedpay):
    with queued_app.app_context():
        make_user("boss@example.com", role="admin")
        payment = open_payment()
        queuedpay.SESSIONS[payment.external_id]["reason"] = "held for review"
        with clock.advanced(timedelta(hours=73)):
            converge.run()
        with clock.advanced(timedelta(hours=80)):
            converge.run()
        db.session.refresh(payment)
        assert payment.status == "open" and payment.meta["converge"]["alerted"] is True
        mails = db.session.scalars(db.select(EmailLog)).all()
        assert [(m.recipient, m.subject) for m in mails] == [
            ("boss@example.com", f"Payment #{payment.id} is still open at queuedpay")
        ]


def test_a_checkout_that_was_never_created_is_failed(queued_app, queuedpay):
    with queued_app.app_context():
        payment = Payment(
            user_id=payer().id,
            provider="queuedpay",
            status="open",
            currency="USD",
            amount_charged=500,
            amount_credited=500,
            amount_refunded=0,
            meta={},
        )
        db.session.add(payment)
        db.session.commit()
        assert converge.run()["never_created"] == 0  # its create call may still be running
        with clock.advanced(GRACE):
            assert converge.run()["never_created"] == 1
        db.session.refresh(payment)
        assert payment.status == "failed" and "never created" in payment.failure_reason


def test_a_payment_paid_after_it_failed_loses_the_stale_reason(queued_app, queuedpay):
    with queued_app.app_context():
        payment = open_payment()
        settle(
            "queuedpay",
            payment.external_id,
            SessionStatus(EXPIRED, reason="it expired"),
            source="webhook",
        )
        assert payment.status == "expired" and payment.failure_reason == "it expired"
        settle("queuedpay", payment.external_id, SessionStatus(PAID, 1500, "USD"), source="webhook")
        db.session.refresh(payment)
        assert payment.status == "paid" and payment.failure_reason == ""
        assert ledger.balance(payer().id) == 1500


def test_continue_goes_back_to_a_usable_checkout(queued_app, queuedpay):
    with queued_app.app_context():
        payment = open_payment()
        assert continue_topup(payment, payer(), return_urls=urls) is payment


def test_continue_on_an_expired_checkout_starts_a_new_one(queued_app, queuedpay):
    with queued_app.app_context():
        queuedpay.EXPIRES.append(clock.now() + timedelta(hours=1))
        payment = open_payment()
        queuedpay.EXPIRES.clear()  # the next checkouts have no expiry
        payment.meta = {**payment.meta, "store_voucher": {"code": "KEEP"}}
        db.session.commit()
        with clock.advanced(timedelta(minutes=59)):  # within the margin: start again
            new = continue_topup(payment, payer(), return_urls=urls)
            assert new.id != payment.id and new.status == "open"
            assert new.checkout_url.endswith(new.external_id)
            assert (new.amount_charged, new.amount_credited) == (1500, 1500)
            assert new.meta["continues"] == payment.id
            assert new.meta["store_voucher"] == {"code": "KEEP"}  # the top-up terms carry over
            assert payment.meta["continued_as"] == new.id and payment.status == "open"
            assert continue_topup(payment, payer(), return_urls=urls) is new  # not a third one
        settle("queuedpay", payment.external_id, SessionStatus(EXPIRED), source="webhook")
        assert continue_topup(payment, payer(), return_urls=urls) is new


def test_continue_a_paid_payment_is_refused(queued_app, queuedpay):
    with queued_app.app_context():
        payment = open_payment()
        settle("queuedpay", payment.external_id, SessionStatus(PAID, 1500, "USD"), source="webhook")
        with pytest.raises(PaymentError, match="already settled"):
            continue_topup(payment, payer(), return_urls=urls)


def test_wallet_page_continue_button_and_return_page(queued_app, queuedpay):
    client = queued_app.test_client()
    client.post("/login", data={"email": "payer@example.com", "password": "payer-password-1"})
    started = client.post("/wallet/topup", data={"amount": "15", "provider": "queuedpay"})
    assert started.status_code == 303
    with queued_app.app_context():
        payment = db.session.scalar(db.select(Payment))
        queuedpay.SESSIONS[payment.external_id]["status"] = "expired"
    page = client.get(f"/wallet/return/{payment.id}")  # asks the provider: expired
    assert "did not go through" in page.text and "Start the payment again" in page.text
    wallet = client.get("/wallet")
    assert f"/wallet/payments/{payment.id}/continue" in wallet.text
    again = client.post(f"/wallet/payments/{payment.id}/continue")
    assert again.status_code == 303 and again.location != started.location
    with queued_app.app_context():
        assert db.session.scalar(db.select(db.func.count(Payment.id))) == 2
    stranger = queued_app.test_client()
    with queued_app.app_context():
        make_user("stranger@example.com")
    stranger.post(
        "/login", data={"email": "stranger@example.com", "password": "correct horse battery"}
    )
    assert stranger.post(f"/wallet/payments/{payment.id}/continue").status_code == 404


def test_a_provider_error_on_the_return_page_is_shown(queued_app, queuedpay):
    client = queued_app.test_client()
    client.post("/login", data={"email": "payer@example.com", "password": "payer-password-1"})
    client.post("/wallet/topup", data={"amount": "15", "provider": "queuedpay"})
    queuedpay.DOWN.append(True)
    with queued_app.app_context():
        payment = db.session.scalar(db.select(Payment))
    page = client.get(f"/wallet/return/{payment.id}")
    assert page.status_code == 200 and "Waiting for the payment" in page.text
    assert "could not check the payment with Queued Pay: queuedpay is down" in page.text


def test_admin_sees_checks_and_can_check_now(queued_app, queuedpay):
    with queued_app.app_context():
        make_user("boss@example.com", role="admin")
        payment = open_payment()
        with clock.advanced(GRACE):
            converge.run()
        db.session.refresh(payment)
        db.session.expunge(payment)
    admin = queued_app.test_client()
    admin.post("/login", data={"email": "boss@example.com", "password": "correct horse battery"})
    listing = admin.get("/admin/payments/?status=open")
    assert "1 check(s), last" in listing.text
    detail = admin.get(f"/admin/payments/{payment.id}")
    assert "1 check(s) by the convergence task" in detail.text
    assert "Check with queuedpay now" in detail.text
    queuedpay.SESSIONS[payment.external_id]["status"] = "paid"
    checked = admin.post(f"/admin/payments/{payment.id}/check")
    assert checked.status_code == 302
    assert f"Payment #{payment.id} is paid" in admin.get(checked.location).text
    refused = admin.post(f"/admin/payments/{payment.id}/check")
    assert refused.status_code == 400 and "nothing to check" in refused.text
