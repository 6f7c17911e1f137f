"""The customer's store pages through the test client: browse, calculate, check out, renew."""

from __future__ import annotations

import re

import pytest

from builtin_plugins.store.testing import buy
from kernel.extensions import db
from kernel.payments import ledger
from kernel.testing import TEST_PASSWORD, login, make_customer, run_cli
from tests.store.conftest import recorder_product

PASSWORD = TEST_PASSWORD  # make_customer\'s


def store_models():
    """The store's models as loaded now: the plugin loader may import the package afresh, so
    a class imported once at module level can be stale."""
    from builtin_plugins.store import models

    return models


def token_of(page) -> str:
    return re.search(r'name="token" value="([^"]+)"', page.text).group(1)


def plan_id(app, slug="mc-small") -> int:
    with app.app_context():
        from builtin_plugins.store.catalog import product_by_slug

        return product_by_slug(slug).plans[0].id


def count_services(app) -> int:
    with app.app_context():
        return db.session.scalar(db.select(db.func.count(store_models().Service.id)))


@pytest.fixture
def shop(store_app, recorder):
    """A category with a featured product, another product outside it, a customer with 50.00."""
    with store_app.app_context():
        category = store_models().Category(
            name="Minecraft", slug="minecraft", description="Blocks", priority=1
        )
        db.session.add(category)
        small = recorder_product("mc-small", price=1000)
        small.category, small.featured = category, True
        recorder_product("rust-big", price=2500)
        db.session.commit()
        make_customer(balance=5000)
    return store_app


def test_browse_store_category_and_product(shop):
    client = shop.test_client()  # the store is public
    index = client.get("/store")
    assert index.status_code == 200
    assert "Minecraft" in index.text and "Featured" in index.text and "Rust Big" in index.text
    category = client.get("/store/minecraft")
    assert "Mc Small" in category.text and "Rust Big" not in category.text
    product = client.get("/store/product/mc-small")
    assert product.status_code == 200
    assert "10.00 USD / 30 days" in product.text and "Memory" in product.text
    assert 'data-quote-url="/store/quote"' in product.text and "store.js" in product.text
    assert "<script>" not in product.text  # the CSP forbids inline script
    assert client.get("/store/nothing").status_code == 404
    assert client.get("/store/product/nothing").status_code == 404


def test_inactive_products_are_not_sold(shop):
    with shop.app_context():
        from builtin_plugins.store.catalog import product_by_slug

        product_by_slug("rust-big").active = False
        db.session.commit()
    client = login(shop, "buyer@example.com", PASSWORD)
    assert "Rust Big" not in client.get("/store").text
    assert client.get("/store/product/rust-big").status_code == 404
    assert client.get("/store/product/rust-big/checkout").status_code == 404


def test_checkout_buys_and_redirects_to_the_server_page(shop, recorder):
    client = login(shop, "buyer@example.com", PASSWORD)
    page = client.get("/store/product/mc-small/checkout")
    assert page.status_code == 200 and "Pay and create the server" in page.text
    response = client.post(
        "/store/product/mc-small/checkout",
        data={
            "token": token_of(page),
            "plan": plan_id(shop),
            "name": "Survival",
            "auto_renew": "1",
        },
    )
    assert response.status_code == 303
    service_id = int(response.location.rsplit("/", 1)[1])
    server = client.get(response.location)
    assert server.status_code == 200 and "Survival" in server.text and "Running" in server.text
    assert "is on its way" in server.text
    with shop.app_context():
        service = db.session.get(store_models().Service, service_id)
        assert service.state == "active" and service.auto_renew
        assert ledger.balance(service.user_id) == 4000
    assert ("create", service_id) in recorder.CALLS


def test_double_submit_buys_once(shop):
    client = login(shop, "buyer@example.com", PASSWORD)
    form = {
        "token": token_of(client.get("/store/product/mc-small/checkout")),
        "plan": plan_id(shop),
        "name": "Twice",
    }
    first = client.post("/store/product/mc-small/checkout", data=form)
    second = client.post("/store/product/mc-small/checkout", data=form)
    assert first.status_code == second.status_code == 303 and first.location == second.location
    assert count_services(shop) == 1
    with shop.app_context():
        assert ledger.balance(1) == 4000


def test_insufficient_balance_is_a_400_with_a_message_and_buys_nothing(shop):
    client = login(shop, "buyer@example.com", PASSWORD)
    page = client.get("/store/product/rust-big/checkout")
    make = {"token": token_of(page), "plan": plan_id(shop, "rust-big"), "name": "Big"}
    with shop.app_context():
        ledger.debit(1, 4000, "adjustment", "spend")
    response = client.post("/store/product/rust-big/checkout", data=make)
    assert response.status_code == 400
    assert "your balance is too low for this order" in response.text
    assert 'value="Big"' in response.text  # the form keeps what was typed
    assert count_services(shop) == 0


def test_bad_name_and_plan_are_400(shop):
    client = login(shop, "buyer@example.com", PASSWORD)
    token = token_of(client.get("/store/product/mc-small/checkout"))
    empty = client.post(
        "/store/product/mc-small/checkout",
        data={"token": token, "plan": plan_id(shop), "name": "  "},
    )
    assert empty.status_code == 400 and "give the server a name" in empty.text
    wrong = client.post(
        "/store/product/mc-small/checkout",
        data={"token": token, "plan": plan_id(shop, "rust-big"), "name": "x"},
    )
    assert wrong.status_code == 400 and "Choose a price plan" in wrong.text
    assert count_services(shop) == 0


def test_quote_endpoint_and_voucher_at_checkout(shop):
    with shop.app_context():
        db.session.add(store_models().Voucher(code="HALF", kind="purchase_discount", value=50))
        db.session.commit()
    anonymous = shop.test_client()
    body = {"product": "mc-small", "plan": plan_id(shop)}
    plain = anonymous.post("/store/quote", json=body)
    assert plain.status_code == 200 and plain.get_json()["total"] == "10.00 USD"
    assert anonymous.post("/store/quote", json={**body, "voucher": "HALF"}).status_code == 400
    client = login(shop, "buyer@example.com", PASSWORD)
    half = client.post("/store/quote", json={**body, "voucher": "half"}).get_json()
    assert half == {
        "ok": True,
        "slots": 1,
        "total_minor": 500,
        "price": "10.00 USD",
        "discount": "5.00 USD",
        "total": "5.00 USD",
    }
    bad = client.post("/store/quote", json={**body, "voucher": "NOPE"})
    assert bad.status_code == 400 and "is not valid" in bad.get_json()["error"]
    token = token_of(client.get("/store/product/mc-small/checkout"))
    response = client.post(
        "/store/product/mc-small/checkout",
        data={"token": token, "plan": plan_id(shop), "name": "Cheap", "voucher": "HALF"},
    )
    assert response.status_code == 303
    with shop.app_context():
        assert ledger.balance(1) == 4500
        assert db.session.scalar(db.select(store_models().Voucher)).uses == 1
    again = client.post("/store/quote", json={**body, "voucher": "HALF"})
    assert "already used" in again.get_json()["error"]


def test_slot_plans_are_priced_per_slot(store_app, recorder):
    with store_app.app_context():
        recorder_product("slots", price=200, kind="slot", min_slots=5, max_slots=20)
        make_customer(balance=10000)
    client = login(store_app, "buyer@example.com", PASSWORD)
    plan = plan_id(store_app, "slots")
    quote = client.post("/store/quote", json={"product": "slots", "plan": plan, "slots": 10})
    assert quote.get_json()["total"] == "20.00 USD"
    too_many = client.post("/store/quote", json={"product": "slots", "plan": plan, "slots": 99})
    assert too_many.status_code == 400 and "between 5 and 20 slots" in too_many.get_json()["error"]
    token = token_of(client.get(f"/store/product/slots/checkout?plan={plan}&slots=10"))
    assert (
        client.post(
            "/store/product/slots/checkout",
            data={"token": token, "plan": plan, "slots": "10", "name": "Ten"},
        ).status_code
        == 303
    )
    with store_app.app_context():
        assert ledger.balance(1) == 8000
        assert db.session.scalar(db.select(store_models().Service)).slots == 10


def test_servers_list_shows_state_expiry_and_notices(shop, recorder):
    with shop.app_context():
        from builtin_plugins.store import services
        from builtin_plugins.store.catalog import product_by_slug
        from kernel.accounts.models import User

        user, product = db.session.get(User, 1), product_by_slug("mc-small")
        ok = buy(user, product, name="Alpha")
        paused = buy(user, product, name="Beta")
        services.suspend(paused, manual=False)
        recorder.STATE["fail_create"] = 1
        buy(user, product, name="Gamma")
        expiry = ok.expires_at.strftime("%Y-%m-%d %H:%M")
        ok_id, paused_id = ok.id, paused.id
    customer = login(shop, "buyer@example.com", PASSWORD)
    page = customer.get("/servers")
    assert page.status_code == 200
    for words in (
        "Alpha",
        "Beta",
        "Gamma",
        expiry,
        "Suspended: renew to start it again",
        "Creation failed; your payment was refunded",
        "Renew",
    ):
        assert words in page.text
    # the live state is not waited for: a placeholder, filled by the statuses fragment
    assert (
        f'id="live-{ok_id}"><span class="badge rounded-pill text-bg-light border live-pending"'
        in page.text
        and "Running" not in page.text
    )
    assert 'hx-get="/servers/statuses"' in page.text and "vendor/htmx/htmx.min.js" in page.text
    states = customer.get("/servers/statuses")
    assert states.status_code == 200
    assert (
        f'<span id="live-{ok_id}" hx-swap-oob="true">' in states.text and "Running" in states.text
    )
    assert f'id="live-{paused_id}"' not in states.text  # only active servers have a live state
    dashboard = login(shop, "buyer@example.com", PASSWORD).get("/dashboard")
    assert "My servers" in dashboard.text and "Alpha" in dashboard.text
    assert 'href="/servers"' in dashboard.text and 'href="/store"' in dashboard.text


def test_another_customers_server_is_404_everywhere(shop):
    with shop.app_context():
        from builtin_plugins.store.catalog import product_by_slug

        owner = make_customer("owner@example.com", balance=5000)
        service_id = buy(owner, product_by_slug("mc-small")).id
    owner_client = login(shop, "owner@example.com", PASSWORD)
    intruder = login(shop, "buyer@example.com", PASSWORD)
    gets = ["", "/settings", "/renew"]
    posts = ["/rename", "/auto-renew", "/renew"]
    for suffix in gets:
        assert owner_client.get(f"/servers/{service_id}{suffix}").status_code == 200
        assert intruder.get(f"/servers/{service_id}{suffix}").status_code == 404
    for suffix in posts:
        response = intruder.post(
            f"/servers/{service_id}{suffix}", data={"name": "mine", "enabled": "1", "action": "pay"}
        )
        assert response.status_code == 404
    with shop.app_context():
        service = db.session.get(store_models().Service, service_id)
        assert service.name == "My server" and not service.auto_renew
        assert ledger.balance(1) == 5000


def test_settings_tab_renames_and_toggles_auto_renew(shop):
    with shop.app_context():
        from builtin_plugins.store.catalog import product_by_slug
        from kernel.accounts.models import User

        service_id = buy(db.session.get(User, 1), product_by_slug("mc-small")).id
    client = login(shop, "buyer@example.com", PASSWORD)
    settings = client.get(f"/servers/{service_id}/settings")
    assert "Settings" in settings.text and "Overview" in settings.text and "Rename" in settings.text
    assert client.post(f"/servers/{service_id}/rename", data={"name": "Renamed"}).status_code == 303
    bad = client.post(f"/servers/{service_id}/rename", data={"name": ""})
    assert bad.status_code == 400 and "give the server a name" in bad.text
    switched = client.post(f"/servers/{service_id}/auto-renew", data={"enabled": "1"})
    assert switched.status_code == 303
    with shop.app_context():
        service = db.session.get(store_models().Service, service_id)
        assert service.name == "Renamed" and service.auto_renew


def test_renew_page_renews_once_per_click(shop):
    with shop.app_context():
        from builtin_plugins.store.catalog import product_by_slug
        from kernel.accounts.models import User

        service = buy(db.session.get(User, 1), product_by_slug("mc-small"))
        service_id, old = service.id, service.expires_at
    client = login(shop, "buyer@example.com", PASSWORD)
    page = client.get(f"/servers/{service_id}/renew")
    assert page.status_code == 200 and "Pay 10.00 USD from my balance" in page.text
    expires = re.search(r'name="expires" value="([^"]+)"', page.text).group(1)
    form = {"expires": expires, "action": "pay"}
    first = client.post(f"/servers/{service_id}/renew", data=form)
    assert first.status_code == 303
    second = client.post(f"/servers/{service_id}/renew", data=form)  # a double click
    assert second.status_code == 303
    assert "renewed already" in client.get(second.location).text
    with shop.app_context():
        from datetime import timedelta

        service = db.session.get(store_models().Service, service_id)
        assert service.expires_at == old + timedelta(days=30)
        assert ledger.balance(1) == 3000


def test_renew_with_a_short_balance_links_to_the_wallet(shop):
    with shop.app_context():
        from builtin_plugins.store.catalog import product_by_slug
        from kernel.accounts.models import User

        service_id = buy(db.session.get(User, 1), product_by_slug("rust-big")).id
        ledger.debit(1, 2000, "adjustment", "spend")
    client = login(shop, "buyer@example.com", PASSWORD)
    page = client.get(f"/servers/{service_id}/renew")
    assert "is 20.00 USD short" in page.text and "Top up first" in page.text
    expires = re.search(r'name="expires" value="([^"]+)"', page.text).group(1)
    refused = client.post(
        f"/servers/{service_id}/renew", data={"expires": expires, "action": "pay"}
    )
    assert refused.status_code == 400 and "your balance is too low to renew" in refused.text


def test_renew_with_a_voucher_preview_then_pay(shop):
    with shop.app_context():
        from builtin_plugins.store.catalog import product_by_slug
        from kernel.accounts.models import User

        db.session.add(store_models().Voucher(code="RENEW10", kind="purchase_discount", value=10))
        service_id = buy(db.session.get(User, 1), product_by_slug("mc-small")).id
    client = login(shop, "buyer@example.com", PASSWORD)
    page = client.get(f"/servers/{service_id}/renew")
    expires = re.search(r'name="expires" value="([^"]+)"', page.text).group(1)
    url = f"/servers/{service_id}/renew"
    preview = client.post(url, data={"expires": expires, "action": "preview", "voucher": "RENEW10"})
    assert preview.status_code == 200 and "- 1.00 USD" in preview.text
    assert "Pay 9.00 USD" in preview.text
    wrong = client.post(url, data={"expires": expires, "action": "preview", "voucher": "WRONG"})
    assert "is not valid" in wrong.text
    paid = client.post(
        f"/servers/{service_id}/renew",
        data={"expires": expires, "action": "pay", "voucher": "RENEW10"},
    )
    assert paid.status_code == 303
    with shop.app_context():
        assert ledger.balance(1) == 5000 - 1000 - 900


def test_menu_items(shop):
    page = login(shop, "buyer@example.com", PASSWORD).get("/dashboard")
    assert 'href="/servers"' in page.text and ">Servers<" in page.text and ">Store<" in page.text


VETO = """
from kernel import hookimpl


@hookimpl
def veto_purchase(user, product, plan):
    return "orders are paused for maintenance" if product.slug == "rust-big" else None


@hookimpl
def veto_renewal(service, user):
    return "renewals are paused for maintenance"
"""


def test_veto_reasons_reach_the_customer(shop):
    from kernel.testing import rebuild
    from tests.helpers import write_plugin

    write_plugin(
        shop.config["PLUGINS_DIR"],
        "pause",
        VETO,
        requires={"store": ">=1.0"},
        capabilities=["veto_purchase", "veto_renewal"],
    )
    enabled = run_cli(shop, "plugin", "enable", "pause")
    assert enabled.exit_code == 0, enabled.output
    app = rebuild(shop)
    client = login(app, "buyer@example.com", PASSWORD)
    token = token_of(client.get("/store/product/rust-big/checkout"))
    refused = client.post(
        "/store/product/rust-big/checkout",
        data={"token": token, "plan": plan_id(app, "rust-big"), "name": "x"},
    )
    assert refused.status_code == 400 and "orders are paused for maintenance" in refused.text
    token = token_of(client.get("/store/product/mc-small/checkout"))
    bought = client.post(
        "/store/product/mc-small/checkout",
        data={"token": token, "plan": plan_id(app), "name": "ok"},
    )
    assert bought.status_code == 303
    renew = client.get(bought.location + "/renew")
    expires = re.search(r'name="expires" value="([^"]+)"', renew.text).group(1)
    no = client.post(bought.location + "/renew", data={"expires": expires, "action": "pay"})
    assert no.status_code == 400 and "renewals are paused for maintenance" in no.text
    with app.app_context():
        assert ledger.balance(1) == 4000


def test_change_plan_page_prices_upgrades_and_downgrades_and_applies_once(shop, recorder):
    from datetime import timedelta

    from kernel import clock

    with shop.app_context():
        from builtin_plugins.store.catalog import product_by_slug
        from kernel.accounts.models import User

        recorder_product("mc-big", price=3000)
        recorder_product("mc-tiny", price=500)
        recorder_product("mc-weekly", price=400, period_count=7)  # another period: not offered
        service_id = buy(db.session.get(User, 1), product_by_slug("mc-small")).id
        big_id, small_id = product_by_slug("mc-big").id, product_by_slug("mc-small").id
    clock.advance(timedelta(days=15))  # half the 30-day period is left
    client = login(shop, "buyer@example.com", PASSWORD)
    assert "Change plan" in client.get(f"/servers/{service_id}/settings").text
    page = client.get(f"/servers/{service_id}/change-plan")
    assert page.status_code == 200
    assert re.search(r'data-product="mc-big".*?To pay now: 10.00 USD', page.text, re.S)
    assert re.search(
        r'data-product="mc-tiny".*?Credited to your balance: 2.50 USD', page.text, re.S
    )
    assert re.search(
        r'data-product="mc-weekly".*?has no plan with the same billing period', page.text, re.S
    )
    form = {"product_id": big_id, "from_product": small_id}
    assert client.post(f"/servers/{service_id}/change-plan", data=form).status_code == 303
    again = client.post(f"/servers/{service_id}/change-plan", data=form)  # a double click
    assert again.status_code == 303 and "changed plan already" in client.get(again.location).text
    assert ("change_package", service_id, "mc-big") in recorder.CALLS
    with shop.app_context():
        service = db.session.get(store_models().Service, service_id)
        assert service.product.slug == "mc-big" and service.price == 3000
        assert ledger.balance(1) == 5000 - 1000 - 1000 == ledger.ledger_sum(1)


def test_change_plan_refusals_are_400_with_the_reason_and_charge_nothing(shop, recorder):
    from datetime import timedelta

    from kernel import clock

    with shop.app_context():
        from builtin_plugins.store.catalog import product_by_slug
        from kernel.accounts.models import User

        recorder_product("mc-huge", price=50000)
        recorder_product("mc-big", price=3000)
        service_id = buy(db.session.get(User, 1), product_by_slug("mc-small")).id
        ids = {slug: product_by_slug(slug).id for slug in ("mc-small", "mc-huge", "mc-big")}
    clock.advance(timedelta(days=1))
    client = login(shop, "buyer@example.com", PASSWORD)
    url = f"/servers/{service_id}/change-plan"
    short = client.post(url, data={"product_id": ids["mc-huge"], "from_product": ids["mc-small"]})
    assert short.status_code == 400 and "balance is too low" in short.text
    recorder.STATE["refuse_package"] = "the node has no room for 8 GB"
    refused = client.post(url, data={"product_id": ids["mc-big"], "from_product": ids["mc-small"]})
    assert refused.status_code == 400 and "the node has no room for 8 GB" in refused.text
    unknown = client.post(url, data={"product_id": "999", "from_product": ids["mc-small"]})
    assert unknown.status_code == 400 and "Choose one of the plans" in unknown.text
    assert login(shop, "buyer@example.com", PASSWORD).get(url).status_code == 200
    with shop.app_context():
        make_customer("other@example.com")
    intruder = login(shop, "other@example.com", PASSWORD)
    assert intruder.get(url).status_code == 404
    assert intruder.post(url, data={"product_id": ids["mc-big"]}).status_code == 404
    with shop.app_context():
        service = db.session.get(store_models().Service, service_id)
        assert service.product.slug == "mc-small"
        assert ledger.balance(1) == 4000 == ledger.ledger_sum(1)
