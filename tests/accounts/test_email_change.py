"""Email change: the new address must confirm before it replaces the old one."""

from __future__ import annotations

from urllib.parse import urlsplit

from tests.accounts.conftest import audit_actions, get_user
from tests.helpers import PASSWORD, make_user, post_login


def ask(client, email="new@example.com", password=PASSWORD):
    return client.post("/account/email", data={"email": email, "password": password})


def test_change_waits_for_confirmation(app, client, user, smtp_server):
    post_login(client)
    assert ask(client).status_code == 302
    page = client.get("/account").text
    assert "Waiting for confirmation of new@example.com" in page
    pending = get_user(app, user)
    assert pending.email == user and pending.pending_email == "new@example.com"
    link = urlsplit(smtp_server.link_to("new@example.com", "/account/email/confirm/")).path
    assert client.get(link).status_code == 302
    changed = get_user(app, "new@example.com")
    assert changed is not None and changed.pending_email is None and changed.is_verified
    assert get_user(app, user) is None
    assert "new@example.com" in smtp_server.text(smtp_server.last_to(user))  # old address told
    again = client.get(link)
    assert again.status_code == 400 and "no longer valid" in again.text
    assert post_login(app.test_client(), "new@example.com").status_code == 302
    assert {"user.email_change_requested"} <= set(audit_actions(app, user))
    assert "user.email_changed" in audit_actions(app, "new@example.com")


def test_change_needs_password_and_a_free_valid_address(app, client, user, smtp_server):
    with app.app_context():
        make_user("taken@example.com")
    post_login(client)
    wrong = ask(client, password="nope")
    assert wrong.status_code == 400 and "current password is not correct" in wrong.text
    taken = ask(client, email="taken@example.com")
    assert taken.status_code == 400 and "already uses taken@example.com" in taken.text
    assert ask(client, email="not-an-email").status_code == 400
    assert ask(client, email=user).status_code == 400
    assert smtp_server.messages == []


def test_cancelled_change_voids_the_link(app, client, user, smtp_server):
    post_login(client)
    ask(client)
    link = urlsplit(smtp_server.link_to("new@example.com", "/account/email/confirm/")).path
    assert client.post("/account/email/cancel").status_code == 302
    assert client.get(link).status_code == 400
    assert get_user(app, user).email == user
