"""What an attacker tries against the OAuth flows: forged or replayed state, stolen codes,
tampered or replayed id tokens, other browsers' flows, open redirects."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx

from kernel.accounts.models import User
from kernel.extensions import db
from tests.oauth_login.conftest import Browser, configure, query


def logged_in(browser) -> bool:
    return browser.client.get("/dashboard").status_code == 200


def accounts(app) -> int:
    with app.app_context():
        return len(db.session.scalars(db.select(User.id)).all())


def test_a_forged_state_is_refused(browser):
    back = browser.to_provider("discord")
    forged = back.replace("state=", "state=x")
    refused = browser.client.get(forged)
    assert refused.status_code == 400 and "not started in this browser" in refused.text
    assert not logged_in(browser)


def test_a_missing_state_is_refused(browser):
    back = browser.to_provider("discord")
    path = urlsplit(back).path
    refused = browser.client.get(f"{path}?code={query(back)['code']}")
    assert refused.status_code == 400


def test_a_callback_is_used_once(browser, oauth_simulator):
    oauth_simulator.sign_in_as("1", "once@example.com")
    back = browser.to_provider("discord")
    assert browser.client.get(back).status_code == 302
    again = browser.client.get(back)
    assert again.status_code == 400 and "already used" in again.text


def test_another_browsers_flow_is_refused(browser, oauth_app, oauth_simulator):
    """Login CSRF: the victim's browser must not finish a flow the attacker started."""
    attacker = Browser(oauth_app, oauth_simulator)
    back = attacker.to_provider("discord")
    refused = browser.client.get(back)
    assert refused.status_code == 400 and "not started in this browser" in refused.text


def test_a_code_from_another_flow_fails_the_pkce_check(browser, oauth_app, oauth_simulator):
    """Code injection: an authorisation code issued for the attacker's flow (their PKCE
    challenge) pasted into the victim's callback is refused by the provider at exchange."""
    attacker = Browser(oauth_app, oauth_simulator)
    stolen = query(attacker.to_provider("discord"))["code"]
    mine = query(browser.to_provider("discord"))
    refused = browser.client.get(f"/oauth/discord/callback?state={mine['state']}&code={stolen}")
    assert refused.status_code == 400 and "refused the sign-in" in refused.text
    assert oauth_simulator.token_requests[-1]["code_verifier"]  # we sent ours; it did not match
    assert not logged_in(browser)


def test_a_tampered_verifier_is_refused_by_the_provider(browser, oauth_app, oauth_simulator):
    from builtin_plugins.oauth_login.models import Flow

    back = browser.to_provider("discord")
    with oauth_app.app_context():
        flow = db.session.scalar(db.select(Flow).where(Flow.state == query(back)["state"]))
        flow.code_verifier = "x" * 64
        db.session.commit()
    refused = browser.client.get(back)
    assert refused.status_code == 400 and not logged_in(browser)


def test_a_replayed_nonce_is_refused(browser, oauth_simulator):
    """An id token minted for an earlier flow (its nonce) does not log in a later one."""
    oauth_simulator.sign_in_as("5", "nonce@example.com")
    browser.to_provider("oidc")
    old_nonce = oauth_simulator.last_authorization()["nonce"]
    back = browser.to_provider("oidc")
    assert oauth_simulator.last_authorization()["nonce"] != old_nonce
    oauth_simulator.id_token_overrides = {"nonce": old_nonce}
    refused = browser.client.get(back)
    assert refused.status_code == 400 and "did not pass its checks" in refused.text
    assert not logged_in(browser)


def test_tampered_id_tokens_are_refused(browser, oauth_simulator):
    import time

    for override in (
        {"aud": "someone-else"},
        {"iss": "https://evil.example"},
        {"exp": int(time.time()) - 3600},
        {"nonce": None},
        {"sub": None},
        {"iat": None},
    ):
        back = browser.to_provider("oidc")
        oauth_simulator.id_token_overrides = dict(override)
        refused = browser.client.get(back)
        assert refused.status_code == 400, override
    back = browser.to_provider("oidc")
    oauth_simulator.sign_with_foreign_key = True
    assert browser.client.get(back).status_code == 400
    assert not logged_in(browser)


def test_a_discovery_document_naming_another_issuer_is_refused(browser, oauth_app, oauth_simulator):
    from builtin_plugins.oauth_login import discovery

    discovery.forget()
    configure(oauth_app, oidc_issuer=oauth_simulator.url + "/elsewhere")
    refused = browser.start("oidc")
    assert refused.status_code == 502 and "not reachable" in refused.text


def test_the_provider_saying_no_is_a_clear_message(browser):
    started = browser.start("discord")
    state = query(started.location)["state"]
    answer = browser.client.get(
        f"/oauth/discord/callback?state={state}&error=access_denied"
        "&error_description=The+user+cancelled"
    )
    assert answer.status_code == 400 and "The user cancelled" in answer.text


def test_unknown_or_switched_off_providers_are_404(browser, oauth_app):
    assert browser.start("myspace").status_code == 404
    configure(oauth_app, github_client_id="")
    assert browser.start("github").status_code == 404
    assert browser.client.get("/oauth/github/callback?state=x&code=y").status_code == 404


def test_next_never_leaves_the_site(browser, oauth_simulator):
    oauth_simulator.sign_in_as("11", "next@example.com")
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        browser.roundtrip("discord")
        browser.client.post(
            "/oauth/signup", data={"name": "N", "email": "next@example.com", "terms": "1"}
        )
        browser.client.post("/logout")
        back = browser.roundtrip("discord", next_url=target)
        assert back.status_code == 302 and urlsplit(back.location).netloc in ("", "localhost")
        assert back.location.endswith("/dashboard"), back.location
        browser.client.post("/logout")


def test_linking_needs_the_account_logged_in(browser, oauth_simulator, oauth_app, member):
    start = browser.start("discord", purpose="link")
    assert start.status_code == 302 and "/login" in start.location
    # a link flow started by the member cannot be finished in a session of someone else
    browser.password_login("member@example.com")
    back = browser.to_provider("discord", purpose="link")
    browser.client.post("/logout")
    refused = browser.client.get(back)
    assert refused.status_code == 403 and accounts(oauth_app) == 1


def test_the_flow_keeps_secrets_server_side(browser, oauth_simulator):
    started = browser.start("google")
    params = query(started.location)
    assert "code_verifier" not in started.location
    cookie = browser.client.get_cookie("session")
    assert params["nonce"] not in cookie.value and params["state"] not in cookie.value


def test_a_sign_up_cannot_be_confirmed_from_another_browser(browser, oauth_app, oauth_simulator):
    oauth_simulator.sign_in_as("12", "mine@example.com")
    browser.roundtrip("discord")
    other = Browser(oauth_app, oauth_simulator)
    refused = other.client.post(
        "/oauth/signup", data={"name": "x", "email": "mine@example.com", "terms": "1"}
    )
    assert refused.status_code == 400 and accounts(oauth_app) == 0


def test_the_provider_is_reached_over_http_only_by_the_server(oauth_simulator):
    """The fake itself refuses a wrong client secret (what the plugin's settings guard)."""
    answer = httpx.post(
        oauth_simulator.url + "/discord/api/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": "x",
            "client_id": oauth_simulator.client_id,
            "client_secret": "wrong",
        },
    )
    assert answer.status_code == 401
