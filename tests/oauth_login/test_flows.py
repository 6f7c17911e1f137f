"""Sign-up, login, linking and unlinking against the fake provider, over HTTP."""

from __future__ import annotations

import pytest

from kernel.accounts.models import User
from kernel.extensions import db
from kernel.models import AuditLog
from kernel.testing import login, run_cli


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
    oauth_simulator.sign_in_as(
        "42", "gamer@example.com", verified=True, name="Gamer Girl", username="gamergirl"
    )
    back = browser.roundtrip(provider)
    assert back.status_code == 302 and back.location.endswith("/oauth/signup")
    page = browser.client.get("/oauth/signup")
    assert page.status_code == 200 and "gamer@example.com" in page.text
    done = browser.client.post(
        "/oauth/signup", data={"name": "Gamer Girl", "email": "gamer@example.com", "terms": "1"}
    )
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
    browser.client.post(
        "/oauth/signup", data={"name": "Seven", "email": "seven@example.com", "terms": "1"}
    )
    browser.client.post("/logout")
    again = browser.roundtrip("discord", next_url="/account")
    assert again.status_code == 302 and again.location.endswith("/account")
    assert browser.client.get("/account").status_code == 200
    with oauth_app.app_context():
        methods = [
            a.details.get("method")
            for a in db.session.scalars(db.select(AuditLog).where(AuditLog.action == "user.login"))
        ]
    assert methods[-1] == "oauth:discord"


def sign_up(browser, oauth_simulator, subject="7", email="seven@example.com", provider="discord"):
    oauth_simulator.sign_in_as(subject, email, name="Seven", username="seven")
    browser.roundtrip(provider)
    done = browser.client.post(
        "/oauth/signup", data={"name": "Seven", "email": email, "terms": "1"}
    )
    assert done.status_code == 302, done.text
    return user_by_email(browser.app, email)[0]


def test_link_then_log_in_with_it_then_unlink(browser, oauth_simulator, member, oauth_app):
    browser.password_login("member@example.com")
    oauth_simulator.sign_in_as("555", "other-address@example.com", username="mem")
    linked = browser.roundtrip("github", purpose="link")
    assert linked.status_code == 302 and "/account" in linked.location
    assert identities(oauth_app, member) == [("github", "555")]
    page = browser.client.get("/account").text
    assert 'id="sign-in-methods"' in page and "Unlink" in page
    browser.client.post("/logout")
    again = browser.roundtrip("github")
    assert again.status_code == 302 and again.location.endswith("/dashboard")
    assert user_by_email(oauth_app, "member@example.com")[0] == member
    assert browser.client.post("/oauth/github/unlink").status_code == 302
    assert identities(oauth_app, member) == []
    browser.client.post("/logout")
    refused = browser.roundtrip("github")  # the provider account no longer logs in
    assert refused.status_code == 302 and refused.location.endswith("/oauth/signup")


def test_the_last_way_to_log_in_cannot_be_unlinked(browser, oauth_simulator, oauth_app):
    user_id = sign_up(browser, oauth_simulator)
    assert "your only way to log in" in browser.client.get("/account").text
    refused = browser.client.post("/oauth/discord/unlink", follow_redirects=True)
    assert "only way you log in" in refused.text
    assert identities(oauth_app, user_id) == [("discord", "7")]
    # a second identity makes either removable
    oauth_simulator.sign_in_as("99", "seven-gh@example.com")
    browser.roundtrip("github", purpose="link")
    assert browser.client.post("/oauth/discord/unlink").status_code == 302
    assert identities(oauth_app, user_id) == [("github", "99")]
    refused = browser.client.post("/oauth/github/unlink", follow_redirects=True)
    assert "only way you log in" in refused.text


def test_an_identity_linked_elsewhere_cannot_be_linked_again(
    browser, oauth_simulator, member, oauth_app
):
    sign_up(browser, oauth_simulator, subject="7")
    browser.client.post("/logout")
    browser.password_login("member@example.com")
    oauth_simulator.sign_in_as("7", "seven@example.com")
    refused = browser.roundtrip("discord", purpose="link")
    assert refused.status_code == 409 and "linked to another account" in refused.text
    assert identities(oauth_app, member) == []


def test_unverified_email_gets_the_normal_verification(browser, oauth_simulator, oauth_app):
    from kernel import site_settings

    with oauth_app.app_context():
        site_settings.set_many({"email_verification": "required"})
    oauth_simulator.sign_in_as("8", "maybe@example.com", verified=False, name="May Be")
    browser.roundtrip("oidc")
    assert "We send a confirmation link" in browser.client.get("/oauth/signup").text
    browser.client.post(
        "/oauth/signup", data={"name": "May Be", "email": "maybe@example.com", "terms": "1"}
    )
    _id, verified, _pw, _name = user_by_email(oauth_app, "maybe@example.com")
    assert not verified
    with oauth_app.app_context():
        from kernel.mail import EmailLog

        sent = [
            m.template
            for m in db.session.scalars(
                db.select(EmailLog).where(EmailLog.recipient == "maybe@example.com")
            )
        ]
    assert sent == ["verify_email"]


def test_a_verified_address_changed_on_the_form_is_not_verified(browser, oauth_simulator):
    oauth_simulator.sign_in_as("9", "real@example.com", verified=True)
    browser.roundtrip("google")
    browser.client.post(
        "/oauth/signup", data={"name": "X", "email": "typed@example.com", "terms": "1"}
    )
    assert user_by_email(browser.app, "typed@example.com")[1] is False


def test_a_provider_returning_the_address_of_an_account_never_logs_into_it(
    browser, oauth_simulator, member, oauth_app
):
    oauth_simulator.sign_in_as("666", "member@example.com", verified=True)
    refused = browser.roundtrip("discord")
    assert refused.status_code == 409 and "already exists" in refused.text
    assert browser.client.get("/dashboard").status_code == 302  # not logged in
    assert identities(oauth_app, member) == []
    # and the sign-up form refuses the address too, even if the person types it
    oauth_simulator.sign_in_as("667", "fresh@example.com", verified=True)
    browser.roundtrip("discord")
    taken = browser.client.post(
        "/oauth/signup", data={"name": "X", "email": "member@example.com", "terms": "1"}
    )
    assert taken.status_code == 400 and "already exists" in taken.text
    assert identities(oauth_app, member) == []


def test_terms_must_be_accepted_and_registration_open(browser, oauth_simulator, oauth_app):
    oauth_simulator.sign_in_as("10", "terms@example.com")
    browser.roundtrip("discord")
    refused = browser.client.post("/oauth/signup", data={"name": "T", "email": "terms@example.com"})
    assert refused.status_code == 400 and "terms of service" in refused.text
    from kernel import site_settings

    with oauth_app.app_context():
        site_settings.set_many({"registration_enabled": False})
    closed = browser.roundtrip("discord")
    assert closed.status_code == 403 and "No account here is linked" in closed.text


def test_two_factor_authentication_applies_after_oauth(browser, oauth_simulator, oauth_app):
    import pyotp

    from kernel.accounts import twofactor

    user_id = sign_up(browser, oauth_simulator)
    with oauth_app.app_context():
        user = db.session.get(User, user_id)
        secret = twofactor.begin_setup(user)
        twofactor.confirm_setup(user, pyotp.TOTP(secret).now())
    browser.client.post("/logout")
    first = browser.roundtrip("discord", next_url="/account")
    assert first.status_code == 302 and first.location.endswith("/login/2fa")
    assert browser.client.get("/dashboard").status_code == 302  # not yet
    import time

    code = pyotp.TOTP(secret).at(time.time() + 30)  # the next step: the current one was used
    done = browser.client.post("/login/2fa", data={"code": code})
    assert done.status_code == 302 and done.location.endswith("/account")
    with oauth_app.app_context():
        last = db.session.scalars(
            db.select(AuditLog).where(AuditLog.action == "user.login").order_by(AuditLog.id.desc())
        ).first()
    assert last.details["method"] == "oauth:discord+totp"


def test_a_blocked_user_cannot_log_in_with_a_provider(browser, oauth_simulator, oauth_app):
    user_id = sign_up(browser, oauth_simulator)
    browser.client.post("/logout")
    with oauth_app.app_context():
        db.session.get(User, user_id).is_blocked = True
        db.session.commit()
    refused = browser.roundtrip("discord")
    assert refused.status_code == 403 and "blocked" in refused.text
    assert browser.client.get("/dashboard").status_code == 302


def test_veto_login_applies_to_oauth(browser, oauth_simulator, oauth_app, fresh):
    from tests.helpers import write_plugin

    user_id = sign_up(browser, oauth_simulator)
    browser.client.post("/logout")
    write_plugin(
        oauth_app.config["PLUGINS_DIR"],
        "gatekeeper",
        """
        from kernel import hookimpl

        @hookimpl
        def veto_login(user):
            return "Maintenance until noon."
    """,
        capabilities=["vetoes"],
    )

    result = run_cli(oauth_app, "plugin", "enable", "gatekeeper")
    assert result.exit_code == 0, result.output
    browser.client = fresh(oauth_app).test_client()
    refused = browser.roundtrip("discord")
    assert refused.status_code == 403 and "Maintenance until noon." in refused.text
    with fresh(oauth_app).app_context():
        refusal = db.session.scalars(
            db.select(AuditLog).where(AuditLog.action == "user.login_refused")
        ).all()[-1]
    assert refusal.details["method"] == "oauth:discord" and user_id


def test_login_and_register_pages_show_the_enabled_providers(browser, oauth_app):
    from tests.oauth_login.conftest import configure

    login_page = browser.client.get("/login").text
    for provider in ("discord", "google", "github", "oidc"):
        assert f'data-provider="{provider}"' in login_page
    assert "Log in with Keycloak" in login_page
    assert "Sign up with Discord" in browser.client.get("/register").text
    configure(oauth_app, google_client_secret="", oidc_issuer="")
    page = browser.client.get("/login").text
    assert 'data-provider="google"' not in page and 'data-provider="oidc"' not in page
    assert 'data-provider="discord"' in page


def test_client_secrets_are_write_only_and_encrypted(oauth_app, oauth_simulator):
    from kernel.plugins.models import PluginSetting
    from tests.helpers import make_user

    with oauth_app.app_context():
        make_user("root@example.com", role="admin")
        rows = {
            r.key: r
            for r in db.session.scalars(
                db.select(PluginSetting).where(PluginSetting.plugin == "oauth_login")
            )
        }
        secret = rows["discord_client_secret"]
        assert secret.encrypted and oauth_simulator.client_secret not in secret.value
        assert not rows["discord_client_id"].encrypted
    admin = oauth_app.test_client()
    login(admin, "root@example.com", "correct horse battery")
    page = admin.get("/admin/plugins/oauth_login/settings")
    assert page.status_code == 200 and "Discord: client secret" in page.text
    assert oauth_simulator.client_secret not in page.text
