"""Input an attacker sends to the store: answered with a clear 4xx, never a 500, nothing stored.

Run on SQLite by ``make test`` and on PostgreSQL (which refuses NUL in text outright) by
``make test-postgres``.
"""

from __future__ import annotations

import pytest

from builtin_plugins.store.testing import buy
from kernel.extensions import db
from kernel.testing import login, make_customer
from tests.store.conftest import recorder_product
from tests.store.test_views import store_models


@pytest.fixture
def shop(store_app, recorder):
    """One product and a customer with 50.00 to spend."""
    with store_app.app_context():
        recorder_product("mc-small", price=1000)
        make_customer(balance=5000)
        db.session.remove()
    return store_app


@pytest.fixture
def server(shop):
    with shop.app_context():
        from kernel.accounts.models import User

        user = db.session.scalar(db.select(User).where(User.email == "buyer@example.com"))
        product = store_models().Product
        service = buy(user, db.session.scalar(db.select(product).where(product.slug == "mc-small")))
        service_id = service.id
        db.session.remove()
    return service_id


def service_name(app, service_id: int) -> str:
    with app.app_context():
        name = db.session.get(store_models().Service, service_id).name
        db.session.remove()
    return name


NOT_OBJECTS = [[1, 2], ["mc-small"], "mc-small", 42, None, True]
HOSTILE_JSON = [
    b"[" * 100_000 + b"]" * 100_000,
    b'{"product": ' + b"[" * 40 + b"]" * 40 + b"}",
    b'{"product": "mc-\\u0000small", "plan": 1}',
    b"{not json",
]


def test_quote_refuses_json_that_is_not_a_plain_object(shop):
    import json

    client = shop.test_client()
    problems = []
    for body in [json.dumps(b).encode() for b in NOT_OBJECTS] + HOSTILE_JSON:
        response = client.post("/store/quote", data=body, content_type="application/json")
        if response.status_code != 400 or response.get_json()["ok"] is not False:
            problems.append((body[:40], response.status_code))
    assert problems == []


def test_rename_refuses_control_characters(shop, server):
    client = login(shop, "buyer@example.com")
    for name in ["bad\x00name", "esc\x1b[31m", "del\x7f", "c1\x85"]:
        response = client.post(f"/servers/{server}/rename", data={"name": name})
        assert response.status_code == 400 and "control character" in response.text, name
    assert service_name(shop, server) == "My server"


def test_voucher_and_checkout_forms_refuse_control_characters(shop):
    client = login(shop, "buyer@example.com")
    before = count(shop)
    for url, data in [
        ("/store/redeem", {"code": "HALF\x00"}),
        ("/store/product/mc-small/checkout", {"name": "nul\x00server", "plan": "1"}),
        ("/store/product/mc-small/checkout", {"name": "ok", "voucher": "\x00"}),
    ]:
        response = client.post(url, data=data)
        assert response.status_code == 400, (url, data)
        assert "control character (U+0000)" in response.text
    assert count(shop) == before


def count(app) -> int:
    with app.app_context():
        found = db.session.scalar(db.select(db.func.count(store_models().Service.id)))
        db.session.remove()
    return found


def test_server_ids_beyond_a_database_integer_are_404(shop, server):
    client = login(shop, "buyer@example.com")
    for number in ["2147483648", "9223372036854775808", "9" * 40, "9" * 5000]:
        for suffix in ["", "/settings", "/renew", "/change-plan"]:
            assert client.get(f"/servers/{number}{suffix}").status_code == 404, suffix
        assert client.post(f"/servers/{number}/rename", data={"name": "x"}).status_code == 404
    assert client.get(f"/servers/{server}").status_code == 200


def test_another_customers_server_is_404(shop, server):
    with shop.app_context():
        make_customer("other@example.com")
        recorder_product("other-product")
        db.session.remove()
    other = login(shop, "other@example.com")
    assert other.get(f"/servers/{server}").status_code == 404
