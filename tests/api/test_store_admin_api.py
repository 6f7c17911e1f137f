"""The store's admin endpoints: servers, products and plans, vouchers; store.manage needed."""

from __future__ import annotations

import re

from tests.api.conftest import bearer


def _admin(make_user, make_token):
    return make_token(make_user(role="admin"), ["admin:services", "admin:catalog"])


def test_products_and_plans_crud(client, store, make_user, make_token):
    secret = _admin(make_user, make_token)
    made = client.post(
        "/api/v1/admin/products",
        json={"name": "Big", "slug": "big", "resources": {"memory_mb": 8192}, "stock": 5},
        headers=bearer(secret),
    )
    assert made.status_code == 201, made.json
    pid = made.json["id"]
    plan = client.post(
        f"/api/v1/admin/products/{pid}/plans",
        json={"period_count": 30, "price": 1250},
        headers=bearer(secret),
    )
    assert plan.status_code == 201 and plan.json["price"] == 1250  # minor units, not 1250.00
    clash = client.post(
        "/api/v1/admin/products", json={"name": "X", "slug": "big"}, headers=bearer(secret)
    )
    assert clash.status_code == 422 and "already used" in clash.json["message"]
    bad = client.post(
        "/api/v1/admin/products",
        json={"name": "X", "slug": "x", "resources": {"gpu": 1}},
        headers=bearer(secret),
    )
    assert bad.status_code == 422
    off = client.put(
        f"/api/v1/admin/products/{pid}",
        json={"name": "Big", "slug": "big", "active": False},
        headers=bearer(secret),
    )
    assert off.status_code == 200 and off.json["active"] is False
    assert (
        client.delete(f"/api/v1/admin/plans/{plan.json['id']}", headers=bearer(secret)).status_code
        == 204
    )
    assert client.delete(f"/api/v1/admin/products/{pid}", headers=bearer(secret)).status_code == 204
    assert client.delete(f"/api/v1/admin/products/{pid}", headers=bearer(secret)).status_code == 404


def test_servers_filter_suspend_unsuspend_terminate(client, store, make_user, make_token, fund):
    customer = make_user()
    fund(customer, 5000)
    mine = make_token(customer, ["write:servers", "read:servers"])
    sid = client.post(
        "/api/v1/servers",
        json={**store, "name": "s"},
        headers={**bearer(mine), "Idempotency-Key": "1"},
    ).json["id"]
    secret = _admin(make_user, make_token)
    listed = client.get(f"/api/v1/admin/servers?user_id={customer.id}", headers=bearer(secret))
    assert [s["id"] for s in listed.json["items"]] == [sid]
    suspended = client.post(
        f"/api/v1/admin/servers/{sid}/suspend", json={"reason": "abuse"}, headers=bearer(secret)
    )
    assert suspended.status_code == 200 and suspended.json["state"] == "suspended"
    assert suspended.json["suspension"] == "manual"
    lifted = client.post(f"/api/v1/admin/servers/{sid}/unsuspend", headers=bearer(secret))
    assert lifted.json["state"] != "suspended"
    ended = client.post(f"/api/v1/admin/servers/{sid}/terminate", json={}, headers=bearer(secret))
    assert ended.status_code == 200 and ended.json["state"] == "terminated"
    assert client.get(f"/api/v1/servers/{sid}", headers=bearer(mine)).status_code == 404


def test_vouchers(client, store, make_user, make_token):
    secret = _admin(make_user, make_token)
    made = client.post(
        "/api/v1/admin/vouchers",
        json={"code": "spring", "kind": "purchase_discount", "value": 20},
        headers=bearer(secret),
    )
    assert made.status_code == 201 and made.json["code"] == "SPRING"
    again = client.post(
        "/api/v1/admin/vouchers",
        json={"code": "SPRING", "kind": "balance", "value": 500},
        headers=bearer(secret),
    )
    assert again.status_code == 422
    too_much = client.post(
        "/api/v1/admin/vouchers",
        json={"code": "X", "kind": "topup_discount", "value": 100},
        headers=bearer(secret),
    )
    assert too_much.status_code == 422
    off = client.put(
        f"/api/v1/admin/vouchers/{made.json['id']}/active",
        json={"active": False},
        headers=bearer(secret),
    )
    assert off.json["active"] is False


def test_the_admin_scope_is_not_enough_without_store_manage(
    pteroca_instance, client, store, make_user, make_token
):
    from kernel.accounts.models import Role
    from kernel.extensions import db

    with pteroca_instance.app.app_context():
        db.session.add(Role(name="auditor", description="", permissions=["admin.access"]))
        db.session.commit()
        db.session.remove()
    secret = make_token(make_user(role="auditor"), ["admin:services"])
    response = client.get("/api/v1/admin/servers", headers=bearer(secret))
    assert response.status_code == 403 and "store.manage" in response.json["message"]


# Every endpoint of the store's admin API, with a body its schema accepts: a rule's refusal
# (CatalogError) from any of them is the same 422, whichever view it leaves.
_ENDPOINTS = [
    ("GET", "/api/v1/admin/servers", None),
    ("POST", "/api/v1/admin/servers/1/suspend", {}),
    ("POST", "/api/v1/admin/servers/1/unsuspend", None),
    ("POST", "/api/v1/admin/servers/1/terminate", {}),
    ("GET", "/api/v1/admin/products", None),
    ("POST", "/api/v1/admin/products", {"name": "N", "slug": "n"}),
    ("PUT", "/api/v1/admin/products/1", {"name": "N", "slug": "n"}),
    ("DELETE", "/api/v1/admin/products/1", None),
    ("POST", "/api/v1/admin/products/1/plans", {"period_count": 30, "price": 100}),
    ("DELETE", "/api/v1/admin/plans/1", None),
    ("GET", "/api/v1/admin/vouchers", None),
    ("POST", "/api/v1/admin/vouchers", {"code": "C", "kind": "balance", "value": 5}),
    ("PUT", "/api/v1/admin/vouchers/1/active", {"active": False}),
]


def test_a_catalog_error_from_any_endpoint_is_the_same_422(
    pteroca_instance, client, store, make_user, make_token, monkeypatch
):
    from builtin_plugins.store import rest_admin
    from builtin_plugins.store.catalog import CatalogError

    app = pteroca_instance.app  # the generation with the store loaded
    rules = {
        (method, re.sub(r"<int:\w+>", "1", rule.rule))
        for rule in app.url_map.iter_rules()
        if app.view_functions[rule.endpoint].__module__ == rest_admin.__name__
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert rules == {(method, path) for method, path, _ in _ENDPOINTS}  # every endpoint tried

    def refuse(*args, **kwargs):
        raise CatalogError("refused by the rule under test")

    # the first thing each view does: whichever it is, the rule refuses there
    for name in ("_get", "select", "_product_fields", "validate"):
        monkeypatch.setattr(rest_admin, name, refuse)
    secret = _admin(make_user, make_token)
    for method, path, body in _ENDPOINTS:
        response = client.open(path, method=method, json=body, headers=bearer(secret))
        assert (response.status_code, response.json) == (
            422,
            {"type": "invalid", "message": "refused by the rule under test", "errors": {}},
        ), (method, path)


def test_a_refused_change_leaves_nothing_half_written(
    pteroca_instance, client, store, make_user, make_token, monkeypatch
):
    from builtin_plugins.store import catalog
    from builtin_plugins.store.models import Product
    from kernel.extensions import db

    def half_then_refuse(product, fields, *, actor):
        db.session.add(Product(name="Half", slug="half", provisioner="manual"))
        db.session.flush()
        raise catalog.CatalogError("that slug is already used")

    monkeypatch.setattr(catalog, "save_product", half_then_refuse)
    response = client.post(
        "/api/v1/admin/products",
        json={"name": "Half", "slug": "half"},
        headers=bearer(_admin(make_user, make_token)),
    )
    assert response.status_code == 422 and response.json["type"] == "invalid"
    with pteroca_instance.app.app_context():
        assert db.session.scalar(db.select(Product).where(Product.slug == "half")) is None
        db.session.remove()
