"""Sign-up, login, linking and unlinking against the fake provider, over HTTP."""

from __future__ import annotations

import pytest

from kernel.accounts.models import User
from kernel.extensions import db
from kernel.models import AuditLog


def user_by_email(app, email):
    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == email))
        return None if user is None else (user.id, user.is_verified, user.has_password, user.name)


def identities(app, user_id):
    from builtin_plugins.oauth_login.api import linked_identities

    with app.app_context():
        return [(i.provider, i.subject) for i in linked_identities(user_id)]


@pytest.mark.parametrize("provider", ["discord", "github", "google", "oidc"])
def test_sign_up_with_each_provider(browser, oauth_simulator, provider):
    oauth_simulator.sign_in_as("42", "gamer@example.com", verified=True, name="Gamer Girl",
                               username="gamergirl")
    back = browser.roundtrip(provider)
    assert back.status_code == 302 and back.location.endswith("/oauth/signup")
    page = browser.client.get("/oauth/signup")
    assert page.status_code == 200 and "gamer@example.com" in page.text
    done = browser.client.post("/oauth/signup", data={"name": "Gamer Girl",
                                                      "email": "gamer@example.com", "terms": "1"})
    assert done.status_code == 302 and done.location.endswith("/dashboard")
    user_id, verified, has_password, name = user_by_email(browser.app, "gamer@example.com")
    assert verified and not has_password and name == "Gamer Girl"
    assert identities(browser.app, user_id) == [(provider, "42")]
    assert browser.client.get("/dashboard").status_code == 200  # logged in
    # the flow used PKCE (S256) and, for OpenID Connect, a nonce
    auth = oauth_simulator.last_authorization()
    assert auth["code_challenge_method"] == "S256" and auth["code_challenge"]
    assert bool(auth.get("nonce")) == (provider in ("google", "oidc"))
    assert oauth_simulator.token_requests[-1]["code_verifier"]


def test_log_in_again_with_the_linked_identity(browser, oauth_simulator, oauth_app):
    oauth_simulator.sign_in_as("7", "seven@example.com", name="Seven")
    browser.roundtrip("discord")
    browser.client.post("/oauth/signup", data={"name": "Seven", "email": "seven@example.com",
                                               "terms": "1"})
    browser.client.post("/logout")
    again = browser.roundtrip("discord", next_url="/account")
    assert again.status_code == 302 and again.location.endswith("/account")
    assert browser.client.get("/account").status_code == 200
    with oauth_app.app_context():
        methods = [a.details.get("method") for a in db.session.scalars(
            db.select(AuditLog).where(AuditLog.action == "user.login"))]
    assert methods[-1] == "oauth:discord"
