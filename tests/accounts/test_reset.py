"""Password reset by an emailed one-time link, read from the real (fake) SMTP server."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from itsdangerous import TimestampSigner

from tests.accounts.conftest import audit_actions
from tests.helpers import PASSWORD, post_login

NEW = "a fresh new password"


def request_link(client, smtp_server, email="user@example.com"):
    page = client.post("/forgot-password", data={"email": email})
    assert page.status_code == 200 and "If an account exists" in page.text
    return urlsplit(smtp_server.link_to(email, "/reset-password/")).path


def test_reset_end_to_end(app, client, user, smtp_server):
    assert "Forgot your password?" in client.get("/login").text
    path = request_link(client, smtp_server)
    form = client.get(path)
    assert form.status_code == 200 and "user@example.com" in form.text
    done = client.post(path, data={"password": NEW, "confirm": NEW})
    assert done.status_code == 302 and done.headers["Location"].endswith("/login")
    assert post_login(client, password=PASSWORD).status_code == 400
    assert post_login(client, password=NEW).status_code == 302
    actions = audit_actions(app, user)
    assert "user.password_reset_requested" in actions and "user.password_reset" in actions


def test_link_is_single_use(app, client, user, smtp_server):
    path = request_link(client, smtp_server)
    assert client.post(path, data={"password": NEW, "confirm": NEW}).status_code == 302
    again = client.get(path)
    assert again.status_code == 400 and "already used" in again.text
    assert (
        client.post(
            path, data={"password": "another password!", "confirm": "another password!"}
        ).status_code
        == 400
    )


def test_link_dies_when_the_password_changes(app, client, user, smtp_server):
    path = request_link(client, smtp_server)
    post_login(client)
    client.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": NEW, "confirm": NEW},
    )
    assert client.get(path).status_code == 400


def test_expired_link(app, client, user, smtp_server, monkeypatch):
    path = request_link(client, smtp_server)
    later = int(time.time()) + 3601
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: later)
    response = client.get(path)
    assert response.status_code == 400 and "This link has expired" in response.text


def test_invalid_token(app, client):
    response = client.get("/reset-password/not-a-real-token")
    assert response.status_code == 400 and "This link is not valid" in response.text


def test_short_new_password_is_refused(app, client, user, smtp_server):
    path = request_link(client, smtp_server)
    response = client.post(path, data={"password": "short", "confirm": "short"})
    assert response.status_code == 400 and "at least" in response.text
    assert client.get(path).status_code == 200  # the link still works


def test_unknown_address_gets_the_same_answer_and_no_mail(app, client, smtp_server):
    page = client.post("/forgot-password", data={"email": "nobody@example.com"})
    assert page.status_code == 200 and "If an account exists" in page.text
    assert smtp_server.sent_to("nobody@example.com") == []
