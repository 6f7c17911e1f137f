"""Registration through the form: the rules a visitor meets."""

from __future__ import annotations

from kernel.mail import EmailLog
from tests.accounts.conftest import audit_actions, get_user, set_settings
from tests.helpers import PASSWORD, write_plugin

FORM = {"email": "new@example.com", "name": "Nina", "password": PASSWORD, "terms": "1"}


def register(client, **changes):
    return client.post("/register", data={**FORM, **changes})


def test_register_creates_account_logs_in_and_sends_verification(app, client, smtp_server):
    page = client.get("/register")
    assert page.status_code == 200 and 'name="terms"' in page.text
    response = register(client)
    assert response.status_code == 302 and response.headers["Location"].endswith("/dashboard")
    user = get_user(app, "new@example.com")
    assert user.name == "Nina" and user.role_name == "customer" and not user.is_verified
    assert "Welcome, Nina" in client.get("/dashboard").text
    link = smtp_server.link_to("new@example.com", "/verify-email/")
    assert link.startswith("http://panel.test/verify-email/")
    assert {"user.created", "user.registered"} <= set(audit_actions(app, "new@example.com"))


def test_duplicate_email_is_refused(app, client, user):
    response = register(client, email="USER@example.com")
    assert response.status_code == 400
    assert "An account with user@example.com already exists." in response.text
    assert 'value="Nina"' in response.text  # the form keeps what was typed


def test_short_password_uses_the_site_minimum(app, client):
    set_settings(app, min_password_length=16)
    response = register(client, password="fifteen-chars-x")
    assert response.status_code == 400
    assert "at least 16 characters" in response.text
    assert get_user(app, "new@example.com") is None
    assert register(client, password="sixteen-chars-xx").status_code == 302


def test_terms_must_be_accepted(app, client):
    data = {k: v for k, v in FORM.items() if k != "terms"}
    response = client.post("/register", data=data)
    assert response.status_code == 400 and "accept the terms of service" in response.text
    assert get_user(app, "new@example.com") is None


def test_invalid_email_and_missing_name(app, client):
    assert "is not a valid email address" in register(client, email="nope").text
    assert "Tell us your name." in register(client, name="  ").text


def test_veto_reason_is_shown(app, plugins_dir, cli, fresh):
    write_plugin(
        plugins_dir,
        "gatekeeper",
        """
from kernel import hookimpl

@hookimpl
def veto_registration(email, name):
    if email.endswith("@closed.test"):
        return "We are not taking accounts from closed.test"
""",
        capabilities=["vetoes"],
    )
    assert cli("plugin", "enable", "gatekeeper").exit_code == 0
    client = fresh(app).test_client()
    response = register(client, email="someone@closed.test")
    assert response.status_code == 400
    assert "We are not taking accounts from closed.test" in response.text


def test_registration_disabled(app, client):
    set_settings(app, registration_enabled=False)
    page = client.get("/register")
    assert page.status_code == 403 and "Registration is closed" in page.text
    assert register(client).status_code == 403
    assert get_user(app, "new@example.com") is None
    assert 'href="/register"' not in client.get("/login").text


def test_no_verification_mail_when_verification_is_disabled(app, client, smtp_server):
    set_settings(app, email_verification="disabled")
    assert register(client).status_code == 302
    assert smtp_server.sent_to("new@example.com") == []


def test_mail_failure_does_not_break_registration(instance, plugins_dir):
    from kernel.extensions import db
    from kernel.testing import build_app

    app = build_app(instance, MAIL_URL="smtp://127.0.0.1:9")  # nothing listens on port 9
    client = app.test_client()
    assert register(client).status_code == 302
    assert get_user(app, "new@example.com") is not None
    with app.app_context():
        entry = db.session.scalars(db.select(EmailLog)).one()
    assert entry.recipient == "new@example.com" and entry.template == "verify_email"
    assert entry.status == "failed" and "ConnectionRefusedError" in entry.error
