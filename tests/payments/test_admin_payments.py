"""Admin money pages: payments list and detail, refunds, balance adjustments, revenue data."""

from __future__ import annotations

from kernel.accounts.services import create_user
from kernel.extensions import db
from kernel.payments import ledger
from kernel.payments.models import Payment
from kernel.payments.settlement import refresh, start_topup
from kernel.testing import admin_client, login


def paid_payment(app, testpay, amount=2000):
    from kernel.accounts.models import User

    with app.app_context():
        payer = db.session.scalar(db.select(User).where(User.email == "payer@example.com"))
        payment = start_topup(payer, amount, "testpay", return_urls=lambda p: ("x", "y"))
        testpay.SESSIONS[payment.external_id]["status"] = "paid"
        refresh(payment)
        return payment.id, payer.id


def admin_and_helper(app):
    """A client logged in as a new admin; a support agent (helper@) exists beside it."""
    with app.app_context():
        create_user("helper@example.com", "helper-password-1", role="support")
    return admin_client(app, "boss@example.com")


def test_list_detail_and_refund(pay_app, testpay):
    payment_id, payer_id = paid_payment(pay_app, testpay)
    client = admin_and_helper(pay_app)
    listing = client.get("/admin/payments/?status=paid")
    assert (
        listing.status_code == 200
        and "payer@example.com" in listing.text
        and "20.00 USD" in listing.text
    )
    detail = client.get(f"/admin/payments/{payment_id}")
    assert "Refund through testpay" in detail.text
    too_much = client.post(f"/admin/payments/{payment_id}/refund", data={"amount": "25.00"})
    assert too_much.status_code == 400 and "between 0 and 20.00 USD" in too_much.text
    done = client.post(f"/admin/payments/{payment_id}/refund", data={"amount": "5.00"})
    assert done.status_code == 302
    with pay_app.app_context():
        assert ledger.balance(payer_id) == 1500
        assert db.session.get(Payment, payment_id).status == "partially_refunded"
    assert testpay.REFUNDS == [500]


def test_balance_adjustment_needs_a_reason_and_goes_through_the_ledger(pay_app):
    client = admin_and_helper(pay_app)
    refused = client.post(
        "/admin/wallets/", data={"email": "payer@example.com", "amount": "10", "reason": ""}
    )
    assert refused.status_code == 400 and "give a reason" in refused.text
    assert (
        client.post(
            "/admin/wallets/",
            data={"email": "payer@example.com", "amount": "12.50", "reason": "goodwill"},
        ).status_code
        == 302
    )
    overdraw = client.post(
        "/admin/wallets/", data={"email": "payer@example.com", "amount": "-99", "reason": "oops"}
    )
    assert overdraw.status_code == 400
    unknown = client.post(
        "/admin/wallets/", data={"email": "nobody@example.com", "amount": "1", "reason": "x"}
    )
    assert unknown.status_code == 400 and "no account" in unknown.text
    page = client.get("/admin/wallets/?email=payer@example.com")
    assert "goodwill" in page.text and "12.50 USD" in page.text
    with pay_app.app_context():
        assert ledger.invariant_violations() == []


def test_revenue_json_and_permissions(pay_app, testpay):
    paid_payment(pay_app, testpay, 700)
    client = admin_and_helper(pay_app)
    data = client.get("/admin/payments/revenue.json").get_json()
    assert len(data["labels"]) == 30 and sum(data["values"]) == 700 and data["scale"] == 100
    assert 'id="money-chart"' in client.get("/admin/").text
    support = pay_app.test_client()
    login(support, "helper@example.com", "helper-password-1")
    assert support.get("/admin/payments/").status_code == 403
    assert support.post("/admin/wallets/", data={}).status_code == 403


def test_disabled_provider_keeps_its_payments_visible(pay_app, testpay, cli, fresh):
    payment_id, _ = paid_payment(pay_app, testpay)
    cli("plugin", "disable", "testpay")
    app = fresh(pay_app)
    client = admin_and_helper(app)
    assert "testpay" in client.get("/admin/payments/").text
    assert client.get(f"/admin/payments/{payment_id}").status_code == 200
    assert app.test_client().post("/payments/testpay/webhook", data=b"[]").status_code == 404


def test_forced_refund_beyond_the_balance_leaves_a_debt_staff_can_write_off(pay_app, testpay):
    payment_id, payer_id = paid_payment(pay_app, testpay)
    with pay_app.app_context():
        ledger.debit(payer_id, 1500, "purchase", "spent")
    client = admin_and_helper(pay_app)
    refused = client.post(f"/admin/payments/{payment_id}/refund", data={"amount": "20.00"})
    assert refused.status_code == 400 and "the rest becomes a debt" in refused.text
    forced = client.post(
        f"/admin/payments/{payment_id}/refund", data={"amount": "20.00", "force": "1"}
    )
    assert forced.status_code == 302
    page = client.get("/admin/wallets/?email=payer@example.com")
    assert "owes 15.00 USD" in page.text and "Write off" in page.text
    debt_id = int(page.text.split("/admin/wallets/debts/", 1)[1].split("/", 1)[0])
    no_reason = client.post(
        f"/admin/wallets/debts/{debt_id}/write-off",
        data={"email": "payer@example.com", "note": " "},
    )
    assert no_reason.status_code == 400 and "give a reason" in no_reason.text
    assert client.post("/admin/wallets/debts/999/write-off", data={"note": "x"}).status_code == 400
    helper = pay_app.test_client()
    login(helper, "helper@example.com", "helper-password-1")
    assert (
        helper.post(
            f"/admin/wallets/debts/{debt_id}/write-off", data={"note": "mine now"}
        ).status_code
        == 403
    )
    customer = pay_app.test_client()
    login(customer, "payer@example.com", "payer-password-1")
    assert "Your account owes 15.00 USD" in customer.get("/wallet").text
    assert (
        customer.post(
            f"/admin/wallets/debts/{debt_id}/write-off", data={"note": "forgive me"}
        ).status_code
        == 403
    )
    done = client.post(
        f"/admin/wallets/debts/{debt_id}/write-off",
        data={"email": "payer@example.com", "note": "goodwill gesture"},
    )
    assert done.status_code == 302
    after = client.get(done.location).text
    assert 'id="owes"' not in after and "settled" in after  # the debt is listed as settled
    assert "Your account owes" not in customer.get("/wallet").text
    with pay_app.app_context():
        from kernel.models import AuditLog
        from kernel.payments import debts

        assert debts.outstanding(payer_id) == 0 and debts.invariant_violations() == []
        audit = db.session.scalar(
            db.select(AuditLog).where(AuditLog.action == "wallet.debt_written_off")
        )
        assert audit.actor == "boss@example.com" and audit.details["note"] == "goodwill gesture"
