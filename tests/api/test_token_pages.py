"""The account page's API tokens, as a customer uses them in a browser."""

from __future__ import annotations

import re

from tests.api.conftest import bearer


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    return found.group(1) if found else ""


def test_a_customer_makes_a_token_sees_it_once_uses_it_and_revokes_it(login_as, client):
    browser = login_as("customer")
    page = browser.get("/account/api-tokens").get_data(as_text=True)
    assert "admin:users" not in page  # a customer is not offered admin scopes
    made = browser.post(
        "/account/api-tokens",
        data={
            "csrf_token": _csrf(page),
            "name": "bot",
            "scopes": ["read:servers", "read:account"],
            "days": "30",
        },
    )
    assert made.status_code == 201
    html = made.get_data(as_text=True)
    secret = re.search(r"(pteroca_[A-Za-z0-9_-]{43})", html).group(1)
    assert client.get("/api/v1/me", headers=bearer(secret)).json["email"] == browser.user.email
    listing = browser.get("/account/api-tokens").get_data(as_text=True)
    assert secret not in listing and secret[:14] in listing
    token_id = re.search(r"/account/api-tokens/(\d+)/revoke", listing).group(1)
    revoked = browser.post(
        f"/account/api-tokens/{token_id}/revoke", data={"csrf_token": _csrf(listing)}
    )
    assert revoked.status_code in (200, 303)
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 401


def test_the_form_refuses_escalation_and_bad_input_with_400(login_as):
    browser = login_as("customer")
    token = _csrf(browser.get("/account/api-tokens").get_data(as_text=True))
    for form in (
        {"name": "x", "scopes": ["admin:users"], "days": "30"},
        {"name": "x", "scopes": [], "days": "30"},
        {"name": "", "scopes": ["read:account"], "days": "30"},
        {"name": "x", "scopes": ["read:account"], "days": "99999"},
        {"name": "x", "scopes": ["read:account"], "days": "-1"},
    ):
        response = browser.post("/account/api-tokens", data={"csrf_token": token, **form})
        assert response.status_code == 400, form
        assert "pteroca_" not in response.get_data(as_text=True).split("new-token")[0]


def test_nobody_revokes_another_customers_token(login_as, make_user, make_token, client):
    secret = make_token(make_user(), ["read:account"])
    browser = login_as("customer")
    token = _csrf(browser.get("/account/api-tokens").get_data(as_text=True))
    assert (
        browser.post("/account/api-tokens/1/revoke", data={"csrf_token": token}).status_code == 404
    )
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 200


def test_an_admin_makes_a_service_token_within_the_accounts_role(login_as, make_user, client):
    admin = login_as("admin")
    bot = make_user("bot@example.com", role="admin")
    customer = make_user("shop@example.com")
    page = admin.get("/admin/api-tokens/").get_data(as_text=True)
    csrf = _csrf(page)
    made = admin.post(
        "/admin/api-tokens/",
        data={
            "csrf_token": csrf,
            "email": bot.email,
            "name": "provisioning",
            "days": "",
            "scopes": ["admin:users", "read:account"],
        },
    )
    assert made.status_code == 201
    secret = re.search(r"(pteroca_[A-Za-z0-9_-]{43})", made.get_data(as_text=True)).group(1)
    assert client.get("/api/v1/me", headers=bearer(secret)).json["email"] == bot.email
    refused = admin.post(
        "/admin/api-tokens/",
        data={"csrf_token": csrf, "email": customer.email, "name": "x", "scopes": ["admin:users"]},
    )
    assert refused.status_code == 400
    missing = admin.post(
        "/admin/api-tokens/",
        data={"csrf_token": csrf, "email": "no@x.y", "name": "x", "scopes": ["read:account"]},
    )
    assert missing.status_code == 400


def test_a_customer_cannot_open_the_admin_token_page(login_as):
    assert login_as("customer").get("/admin/api-tokens/").status_code in (302, 403, 404)
