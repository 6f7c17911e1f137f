"""The admin's user page: facts, balance adjustments through the ledger, 2FA reset, password
reset mail, mark verified, and impersonation with its audit and refusal rules."""

from __future__ import annotations

import pytest

from kernel.accounts.models import Role, User
from kernel.clock import now as utcnow
from kernel.extensions import db
from kernel.models import AuditLog
from kernel.payments import ledger
from kernel.payments.models import LedgerEntry


def _audit(app, action):
    with app.app_context():
        return [
            (e.actor, e.target, e.details)
            for e in db.session.scalars(
                db.select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)
            )
        ]


def _balance(app, user):
    with app.app_context():
        return ledger.balance(user.id)


@pytest.fixture
def app(pteroca_instance):
    return pteroca_instance.app


@pytest.fixture
def staff(login_as):
    return login_as("admin")


def test_page_shows_email_verified_flag_balance_and_links_from_the_list(app, staff, make_user):
    customer = make_user("ann@example.com", name="Ann", verified=False)
    page = staff.get(f"/admin/users/account/{customer.id}").get_data(as_text=True)
    assert "ann@example.com" in page and "not verified" in page
    assert 'id="user-balance"' in page and 'id="adjust-balance"' in page
    listing = staff.get("/admin/users/").get_data(as_text=True)
    assert f'href="/admin/users/account/{customer.id}"' in listing
    assert staff.get("/admin/users/account/999999").status_code == 404


def test_adjustment_credits_and_debits_in_minor_units_with_reason_audited(app, staff, make_user):
    customer = make_user()
    url = f"/admin/users/account/{customer.id}/balance"
    assert staff.post(url, data={"amount": "12.50", "reason": "goodwill"}).status_code == 302
    assert staff.post(url, data={"amount": "-2.25", "reason": "correction"}).status_code == 302
    assert _balance(app, customer) == 1025
    with app.app_context():
        kinds = [
            (e.kind, e.amount, e.meta["reason"], e.meta["by"])
            for e in db.session.scalars(
                db.select(LedgerEntry)
                .where(LedgerEntry.user_id == customer.id)
                .order_by(LedgerEntry.id)
            )
        ]
    assert kinds == [
        ("adjustment", 1250, "goodwill", staff.user.email),
        ("adjustment", -225, "correction", staff.user.email),
    ]
    assert [(a, t, d["amount"], d["reason"]) for a, t, d in _audit(app, "wallet.adjusted")] == [
        (staff.user.email, customer.email, 1250, "goodwill"),
        (staff.user.email, customer.email, -225, "correction"),
    ]


@pytest.mark.parametrize(
    "amount, reason, message",
    [
        ("5.00", "", "give a reason"),
        ("5.00", "   ", "give a reason"),
        ("0", "why", ""),
        ("abc", "why", ""),
        ("1.234", "why", ""),
        ("-99.00", "too much", "cannot cover"),
        ("5.00", "x" * 201, "under 200"),
    ],
)
def test_bad_adjustments_are_refused_with_a_message_and_nothing_posted(
    app, staff, make_user, amount, reason, message
):
    customer = make_user()
    response = staff.post(
        f"/admin/users/account/{customer.id}/balance", data={"amount": amount, "reason": reason}
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page and 'class="alert alert-danger' in page
    assert _balance(app, customer) == 0
    assert _audit(app, "wallet.adjusted") == []


def test_adjusting_needs_admin_payments(app, login_as, make_user):
    support = login_as("support")
    customer = make_user()
    page = support.get(f"/admin/users/account/{customer.id}").get_data(as_text=True)
    assert 'id="adjust-balance"' not in page
    response = support.post(
        f"/admin/users/account/{customer.id}/balance", data={"amount": "5.00", "reason": "gift"}
    )
    assert response.status_code == 403 and _balance(app, customer) == 0


def test_two_factor_reset_clears_the_second_factor_ends_sessions_and_is_audited(
    app, staff, make_user
):
    customer = make_user()
    with app.app_context():
        user = db.session.get(User, customer.id)
        user.totp_secret, user.totp_enabled_at = "x", utcnow()
        version = user.token_version or 0
        db.session.commit()
    response = staff.post(f"/admin/users/account/{customer.id}/two-factor-reset")
    assert response.status_code == 302
    with app.app_context():
        user = db.session.get(User, customer.id)
        assert not user.has_2fa and user.totp_secret == ""
        assert user.token_version == version + 1
    assert _audit(app, "user.2fa_reset") == [
        (staff.user.email, customer.email, {"by": staff.user.email})
    ]
    again = staff.post(f"/admin/users/account/{customer.id}/two-factor-reset")
    assert again.status_code == 400 and "already off" in again.get_data(as_text=True)


def test_send_password_reset_mails_a_working_link(app, staff, make_user, pteroca_instance):
    client = pteroca_instance.client()
    customer = make_user("forgetful@example.com")
    response = staff.post(f"/admin/users/account/{customer.id}/password-reset")
    assert response.status_code == 302
    [mail] = [m for m in pteroca_instance.sent_mail() if m["To"] == "forgetful@example.com"]
    body = mail.get_body(("plain",)).get_content()
    link = next(w for w in body.split() if "/reset-password/" in w or "/reset/" in w)
    assert client.get(link.replace("http://localhost", "")).status_code == 200
    assert _audit(app, "user.password_reset_sent")[0][:2] == (staff.user.email, customer.email)


def test_mark_verified(app, staff, make_user):
    customer = make_user(verified=False)
    assert staff.post(f"/admin/users/account/{customer.id}/verify").status_code == 302
    with app.app_context():
        assert db.session.get(User, customer.id).is_verified
    assert staff.post(f"/admin/users/account/{customer.id}/verify").status_code == 400


def test_support_cannot_act_on_an_admin_account(app, login_as, make_user):
    support = login_as("support")
    boss = make_user(role="admin")
    for action in ("two-factor-reset", "password-reset", "verify", "impersonate"):
        response = support.post(f"/admin/users/account/{boss.id}/{action}")
        assert response.status_code in (400, 403), action
    assert _audit(app, "user.password_reset_sent") == []
    assert _audit(app, "user.impersonation_started") == []


def test_edit_form_changes_the_email_and_refuses_a_taken_or_invalid_one(app, staff, make_user):
    customer = make_user("old@example.com")
    make_user("taken@example.com")
    base = {"name": "N", "role": "customer"}
    for bad in ("taken@example.com", "not-an-email"):
        response = staff.post(f"/admin/users/edit/?id={customer.id}", data={**base, "email": bad})
        assert response.status_code == 200  # the form again, with the message
        with app.app_context():
            assert db.session.get(User, customer.id).email == "old@example.com"
    response = staff.post(
        f"/admin/users/edit/?id={customer.id}", data={**base, "email": " New@Example.com "}
    )
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(User, customer.id).email == "new@example.com"


# --- impersonation ---------------------------------------------------------------------------


def test_impersonation_shows_the_client_area_as_the_customer_with_a_banner_and_a_way_back(
    app, staff, make_user
):
    customer = make_user("cust@example.com", name="Cust")
    response = staff.post(f"/admin/users/account/{customer.id}/impersonate")
    assert response.status_code == 302 and response.headers["Location"].endswith("/dashboard")
    page = staff.get("/dashboard").get_data(as_text=True)
    assert 'id="impersonation-banner"' in page
    assert f"{staff.user.email} is signed in as cust@example.com" in page
    assert staff.get("/admin/").status_code == 403  # the customer holds no admin access
    assert _audit(app, "user.impersonation_started") == [
        (staff.user.email, "cust@example.com", {"by": staff.user.email})
    ]

    back = staff.post("/impersonation/stop")
    assert back.status_code == 302 and back.headers["Location"].endswith(
        f"/admin/users/account/{customer.id}"
    )
    assert staff.get("/admin/").status_code == 200  # the staff member again, no new login
    assert 'id="impersonation-banner"' not in staff.get("/dashboard").get_data(as_text=True)
    assert _audit(app, "user.impersonation_ended") == [
        (staff.user.email, "cust@example.com", {"by": staff.user.email})
    ]
    with app.app_context():  # the customer did not log in
        assert db.session.get(User, customer.id).last_login_at is None


def test_admins_and_staff_cannot_be_impersonated(app, staff, make_user):
    for role in ("admin", "support"):
        other = make_user(role=role)
        page = staff.get(f"/admin/users/account/{other.id}").get_data(as_text=True)
        assert 'id="impersonate-refused"' in page and 'id="impersonate"' not in page
        response = staff.post(f"/admin/users/account/{other.id}/impersonate")
        assert response.status_code == 400
        assert "staff accounts cannot be impersonated" in response.get_data(as_text=True)
    # a customer role that was given admin access counts as staff too
    with app.app_context():
        db.session.add(Role(name="reseller", description="", permissions=["admin.access"]))
        db.session.commit()
    reseller = make_user(role="reseller")
    assert staff.post(f"/admin/users/account/{reseller.id}/impersonate").status_code == 400
    assert staff.post(f"/admin/users/account/{staff.user.id}/impersonate").status_code == 400
    assert _audit(app, "user.impersonation_started") == []


def test_impersonation_needs_its_own_permission_and_refuses_blocked_accounts(
    app, login_as, make_user, staff
):
    support = login_as("support")  # admin.users, but not admin.impersonate
    customer = make_user()
    assert support.post(f"/admin/users/account/{customer.id}/impersonate").status_code == 400
    with app.app_context():
        db.session.get(User, customer.id).is_blocked = True
        db.session.commit()
    response = staff.post(f"/admin/users/account/{customer.id}/impersonate")
    assert response.status_code == 400 and "blocked" in response.get_data(as_text=True)
    assert _audit(app, "user.impersonation_started") == []


def test_a_leftover_impersonation_record_gives_no_way_into_staff_after_logout(
    app, staff, make_user, pteroca_instance
):
    customer = make_user()
    staff.post(f"/admin/users/account/{customer.id}/impersonate")
    staff.post("/logout")
    other = make_user()
    pteroca_instance.login(staff, other)  # someone else logs in on the same browser
    assert 'id="impersonation-banner"' not in staff.get("/dashboard").get_data(as_text=True)
    staff.post("/impersonation/stop")
    assert staff.get("/admin/").status_code in (302, 403)  # still the other customer


def test_way_back_needs_the_staff_session_still_open(app, staff, make_user):
    customer = make_user()
    staff.post(f"/admin/users/account/{customer.id}/impersonate")
    with app.app_context():  # the staff member's password changed meanwhile: their sessions end
        user = db.session.get(User, staff.user.id)
        user.token_version = (user.token_version or 0) + 1
        db.session.commit()
    back = staff.post("/impersonation/stop")
    assert back.status_code == 302 and "/login" in back.headers["Location"]
    assert staff.get("/admin/").status_code == 302  # logged out, not staff again
