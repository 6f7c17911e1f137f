"""Logging in and out, remember-me, blocked accounts, rate limits, session endings."""

from __future__ import annotations

from kernel.extensions import db
from kernel.testing import build_app
from tests.accounts.conftest import audit_actions
from tests.helpers import PASSWORD, make_user, post_login


def test_login_and_logout(app, client, user):
    response = post_login(client, next="/account")
    assert response.status_code == 302
    assert client.get("/dashboard").status_code == 200
    out = client.post("/logout")
    assert out.status_code == 302 and out.headers["Location"].endswith("/login")
    assert "You are logged out." in client.get("/login").text
    assert client.get("/dashboard").status_code == 302  # back to the login page
    assert {"user.login", "user.logout"} <= set(audit_actions(app, user))


def test_login_redirects_to_next_only_on_this_site(app, client, user):
    response = client.post("/login?next=/account", data={"email": user, "password": PASSWORD})
    assert response.headers["Location"] == "/account"
    client.post("/logout")
    response = client.post(
        "/login?next=https://evil.test/", data={"email": user, "password": PASSWORD}
    )
    assert response.headers["Location"] == "/dashboard"


def test_wrong_password_is_refused_and_audited(app, client, user):
    response = post_login(client, password="not the password")
    assert response.status_code == 400 and "Wrong email or password." in response.text
    assert client.get("/dashboard").status_code == 302
    assert "user.login_failed" in audit_actions(app, user)


def test_remember_me_sets_a_lasting_cookie(app, user):
    plain = app.test_client()
    post_login(plain)
    assert plain.get_cookie("remember_token") is None
    remembered = app.test_client()
    post_login(remembered, remember="1")
    cookie = remembered.get_cookie("remember_token")
    assert cookie is not None and cookie.expires is not None
    # A new browser session (no session cookie) is logged in by the remember cookie alone.
    fresh = app.test_client()
    fresh.set_cookie("remember_token", cookie.value)
    assert fresh.get("/dashboard").status_code == 200


def test_blocked_user_is_logged_out_on_next_request(app, client, user):
    from kernel.accounts.services import find_user

    post_login(client)
    assert client.get("/dashboard").status_code == 200
    with app.app_context():
        find_user(user).is_blocked = True
        db.session.commit()
    response = client.get("/dashboard")
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    page = client.get("/login")
    assert "Your account has been blocked" in page.text
    with app.app_context():
        find_user(user).is_blocked = False
        db.session.commit()
    assert client.get("/dashboard").status_code == 302  # the session really ended
    blocked_login = post_login(client)
    assert blocked_login.status_code == 302  # unblocked again: can log in
    assert "user.session_ended" in audit_actions(app, user)


def test_blocked_user_cannot_log_in(app, client):
    with app.app_context():
        make_user("b@example.com", is_blocked=True)
    response = post_login(client, "b@example.com")
    assert response.status_code == 400 and "blocked" in response.text


def test_login_rate_limit(instance, plugins_dir):
    app = build_app(instance, RATELIMIT_LOGIN="3 per minute")
    client = app.test_client()
    for _ in range(3):
        assert post_login(client, "x@example.com", "wrong password!").status_code == 400
    limited = post_login(client, "x@example.com", "wrong password!")
    assert limited.status_code == 429
    assert "Too many attempts" in limited.text
    assert client.get("/login").status_code == 200  # only POSTs count


def test_pages_skip_the_limiter_unless_a_limit_covers_every_request(instance, plugins_dir):
    """Only POSTs of four views are limited, so other requests skip Flask-Limiter's lookup of
    limits (issue 20: part of every page's cost); a deployment's limit on every request
    (``RATELIMIT_DEFAULT``) still counts GETs."""
    app = build_app(instance, RATELIMIT_LOGIN="2 per minute")
    limiter = app.extensions["pteroca_limiter"]
    assert limiter._request_filters
    client = app.test_client()
    for _ in range(5):
        assert client.get("/login").status_code == 200
    for _ in range(2):
        assert post_login(client, "x@example.com", "wrong password!").status_code == 400
    assert post_login(client, "x@example.com", "wrong password!").status_code == 429

    whole = build_app(instance / "whole", RATELIMIT_DEFAULT="3 per minute")
    assert not whole.extensions["pteroca_limiter"]._request_filters
    client = whole.test_client()
    assert [client.get("/login").status_code for _ in range(4)] == [200, 200, 200, 429]


def test_reset_and_register_rate_limits(instance, plugins_dir):
    app = build_app(instance, RATELIMIT_RESET="2 per minute", RATELIMIT_REGISTER="1 per minute")
    client = app.test_client()
    for _ in range(2):
        assert client.post("/forgot-password", data={"email": "a@example.com"}).status_code == 200
    assert client.post("/forgot-password", data={"email": "a@example.com"}).status_code == 429
    form = {"email": "r@example.com", "name": "R", "password": PASSWORD, "terms": "1"}
    assert client.post("/register", data=form).status_code == 302
    client.post("/logout")
    assert client.post("/register", data={**form, "email": "s@example.com"}).status_code == 429


def test_password_change_ends_other_sessions(app, user):
    here, elsewhere = app.test_client(), app.test_client()
    post_login(here)
    post_login(elsewhere)
    response = here.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": "a brand new password",
            "confirm": "a brand new password",
        },
    )
    assert response.status_code == 302
    assert here.get("/dashboard").status_code == 200
    assert elsewhere.get("/dashboard").status_code == 302
    assert post_login(app.test_client(), password="a brand new password").status_code == 302


def test_password_change_needs_the_current_password(app, client, user):
    post_login(client)
    response = client.post(
        "/account/password",
        data={
            "current_password": "wrong",
            "new_password": "a brand new password",
            "confirm": "a brand new password",
        },
    )
    assert response.status_code == 400 and "current password is not correct" in response.text
    differ = client.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": "a brand new password", "confirm": "x"},
    )
    assert differ.status_code == 400 and "differ" in differ.text


def test_landing_can_be_switched_off(app, client):
    from tests.accounts.conftest import set_settings

    assert client.get("/").status_code == 200
    set_settings(app, landing_enabled=False)
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
