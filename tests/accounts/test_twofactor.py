"""TOTP two-factor authentication: setup, login, recovery codes, disabling, role enforcement."""

from __future__ import annotations

import re
import time

import pyotp
import pytest

from kernel.accounts.models import RecoveryCode
from kernel.extensions import db
from tests.accounts.conftest import audit_actions, get_user, set_settings
from tests.helpers import PASSWORD, make_user, post_login


def secret_from(page: str) -> str:
    match = re.search(r'<code class="secret">([A-Z2-7]+)</code>', page)
    assert match, page
    return match.group(1)


def code_for(secret: str, offset: int = 0) -> str:
    totp = pyotp.TOTP(secret)
    return totp.at(int(time.time()) + offset * totp.interval)


def enable_2fa(client) -> tuple[str, list[str]]:
    page = client.get("/account/2fa")
    assert page.status_code == 200 and 'src="data:image/svg+xml' in page.text
    secret = secret_from(page.text)
    wrong = client.post(
        "/account/2fa", data={"code": "000000" if code_for(secret) != "000000" else "111111"}
    )
    assert wrong.status_code == 400 and "did not match" in wrong.text
    done = client.post("/account/2fa", data={"code": code_for(secret, -1)})
    assert done.status_code == 200 and done.headers["Cache-Control"] == "no-store"
    codes = re.findall(r"<li>([0-9a-f]{5}-[0-9a-f]{5})</li>", done.text)
    assert len(codes) == 10
    return secret, codes


@pytest.fixture
def with_2fa(app, user):
    client = app.test_client()
    post_login(client)
    secret, codes = enable_2fa(client)
    return secret, codes


def test_enable_stores_the_secret_encrypted_and_codes_hashed(app, user, with_2fa):
    secret, codes = with_2fa
    stored = get_user(app, user)
    assert stored.has_2fa and stored.totp_secret and secret not in stored.totp_secret
    with app.app_context():
        hashes = list(db.session.scalars(db.select(RecoveryCode.code_hash)))
    assert len(hashes) == 10 and not set(codes) & set(hashes)
    assert "user.2fa_enabled" in audit_actions(app, user)


def test_login_asks_for_the_code(app, user, with_2fa):
    secret, _codes = with_2fa
    client = app.test_client()
    first = post_login(client, remember="1")
    assert first.status_code == 302 and first.headers["Location"].endswith("/login/2fa")
    assert client.get("/dashboard").status_code == 302  # not logged in yet
    assert client.post("/login/2fa", data={"code": "12345"}).status_code == 400
    done = client.post("/login/2fa", data={"code": code_for(secret)})
    assert done.status_code == 302 and done.headers["Location"].endswith("/dashboard")
    assert client.get("/dashboard").status_code == 200
    assert client.get_cookie("remember_token") is not None  # remember-me survives the 2FA step


def test_a_totp_code_works_once(app, user, with_2fa):
    secret, _codes = with_2fa
    code = code_for(secret, +1)
    first = app.test_client()
    post_login(first)
    assert first.post("/login/2fa", data={"code": code}).status_code == 302
    second = app.test_client()
    post_login(second)
    replay = second.post("/login/2fa", data={"code": code})
    assert replay.status_code == 400 and "already used" in replay.text


def test_recovery_code_works_once(app, user, with_2fa):
    _secret, codes = with_2fa
    client = app.test_client()
    post_login(client)
    used = client.post("/login/2fa", data={"code": codes[0].upper()})
    assert used.status_code == 302
    assert "9 left" in client.get("/dashboard").text
    other = app.test_client()
    post_login(other)
    assert other.post("/login/2fa", data={"code": codes[0]}).status_code == 400
    assert "user.2fa_recovery_code_used" in audit_actions(app, user)


def test_disable_needs_the_password(app, user, with_2fa):
    client = app.test_client()
    post_login(client)
    client.post("/login/2fa", data={"code": with_2fa[1][1]})
    refused = client.post("/account/2fa/disable", data={"password": "wrong"})
    assert refused.status_code == 400 and "current password is not correct" in refused.text
    assert client.post("/account/2fa/disable", data={"password": PASSWORD}).status_code == 302
    assert not get_user(app, user).has_2fa
    with app.app_context():
        assert db.session.scalars(db.select(RecoveryCode)).all() == []
    assert post_login(app.test_client()).headers["Location"].endswith("/dashboard")
    assert "user.2fa_disabled" in audit_actions(app, user)


def test_new_recovery_codes_replace_the_old(app, user, with_2fa):
    client = app.test_client()
    post_login(client)
    old = with_2fa[1]
    client.post("/login/2fa", data={"code": old[0]})
    page = client.post("/account/2fa/recovery-codes", data={"password": PASSWORD})
    new = re.findall(r"<li>([0-9a-f]{5}-[0-9a-f]{5})</li>", page.text)
    assert len(new) == 10
    other = app.test_client()
    post_login(other)
    assert other.post("/login/2fa", data={"code": old[1]}).status_code == 400
    assert other.post("/login/2fa", data={"code": new[0]}).status_code == 302


def test_pending_second_step_expires(app, user, with_2fa, monkeypatch):
    client = app.test_client()
    post_login(client)
    from kernel.web import views

    monkeypatch.setattr(views, "PENDING_2FA_SECONDS", -1)
    response = client.post("/login/2fa", data={"code": code_for(with_2fa[0])})
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")


def test_role_enforced_2fa(app):
    with app.app_context():
        make_user("staff@example.com", role="support")
    set_settings(app, require_2fa_roles="admin, support")
    client = app.test_client()
    assert post_login(client, "staff@example.com").status_code == 302
    sent = client.get("/dashboard")
    assert sent.status_code == 302 and sent.headers["Location"].endswith("/account/2fa")
    assert client.get("/admin/").status_code == 302
    page = client.get("/account/2fa")
    assert "Your role requires two-factor authentication" in page.text
    secret = secret_from(page.text)
    assert client.post("/account/2fa", data={"code": code_for(secret)}).status_code == 200
    assert client.get("/dashboard").status_code == 200
    refused = client.post("/account/2fa/disable", data={"password": PASSWORD})
    assert refused.status_code == 400 and "cannot be switched off" in refused.text
    # Customers are not affected.
    with app.app_context():
        make_user("cust@example.com")
    customer = app.test_client()
    post_login(customer, "cust@example.com")
    assert customer.get("/dashboard").status_code == 200
