"""API tokens: shown once and stored hashed, scopes, expiry, revocation, the error shape."""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from tests.api.conftest import bearer


def _rows(app, model):
    from kernel.extensions import db

    with app.app_context():
        rows = list(db.session.scalars(select(model)))
        db.session.expunge_all()
        return rows


def test_a_token_reads_its_account_and_is_stored_only_as_a_hash(app, client, make_user, make_token):
    from kernel.rest.models import ApiToken

    user = make_user()
    secret = make_token(user, ["read:account"])
    response = client.get("/api/v1/me", headers=bearer(secret))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json["email"] == user.email
    (row,) = _rows(app, ApiToken)
    assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in repr(vars(row))
    assert row.last_used_at is not None and row.last_used_ip == "127.0.0.1"


def test_missing_malformed_and_unknown_tokens_get_401_in_the_error_shape(
    client, make_user, make_token
):
    make_token(make_user(), ["read:account"])
    for headers in (
        {},
        {"Authorization": "Basic abc"},
        bearer("pteroca_" + "x" * 43),
        bearer("not-ours"),
    ):
        response = client.get("/api/v1/me", headers=headers)
        assert response.status_code == 401
        assert set(response.json) == {"type", "message", "errors"}
        assert response.json["type"] == "unauthorized"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_the_spec_is_openapi_3_1_with_a_scope_on_every_operation(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.json
    assert spec["openapi"] == "3.1.0"
    operations = [
        op
        for path in spec["paths"].values()
        for method, op in path.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]
    assert operations
    for op in operations:
        assert op["x-scope"] and op["security"] == [{"bearerToken": [op["x-scope"]]}]


def test_the_reference_page_loads_its_vendored_script(client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/api/v1/openapi.json" in html and "http" not in html.split("<body>")[1]
    script = html.split('<script src="')[1].split('"')[0]
    assert client.get(script).status_code == 200
