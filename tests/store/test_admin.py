"""The store's admin pages: products with provisioner settings, copies, servers and vouchers."""

from __future__ import annotations

import re

import pytest

from builtin_plugins.store.testing import buy, make_product
from kernel.accounts.services import create_user
from kernel.extensions import db
from kernel.payments import ledger
from kernel.testing import TEST_PASSWORD, make_customer, run_cli
from tests.helpers import write_plugin
from tests.store.conftest import recorder_product

ADMIN_PASSWORD = "admin-password-1"


def store_models():
    """The store's models as loaded now: the plugin loader may import the package afresh, so
    a class imported once at module level can be stale."""
    from builtin_plugins.store import models

    return models


SCHEMA_PROVISIONER = """
from kernel import hookimpl
from kernel.plugins.manifest import SettingSpec
from builtin_plugins.store.provisioning import LiveStatus


class Panel:
    identifier = "panel"
    display_name = "Test panel"

    def settings_schema(self):
        return [SettingSpec(key="node", type="int", label="Node id", required=True),
                SettingSpec(key="egg", type="choice", label="Egg", choices=("paper", "vanilla"),
                            default="paper"),
                SettingSpec(key="api_key", type="secret", label="Key", secret=True)]

    def checkout_fields(self, product):
        return [SettingSpec(key="version", type="choice", label="Version",
                            choices=("1.20", "1.21"), default="1.21")]

    def create(self, service):
        return "p-1"

    def suspend(self, service): ...
    def unsuspend(self, service): ...
    def terminate(self, service): ...
    def change_package(self, service, product): ...
    def reinstall(self, service): ...

    def status(self, service):
        return LiveStatus("offline")

    def health(self):
        return "connection refused" if HEALTH["down"] else None


HEALTH = {"down": False}


@hookimpl
def register_provisioners():
    return [Panel()]
"""


@pytest.fixture
def admin_app(store_app):
    from kernel.testing import rebuild

    write_plugin(
        store_app.config["PLUGINS_DIR"],
        "panel",
        SCHEMA_PROVISIONER,
        capabilities=["register_provisioners"],
        requires={"store": ">=1.0"},
    )
    result = run_cli(store_app, "plugin", "enable", "panel")
    assert result.exit_code == 0, result.output
    app = rebuild(store_app)
    with app.app_context():
        create_user("admin@example.com", ADMIN_PASSWORD, name="Ada", role="admin")
        make_customer(balance=5000)
    import pteroca_plugins.panel as panel

    panel.HEALTH["down"] = False
    return app


def client_for(app, email="admin@example.com", password=ADMIN_PASSWORD):
    client = app.test_client()
    assert client.post("/login", data={"email": email, "password": password}).status_code == 302
    return client


PRODUCT_FORM = {
    "name": "Paper 4GB",
    "slug": "paper-4gb",
    "provisioner": "panel",
    "active": "1",
    "allow_auto_renew": "1",
    "resource_memory_mb": "4096",
    "ps_node": "3",
    "ps_egg": "vanilla",
    "ps_api_key": "s3cret",
    "description": "Fast",
}


def test_store_admin_needs_store_manage(admin_app):
    with admin_app.app_context():
        create_user("support@example.com", ADMIN_PASSWORD, role="support")
    anonymous, admin = admin_app.test_client(), client_for(admin_app)
    customer = client_for(admin_app, "buyer@example.com", TEST_PASSWORD)
    support = client_for(admin_app, "support@example.com")
    for url in (
        "/admin/store/products/",
        "/admin/store/servers/",
        "/admin/store/vouchers/",
        "/admin/store/categories/",
        "/admin/store/voucher-uses/",
        "/admin/store/servers/new",
    ):
        response = anonymous.get(url)
        assert response.status_code == 302 and "/login" in response.location
        assert customer.get(url).status_code == 403
        assert support.get(url).status_code == 403  # admin.access without store.manage
        assert admin.get(url).status_code == 200
    assert customer.post("/admin/store/products/new", data=PRODUCT_FORM).status_code == 403
    with admin_app.app_context():
        assert db.session.scalar(db.select(db.func.count(store_models().Product.id))) == 0


def test_product_create_with_provisioner_settings_then_edit(admin_app):
    client = client_for(admin_app)
    choose = client.get("/admin/store/products/new")
    assert "choose how servers are created" in choose.text and "Test panel" in choose.text
    form = client.get("/admin/store/products/new?provisioner=panel")
    assert 'name="ps_node"' in form.text and 'name="ps_egg"' in form.text
    bad = client.post("/admin/store/products/new", data={**PRODUCT_FORM, "ps_node": "three"})
    assert bad.status_code == 400 and "Node id must be a whole number" in bad.text
    assert 'value="Paper 4GB"' in bad.text  # what was typed stays
    missing = client.post("/admin/store/products/new", data={**PRODUCT_FORM, "ps_node": ""})
    assert missing.status_code == 400 and "Node id is required" in missing.text
    bad_slug = client.post("/admin/store/products/new", data={**PRODUCT_FORM, "slug": "Not A Slug"})
    assert bad_slug.status_code == 400 and "lowercase letters" in bad_slug.text
    with admin_app.app_context():
        assert db.session.scalar(db.select(db.func.count(store_models().Product.id))) == 0
    created = client.post("/admin/store/products/new", data=PRODUCT_FORM)
    assert created.status_code == 303
    with admin_app.app_context():
        product = db.session.scalar(db.select(store_models().Product))
        assert product.provisioner_settings == {"node": 3, "egg": "vanilla", "api_key": "s3cret"}
        assert product.resources == {"memory_mb": 4096} and product.active
        product_id = product.id
    edit = client.get(created.location)
    assert "s3cret" not in edit.text and "No prices" in edit.text
    plan = client.post(
        f"/admin/store/products/{product_id}/plans",
        data={"kind": "fixed", "period_count": "30", "period_unit": "days", "price": "7.50"},
    )
    assert plan.status_code == 303
    bad_plan = client.post(
        f"/admin/store/products/{product_id}/plans",
        data={"kind": "fixed", "period_count": "30", "price": "free"},
    )
    assert bad_plan.status_code == 400 and "is not an amount" in bad_plan.text
    # saving again with the secret left empty keeps it
    saved = client.post(
        f"/admin/store/products/{product_id}",
        data={**PRODUCT_FORM, "ps_api_key": "", "name": "Paper 4 GB"},
    )
    assert saved.status_code == 303
    with admin_app.app_context():
        product = db.session.get(store_models().Product, product_id)
        assert product.name == "Paper 4 GB" and product.provisioner_settings["api_key"] == "s3cret"
        assert [p.price for p in product.plans] == [750]
    assert "7.50 USD" in admin_app.test_client().get("/store/product/paper-4gb").text


def test_product_health_column(admin_app):
    with admin_app.app_context():
        make_product("healthy", provisioner="panel").provisioner_settings = {"node": 1}
        orphan = make_product("orphan", provisioner="gone")
        unpriced = make_product("unpriced", provisioner="panel")
        unpriced.plans.clear()
        unpriced.provisioner_settings = {"node": 2}
        make_product("unset", provisioner="panel")  # node is required
        db.session.commit()
        assert orphan.id
    import pteroca_plugins.panel as panel

    page = client_for(admin_app).get("/admin/store/products/").text
    rows = {chunk.split('"', 1)[0]: chunk for chunk in page.split('data-product="')[1:]}
    assert ">ok<" in rows["healthy"]
    assert "provisioner &#39;gone&#39; unknown" in rows["orphan"]
    assert "no prices" in rows["unpriced"]
    assert "settings invalid: Node id is required" in rows["unset"]
    panel.HEALTH["down"] = True
    page = client_for(admin_app).get("/admin/store/products/").text
    assert "provisioner unreachable: connection refused" in page


def test_copy_product(admin_app):
    with admin_app.app_context():
        product = make_product("mc-small", provisioner="panel")
        product.provisioner_settings = {"node": 4}
        db.session.commit()
        product_id = product.id
    client = client_for(admin_app)
    first = client.post(f"/admin/store/products/{product_id}/copy")
    second = client.post(f"/admin/store/products/{product_id}/copy")
    assert first.status_code == second.status_code == 303
    with admin_app.app_context():
        Product = store_models().Product
        copies = list(
            db.session.scalars(
                db.select(Product).where(Product.id != product_id).order_by(Product.id)
            )
        )
        assert [c.slug for c in copies] == ["mc-small-copy", "mc-small-copy-2"]
        assert all(not c.active and c.provisioner_settings == {"node": 4} for c in copies)
        assert [(p.price, p.period_count) for p in copies[0].plans] == [(1000, 30)]


def test_category_crud_and_slug_rules(admin_app):
    client = client_for(admin_app)
    made = client.post(
        "/admin/store/categories/new/", data={"name": "Games", "slug": "games", "priority": "1"}
    )
    assert made.status_code == 302
    reserved = client.post(
        "/admin/store/categories/new/", data={"name": "X", "slug": "product", "priority": "0"}
    )
    assert "is reserved" in reserved.text
    with admin_app.app_context():
        assert [c.slug for c in db.session.scalars(db.select(store_models().Category))] == ["games"]
    assert "Games" in admin_app.test_client().get("/store/games").text


def _service(app, **kwargs):
    with app.app_context():
        from kernel.accounts.models import User

        Product = store_models().Product
        product = db.session.scalar(
            db.select(Product).where(Product.slug == "mc-small")
        ) or recorder_product("mc-small")
        return buy(db.session.get(User, 2), product, **kwargs).id


def test_manual_suspension_from_the_admin_survives_a_renewal(admin_app, recorder):
    service_id = _service(admin_app)
    client = client_for(admin_app)
    listing = client.get("/admin/store/servers/?state=active")
    assert "My server" in listing.text
    assert "My server" not in client.get("/admin/store/servers/?state=suspended").text
    assert (
        client.post(
            f"/admin/store/servers/{service_id}/suspend", data={"reason": "abuse"}
        ).status_code
        == 303
    )
    customer = client_for(admin_app, "buyer@example.com", TEST_PASSWORD)
    page = customer.get(f"/servers/{service_id}")
    assert "Our staff suspended this server" in page.text
    renew = customer.get(f"/servers/{service_id}/renew").text
    import re

    expires = re.search(r'name="expires" value="([^"]+)"', renew).group(1)
    assert (
        customer.post(
            f"/servers/{service_id}/renew", data={"expires": expires, "action": "pay"}
        ).status_code
        == 303
    )
    with admin_app.app_context():
        service = db.session.get(store_models().Service, service_id)
        assert service.state == "suspended" and service.suspension == "manual"
    assert client.post(f"/admin/store/servers/{service_id}/unsuspend").status_code == 303
    with admin_app.app_context():
        assert db.session.get(store_models().Service, service_id).state == "active"
    assert ("suspend", service_id) in recorder.CALLS and ("unsuspend", service_id) in recorder.CALLS


def test_retry_failed_provisioning_charges_again(admin_app, recorder):
    recorder.STATE["fail_create"] = 2
    service_id = _service(admin_app)
    client = client_for(admin_app)
    with admin_app.app_context():
        assert db.session.get(store_models().Service, service_id).state == "provisioning_failed"
        assert ledger.balance(2) == 5000  # refunded
    failed = client.post(f"/admin/store/servers/{service_id}/retry", data={"charge": "1"})
    assert failed.status_code == 400 and "provisioning failed again: node full" in failed.text
    done = client.post(f"/admin/store/servers/{service_id}/retry", data={"charge": "1"})
    assert done.status_code == 303
    with admin_app.app_context():
        assert db.session.get(store_models().Service, service_id).state == "active"
        assert ledger.balance(2) == 4000 == ledger.ledger_sum(2)


def test_retry_without_charging(admin_app, recorder):
    recorder.STATE["fail_create"] = 1
    service_id = _service(admin_app)
    client_for(admin_app).post(f"/admin/store/servers/{service_id}/retry", data={})
    with admin_app.app_context():
        assert db.session.get(store_models().Service, service_id).state == "active"
        assert ledger.balance(2) == 5000


def test_edit_expiry_and_delete(admin_app, recorder):
    service_id = _service(admin_app)
    client = client_for(admin_app)
    assert (
        client.post(
            f"/admin/store/servers/{service_id}/expiry", data={"expires_at": "2027-03-04T05:06"}
        ).status_code
        == 303
    )
    bad = client.post(f"/admin/store/servers/{service_id}/expiry", data={"expires_at": "soon"})
    assert bad.status_code == 400 and "is not a date" in bad.text
    assert client.post(f"/admin/store/servers/{service_id}/delete").status_code == 303
    with admin_app.app_context():
        service = db.session.get(store_models().Service, service_id)
        assert service.state == "terminated" and service.expires_at.year == 2027
    assert ("terminate", service_id) in recorder.CALLS
    again = client.post(f"/admin/store/servers/{service_id}/suspend")
    assert again.status_code == 400 and "was deleted" in again.text


def test_create_a_server_for_a_customer(admin_app, recorder):
    with admin_app.app_context():
        plan_id = recorder_product("mc-small").plans[0].id
    client = client_for(admin_app)
    assert "Create a server for a customer" in client.get("/admin/store/servers/new").text
    free = client.post(
        "/admin/store/servers/new",
        data={"email": "buyer@example.com", "plan": plan_id, "name": "Gift"},
    )
    assert free.status_code == 303
    charged = client.post(
        "/admin/store/servers/new",
        data={"email": "buyer@example.com", "plan": plan_id, "name": "Paid", "charge": "1"},
    )
    assert charged.status_code == 303
    nobody = client.post(
        "/admin/store/servers/new",
        data={"email": "ghost@example.com", "plan": plan_id, "name": "x"},
    )
    assert nobody.status_code == 400 and "no account with the email" in nobody.text
    with admin_app.app_context():
        names = {s.name: s.state for s in db.session.scalars(db.select(store_models().Service))}
        assert names == {"Gift": "active", "Paid": "active"}
        assert ledger.balance(2) == 4000
    customer = client_for(admin_app, "buyer@example.com", TEST_PASSWORD)
    assert "Gift" in customer.get("/servers").text


def test_voucher_crud(admin_app):
    client = client_for(admin_app)
    made = client.post(
        "/admin/store/vouchers/new/",
        data={
            "code": "gift5",
            "kind": "balance",
            "value": "5.00",
            "once_per_user": "y",
            "min_amount": "0",
            "active": "y",
        },
    )
    assert made.status_code == 302
    bad = client.post(
        "/admin/store/vouchers/new/",
        data={"code": "OFF", "kind": "purchase_discount", "value": "150", "min_amount": "0"},
    )
    assert "a discount is a whole percent from 1 to 100" in bad.text
    dup = client.post(
        "/admin/store/vouchers/new/",
        data={"code": "Gift5", "kind": "balance", "value": "1", "min_amount": "0"},
    )
    assert "exists already" in dup.text
    with admin_app.app_context():
        voucher = db.session.scalar(db.select(store_models().Voucher))
        assert (voucher.code, voucher.value) == ("GIFT5", 500)
    listing = client.get("/admin/store/vouchers/")
    assert "GIFT5" in listing.text and "5.00 USD" in listing.text
    customer = client_for(admin_app, "buyer@example.com", TEST_PASSWORD)
    assert customer.post("/store/redeem", data={"code": "GIFT5"}).status_code == 303
    uses = client.get("/admin/store/voucher-uses/")
    assert "buyer@example.com" in uses.text and "5.00 USD" in uses.text


def test_checkout_shows_and_stores_the_provisioners_choices(admin_app):
    with admin_app.app_context():
        product = make_product("paper", provisioner="panel")
        product.provisioner_settings = {"node": 1}
        db.session.commit()
        plan_id = product.plans[0].id
    import re

    customer = client_for(admin_app, "buyer@example.com", TEST_PASSWORD)
    page = customer.get("/store/product/paper/checkout")
    assert 'name="opt_version"' in page.text and "1.20" in page.text
    token = re.search(r'name="token" value="([^"]+)"', page.text).group(1)
    wrong = customer.post(
        "/store/product/paper/checkout",
        data={"token": token, "plan": plan_id, "name": "P", "opt_version": "0.1"},
    )
    assert wrong.status_code == 400 and "Version must be one of: 1.20, 1.21" in wrong.text
    done = customer.post(
        "/store/product/paper/checkout",
        data={"token": token, "plan": plan_id, "name": "P", "opt_version": "1.20"},
    )
    assert done.status_code == 303
    with admin_app.app_context():
        assert db.session.scalar(db.select(store_models().Service)).options["version"] == "1.20"


def test_overview_cards_count_active_servers_and_those_due_for_renewal(admin_app):
    from datetime import timedelta

    from kernel import clock

    with admin_app.app_context():
        models = store_models()
        product = make_product()
        from kernel.accounts.models import User

        buyer = db.session.scalar(db.select(User).where(User.email == "buyer@example.com"))
        services = [buy(buyer, product, name=f"s{i}") for i in range(3)]
        soon, later = clock.now() + timedelta(days=2), clock.now() + timedelta(days=20)
        for service, expires, auto in zip(
            services, (soon, soon, later), (True, False, False), strict=True
        ):
            service = db.session.get(models.Service, service.id)
            service.state, service.expires_at, service.auto_renew = "active", expires, auto
        db.session.commit()
    page = client_for(admin_app).get("/admin/").get_data(as_text=True)
    assert 'id="figure-active-servers"' in page
    assert re.search(r'id="figure-active-servers"><a [^>]*>3<', page)
    assert 'id="figure-due-servers">2<' in page and "1 renew automatically" in page
    assert re.search(r'id="figure-spending">30\.00', page)  # three purchases at 10.00


def test_product_form_asks_each_value_once_with_units_and_labelled_plan_fields(admin_app):
    """A provisioner whose settings hold a resource (``resource_settings``) is asked it once:
    no second "Resources" field, and the product page shows the provisioner's value."""
    import html.parser

    import pteroca_plugins.panel as panel

    client = client_for(admin_app)
    page = client.get("/admin/store/products/new?provisioner=panel").text
    assert ">Memory (MiB)</label>" in page and "memory mb" not in page.lower()
    for section in ("section-product", "section-sale", "section-resources", "section-provisioner"):
        assert f'id="{section}"' in page
    panel.Panel.resource_settings = {"memory_mb": "node", "disk_mb": "no-such-setting"}
    try:
        page = client.get("/admin/store/products/new?provisioner=panel").text
        assert 'name="resource_memory_mb"' not in page and 'name="resource_disk_mb"' in page
        created = client.post(
            "/admin/store/products/new",
            data={**PRODUCT_FORM, "resource_memory_mb": "999999", "resource_disk_mb": "2048"},
        )
        assert created.status_code == 303
    finally:
        del panel.Panel.resource_settings
    with admin_app.app_context():
        product = db.session.scalar(db.select(store_models().Product))
        assert product.resources == {"memory_mb": 3, "disk_mb": 2048}  # from ps_node, typed once
        product_id = product.id

    class Labels(html.parser.HTMLParser):
        def __init__(self):
            super().__init__()
            self.inside, self.fields, self.labels = False, [], set()

        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            if tag == "form" and attrs.get("id") == "add-plan":
                self.inside = True
            elif self.inside and tag == "label":
                self.labels.add(attrs.get("for"))
            elif self.inside and tag in ("input", "select") and attrs.get("type") != "hidden":
                self.fields.append(attrs.get("id"))

        def handle_endtag(self, tag):
            if tag == "form":
                self.inside = False

    parser = Labels()
    parser.feed(client.get(f"/admin/store/products/{product_id}").text)
    assert len(parser.fields) == 8 and all(f in parser.labels for f in parser.fields), parser.fields


def test_pterodactyl_limits_are_the_customer_facing_resources():
    from builtin_plugins.pterodactyl.provisioner import PterodactylProvisioner
    from builtin_plugins.store.catalog import RESOURCE_KEYS, resource_sources

    assert set(resource_sources(PterodactylProvisioner())) == set(RESOURCE_KEYS)


def test_server_page_shows_checkout_choices_as_a_table_not_json(admin_app):
    with admin_app.app_context():
        from kernel.accounts.models import User

        buyer = db.session.scalar(db.select(User).where(User.email == "buyer@example.com"))
        service = buy(buyer, make_product())
        row = db.session.get(store_models().Service, service.id)
        row.options = {
            "egg": "Paper",
            "variables": {"MAX_PLAYERS": "20", "<b>X": "<i>"},
            "choose_location": True,
            "ports": [25565, 25566],
        }
        db.session.commit()
        service_id = service.id
    page = client_for(admin_app).get(f"/admin/store/servers/{service_id}").text
    detail = page.split('id="server-detail"', 1)[1]
    assert '"egg"' not in detail and "{&#34;" not in detail and '{"' not in detail
    assert "egg</th><td>Paper</td>" in detail and "MAX_PLAYERS</th><td>20</td>" in detail
    assert "choose location</th><td>yes</td>" in detail and "25565, 25566" in detail
    assert "&lt;b&gt;X" in detail and "<b>X" not in detail  # escaped, as everything else


def test_voucher_minimum_is_entered_as_an_amount_not_minor_units(admin_app):
    client = client_for(admin_app)
    form = client.get("/admin/store/vouchers/new/").text
    assert "minor units" not in form
    made = client.post(
        "/admin/store/vouchers/new/",
        data={
            "code": "BIG",
            "kind": "balance",
            "value": "5.00",
            "min_amount": "20.00",
            "active": "y",
        },
    )
    assert made.status_code == 302
    for bad in ("twenty", "-1", "1.234"):
        refused = client.post(
            "/admin/store/vouchers/new/",
            data={"code": f"X{len(bad)}", "kind": "balance", "value": "1", "min_amount": bad},
        )
        assert refused.status_code == 200 and "minimum order or top-up" in refused.text
    with admin_app.app_context():
        voucher = db.session.scalar(db.select(store_models().Voucher))
        assert voucher.min_amount == 2000 and voucher.code == "BIG"
        voucher_id = voucher.id
    assert "20.00 USD" in client.get("/admin/store/vouchers/").text
    edit = client.get(f"/admin/store/vouchers/edit/?id={voucher_id}").text
    assert 'value="20.00"' in edit
