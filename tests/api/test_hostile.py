"""Attacks on the API's boundary: scopes, revocation across processes, tokens in URLs,
session cookies, escalation, oversized bodies, rate limits."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.api.conftest import bearer


def _operations(client):
    spec = client.get("/api/v1/openapi.json").json
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            for name in (
                "service_id",
                "user_id",
                "payment_id",
                "product_id",
                "plan_id",
                "voucher_id",
                "webhook_id",
                "delivery_id",
            ):
                path = path.replace("{" + name + "}", "1")
            yield method, path.replace("{plugin}", "hello_world"), op["x-scope"]


def test_scope_matrix_no_endpoint_answers_a_token_without_its_scope(
    client, store, make_user, make_token
):
    """Generated from the live spec: for each operation, a token of an all-powerful admin
    holding every other scope is refused with 403 before the view runs; a customer's token
    with every scope a customer may hold is refused on every admin operation."""
    from kernel.rest.scopes import CUSTOMER_SCOPES, SCOPES

    admin, customer = make_user(role="admin"), make_user()
    tokens = {scope: make_token(admin, [s for s in SCOPES if s != scope]) for scope in SCOPES}
    everything_a_customer_may = make_token(customer, list(CUSTOMER_SCOPES))
    checked, admin_ops = 0, 0
    for method, path, scope in _operations(client):
        callers = [tokens[scope]]
        if scope not in CUSTOMER_SCOPES:
            callers.append(everything_a_customer_may)
            admin_ops += 1
        for secret in callers:
            response = client.open(
                path,
                method=method.upper(),
                json={},
                headers={**bearer(secret), "Idempotency-Key": "m"},
            )
            assert response.status_code == 403, (method, path, response.json)
            assert response.json["type"] == "insufficient_scope"
        checked += 1
    assert checked >= 20 and admin_ops >= 8


def test_admin_scopes_cannot_be_granted_to_a_customer_and_die_with_the_permission(
    pteroca_instance, make_user, make_token
):
    from kernel.accounts.models import User
    from kernel.extensions import db
    from kernel.rest.scopes import ScopeError, holds

    customer = make_user()
    with pytest.raises(ScopeError):
        make_token(customer, ["admin:users"])
    with pytest.raises(ScopeError):
        make_token(customer, ["read:servers", "no:such"])
    admin = make_user(role="admin")
    make_token(admin, ["admin:users"])
    with pteroca_instance.app.app_context():
        owner = db.session.get(User, admin.id)
        assert holds(owner, ["admin:users"], "admin:users")
        owner.role_name = "customer"
        db.session.commit()
        db.session.expire_all()
        owner = db.session.get(User, admin.id)
        assert not holds(owner, ["admin:users"], "admin:users")
        db.session.remove()


def test_revocation_holds_at_once_on_another_process(pteroca_instance, make_user, make_token):
    """Two apps on one database stand for two web processes: revoking on one ends the
    token on the other at its next call (no cache to wait out)."""
    from kernel.app import create_app
    from kernel.extensions import db
    from kernel.rest.models import ApiToken
    from kernel.rest.tokens import revoke

    secret = make_token(make_user(), ["read:account"])
    first = pteroca_instance.app
    other = create_app(dict(first.config["PTEROCA_BUILD_CONFIG"]))
    assert other.test_client().get("/api/v1/me", headers=bearer(secret)).status_code == 200
    with first.app_context():
        revoke(db.session.scalar(select(ApiToken)), actor="test")
        db.session.remove()
    refused = other.test_client().get("/api/v1/me", headers=bearer(secret))
    assert refused.status_code == 401 and "revoked" in refused.json["message"]


def test_an_expired_token_is_refused(client, make_user, make_token):
    from kernel import clock

    secret = make_token(make_user(), ["read:account"], days=1)
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 200
    with clock.advanced(timedelta(days=1, seconds=1)):
        response = client.get("/api/v1/me", headers=bearer(secret))
    assert response.status_code == 401 and "expired" in response.json["message"]


def test_a_token_in_the_query_string_is_refused_and_not_logged(
    pteroca_instance, client, make_user, make_token
):
    from kernel.extensions import db
    from kernel.models import AuditLog

    secret = make_token(make_user(), ["read:account"])
    for name in ("access_token", "token", "api_key"):
        response = client.get(f"/api/v1/me?{name}={secret}")
        assert response.status_code == 400 and response.json["type"] == "token_in_url"
    response = client.get(f"/api/v1/me?access_token={secret}", headers=bearer(secret))
    assert response.status_code == 400
    with pteroca_instance.app.app_context():
        logged = [str(vars(row)) for row in db.session.scalars(select(AuditLog))]
        db.session.remove()
    assert not any(secret in row for row in logged)


def test_a_session_cookie_does_not_authenticate_the_api(login_as):
    browser = login_as("admin")
    assert browser.get("/dashboard").status_code == 200
    response = browser.get("/api/v1/me")
    assert response.status_code == 401
    assert (
        browser.post("/api/v1/wallet/topups", json={"amount": 1, "provider": "x"}).status_code
        == 401
    )


def test_the_token_wins_over_a_cookie_of_another_account(login_as, make_user, make_token):
    browser = login_as("admin")
    other = make_user()
    response = browser.get("/api/v1/me", headers=bearer(make_token(other, ["read:account"])))
    assert response.json["email"] == other.email


def test_lookup_compares_in_constant_time(client, make_user, make_token, monkeypatch):
    import hmac

    from kernel.rest import tokens

    calls = []
    real = hmac.compare_digest
    monkeypatch.setattr(tokens.hmac, "compare_digest", lambda a, b: calls.append(1) or real(a, b))
    secret = make_token(make_user(), ["read:account"])
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 200
    assert calls


def test_every_call_is_audited_with_the_token_id(pteroca_instance, client, make_user, make_token):
    from kernel.extensions import db
    from kernel.models import AuditLog
    from kernel.rest.models import ApiToken

    user = make_user()
    secret = make_token(user, ["read:account"])
    client.get("/api/v1/me", headers=bearer(secret))
    client.get("/api/v1/wallet", headers=bearer(secret))  # 403: lacks read:wallet
    with pteroca_instance.app.app_context():
        token_id = db.session.scalar(select(ApiToken.id))
        calls = [
            (r.target, r.details)
            for r in db.session.scalars(select(AuditLog).where(AuditLog.action == "api.call"))
        ]
        db.session.remove()
    assert calls == [
        ("GET /api/v1/me", {"token": token_id, "status": 200, "endpoint": "account.me"})
    ]


def test_oversized_and_malformed_bodies_get_the_error_shape(client, make_user, make_token):
    secret = make_token(make_user(), ["write:wallet"])
    big = client.post(
        "/api/v1/wallet/topups",
        data=b"{" + b" " * (5 * 1024 * 1024) + b"}",
        content_type="application/json",
        headers=bearer(secret),
    )
    assert big.status_code == 413 and big.json["type"] == "too_large"
    for body in (b"[1]", b"{not json", b'{"amount": "1e999", "provider": "x"}'):
        response = client.post(
            "/api/v1/wallet/topups",
            data=body,
            content_type="application/json",
            headers=bearer(secret),
        )
        assert 400 <= response.status_code < 500, body
        assert set(response.json) == {"type", "message", "errors"}
    unknown = client.post(
        "/api/v1/wallet/topups",
        json={"amount": 5, "provider": "x", "evil": 1},
        headers=bearer(secret),
    )
    assert unknown.status_code == 422 and "evil" in unknown.json["errors"]


def test_unknown_paths_and_methods_answer_json_under_api_and_html_elsewhere(client):
    missing = client.get("/api/v1/nope")
    assert missing.status_code == 404 and missing.json["type"] == "not_found"
    wrong = client.delete("/api/v1/me")
    assert wrong.status_code == 405 and wrong.json["type"] == "method_not_allowed"
    page = client.get("/nope")
    assert page.status_code == 404 and page.mimetype == "text/html"


@pytest.mark.parametrize("pteroca_config", [{"RATELIMIT_API": "3 per minute"}])
def test_each_token_has_its_own_rate_limit(client, make_user, make_token, pteroca_config):
    user = make_user()
    first, second = make_token(user, ["read:account"]), make_token(user, ["read:account"])
    codes = [client.get("/api/v1/me", headers=bearer(first)).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = client.get("/api/v1/me", headers=bearer(first))
    assert limited.json["type"] == "rate_limited" and int(limited.headers["Retry-After"]) >= 1
    assert client.get("/api/v1/me", headers=bearer(second)).status_code == 200
