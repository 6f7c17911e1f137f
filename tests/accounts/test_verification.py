"""Email verification in its three modes, and the ``verified_required`` gate."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from kernel.accounts.verification import verified_required
from tests.accounts.conftest import get_user, set_settings
from tests.helpers import PASSWORD

FORM = {"email": "new@example.com", "name": "Nina", "password": PASSWORD, "terms": "1"}


@pytest.fixture
def gated(app):
    """A page behind ``verified_required``, as the wallet and the store will have."""

    @verified_required
    def guarded_buy():
        return "bought"

    app.add_url_rule("/test-buy", "test_buy", guarded_buy, methods=["POST"])
    return app


def signed_up(app, smtp_server):
    client = app.test_client()
    assert client.post("/register", data=FORM).status_code == 302
    return client


def verify_path(smtp_server):
    return urlsplit(smtp_server.link_to("new@example.com", "/verify-email/")).path


def test_required_mode_gates_until_verified(gated, smtp_server):
    set_settings(gated, email_verification="required")
    client = signed_up(gated, smtp_server)
    refused = client.post("/test-buy")
    assert refused.status_code == 403
    assert "Confirm your email address first" in refused.text
    assert "you cannot buy, renew or change servers" in client.get("/dashboard").text
    done = client.get(verify_path(smtp_server))
    assert done.status_code == 302
    assert get_user(gated, "new@example.com").is_verified
    assert client.post("/test-buy").text == "bought"
    assert "Confirm your email address" not in client.get("/dashboard").text


def test_optional_mode_shows_a_banner_but_does_not_gate(gated, smtp_server):
    client = signed_up(gated, smtp_server)
    page = client.get("/dashboard").text
    assert "Please confirm your email address new@example.com" in page
    assert 'action="/account/verify/resend"' in page
    assert client.post("/test-buy").text == "bought"


def test_disabled_mode_sends_nothing_and_shows_nothing(gated, smtp_server):
    set_settings(gated, email_verification="disabled")
    client = signed_up(gated, smtp_server)
    assert smtp_server.sent_to("new@example.com") == []
    assert "confirm your email" not in client.get("/dashboard").text.lower()
    assert client.post("/test-buy").text == "bought"


def test_gate_sends_anonymous_users_to_login(gated):
    response = gated.test_client().post("/test-buy")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_resend_sends_a_new_link_that_works(app, smtp_server):
    client = signed_up(app, smtp_server)
    assert client.post("/account/verify/resend").status_code == 302
    assert len(smtp_server.sent_to("new@example.com")) == 2
    assert client.get(verify_path(smtp_server)).status_code == 302
    assert get_user(app, "new@example.com").is_verified


def test_bad_verification_link(app, client):
    response = client.get("/verify-email/garbage")
    assert response.status_code == 400 and "This link is not valid" in response.text
