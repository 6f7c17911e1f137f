"""The store's endpoints on the API: catalog, quote, idempotent purchase, servers."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from tests.api.conftest import bearer


def _buy(client, secret, store, key, name="srv"):
    return client.post(
        "/api/v1/servers",
        json={**store, "name": name},
        headers={**bearer(secret), "Idempotency-Key": key},
    )


def _counts(app, user_id):
    from builtin_plugins.store.models import Service
    from kernel.extensions import db
    from kernel.payments.models import LedgerEntry

    with app.app_context():
        servers = db.session.scalar(
            select(func.count()).select_from(Service).where(Service.user_id == user_id)
        )
        debits = db.session.scalar(
            select(func.count())
            .select_from(LedgerEntry)
            .where(LedgerEntry.user_id == user_id, LedgerEntry.amount < 0)
        )
        db.session.remove()
    return servers, debits


def test_catalog_quote_and_the_store_routes_in_the_one_spec(client, store, make_user, make_token):
    secret = make_token(make_user(), ["read:catalog"])
    catalog = client.get("/api/v1/catalog", headers=bearer(secret))
    assert catalog.status_code == 200
    assert catalog.json[0]["plans"][0]["price"] == 1000
    quote = client.post("/api/v1/quote", json=store, headers=bearer(secret))
    assert quote.status_code == 200 and quote.json["total"] == 1000
    spec = client.get("/api/v1/openapi.json").json
    assert spec["paths"]["/api/v1/servers"]["post"]["x-scope"] == "write:servers"


def test_purchase_with_a_key_buys_once_and_answers_the_same(
    app, client, store, make_user, make_token, fund
):
    user = make_user()
    fund(user, 5000)
    secret = make_token(user, ["write:servers", "read:servers"])
    first = _buy(client, secret, store, "key-1")
    assert first.status_code == 201, first.json
    again = _buy(client, secret, store, "key-1")
    assert again.status_code == 201 and again.json["id"] == first.json["id"]
    assert _counts(app, user.id) == (1, 1)
    listed = client.get("/api/v1/servers", headers=bearer(secret)).json
    assert [s["id"] for s in listed] == [first.json["id"]]


def test_a_key_reused_with_another_body_is_422_and_buys_nothing(
    app, client, store, make_user, make_token, fund
):
    user = make_user()
    fund(user, 5000)
    secret = make_token(user, ["write:servers"])
    assert _buy(client, secret, store, "k").status_code == 201
    other = _buy(client, secret, store, "k", name="another")
    assert other.status_code == 422 and other.json["type"] == "idempotency_key_reused"
    assert _counts(app, user.id) == (1, 1)


def test_purchase_without_a_key_is_refused(client, store, make_user, make_token, fund):
    user = make_user()
    fund(user, 5000)
    secret = make_token(user, ["write:servers"])
    response = client.post("/api/v1/servers", json={**store, "name": "x"}, headers=bearer(secret))
    assert response.status_code == 400 and "Idempotency-Key" in response.json["errors"]


def test_ten_parallel_identical_purchases_make_one_server_and_one_debit(
    pteroca_instance, store, make_user, make_token, fund
):
    user = make_user()
    fund(user, 50_000)
    secret = make_token(user, ["write:servers"])
    app = pteroca_instance.app
    results, barrier = [], threading.Barrier(10)

    def worker():
        client = app.test_client()
        barrier.wait()
        response = _buy(client, secret, store, "same-key")
        results.append((response.status_code, (response.json or {}).get("id")))

    threads = [threading.Thread(target=worker) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {code for code, _ in results} == {201}, results
    assert len({sid for _, sid in results}) == 1
    assert _counts(app, user.id) == (1, 1)


def test_another_customers_server_is_404_for_every_verb(client, store, make_user, make_token, fund):
    owner, other = make_user(), make_user()
    fund(owner, 5000)
    mine = make_token(owner, ["write:servers", "read:servers"])
    sid = _buy(client, mine, store, "a").json["id"]
    theirs = make_token(other, ["write:servers", "read:servers"])
    for method, path, body in (
        ("get", f"/api/v1/servers/{sid}", None),
        ("patch", f"/api/v1/servers/{sid}", {"name": "pwned"}),
        ("post", f"/api/v1/servers/{sid}/renew", {}),
        ("put", f"/api/v1/servers/{sid}/auto-renew", {"enabled": True}),
    ):
        response = getattr(client, method)(path, json=body, headers=bearer(theirs))
        assert response.status_code == 404, (method, path, response.json)
    assert client.get(f"/api/v1/servers/{sid}", headers=bearer(mine)).json["name"] == "srv"


def test_rename_auto_renew_and_renew(client, store, make_user, make_token, fund):
    user = make_user()
    fund(user, 5000)
    secret = make_token(user, ["write:servers", "read:servers", "read:wallet"])
    sid = _buy(client, secret, store, "b").json["id"]
    renamed = client.patch(f"/api/v1/servers/{sid}", json={"name": "lobby"}, headers=bearer(secret))
    assert renamed.status_code == 200 and renamed.json["name"] == "lobby"
    toggled = client.put(
        f"/api/v1/servers/{sid}/auto-renew", json={"enabled": True}, headers=bearer(secret)
    )
    assert toggled.json["auto_renew"] is True
    before = client.get(f"/api/v1/servers/{sid}", headers=bearer(secret)).json["expires_at"]
    renewed = client.post(f"/api/v1/servers/{sid}/renew", json={}, headers=bearer(secret))
    assert renewed.status_code == 200 and renewed.json["expires_at"] > before
    assert client.get("/api/v1/wallet", headers=bearer(secret)).json["balance"] == 3000
    too_long = client.patch(
        f"/api/v1/servers/{sid}", json={"name": "x" * 500}, headers=bearer(secret)
    )
    assert too_long.status_code == 422 and "name" in too_long.json["errors"]


class PoweredProvisioner:
    """A provisioner with the optional power action, recording the signals."""

    identifier = "powered"
    display_name = "Powered"

    def __init__(self):
        self.signals = []

    def settings_schema(self):
        return []

    def checkout_fields(self, product):
        return []

    def create(self, service):
        return f"p-{service.id}"

    def suspend(self, service):
        pass

    def unsuspend(self, service):
        pass

    def terminate(self, service):
        pass

    def change_package(self, service, product):
        pass

    def reinstall(self, service):
        pass

    def status(self, service):
        from builtin_plugins.store.provisioning import LiveStatus

        return LiveStatus("running")

    def power(self, service, signal):
        self.signals.append((service.id, signal))


def test_power_actions_go_through_the_provisioner(
    pteroca_instance, client, store, make_user, make_token, fund, register_test_plugin
):
    from builtin_plugins.store.lifecycle import ACTIVE
    from builtin_plugins.store.models import Product, Service
    from kernel import hookimpl
    from kernel.extensions import db

    powered = PoweredProvisioner()

    class Plugin:
        @hookimpl
        def register_provisioners(self):
            return [powered]

    register_test_plugin(Plugin(), "powered_test")
    user = make_user()
    fund(user, 5000)
    secret = make_token(user, ["write:servers"])
    sid = _buy(client, secret, store, "p").json["id"]
    early = client.post(
        f"/api/v1/servers/{sid}/power", json={"signal": "start"}, headers=bearer(secret)
    )
    assert early.status_code in (409, 422)  # not active yet, or the manual provisioner
    with pteroca_instance.app.app_context():
        service = db.session.get(Service, sid)
        service.state = ACTIVE
        db.session.get(Product, service.product_id).provisioner = "powered"
        db.session.commit()
        db.session.remove()
    done = client.post(
        f"/api/v1/servers/{sid}/power", json={"signal": "restart"}, headers=bearer(secret)
    )
    assert done.status_code == 204, done.json
    assert powered.signals == [(sid, "restart")]
    bad = client.post(
        f"/api/v1/servers/{sid}/power", json={"signal": "explode"}, headers=bearer(secret)
    )
    assert bad.status_code == 422 and "signal" in bad.json["errors"]


def test_the_store_endpoints_follow_the_plugin_without_a_restart(
    pteroca_instance, client, store, make_user, make_token
):
    secret = make_token(make_user(), ["read:servers"])
    assert "/api/v1/servers" in client.get("/api/v1/openapi.json").json["paths"]
    pteroca_instance.disable("store", cascade=True)
    spec = client.get("/api/v1/openapi.json").json  # the client follows the hot swap
    assert "/api/v1/servers" not in spec["paths"] and "/api/v1/me" in spec["paths"]
    gone = client.get("/api/v1/servers", headers=bearer(secret))
    assert gone.status_code == 404 and gone.json["type"] == "not_found"
