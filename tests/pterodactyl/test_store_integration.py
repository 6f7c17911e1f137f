"""The store and the pterodactyl plugin together: buy, expire, suspend by the sweep, renew,
delete by the cleanup, all against the simulator."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from builtin_plugins.pterodactyl import links
from builtin_plugins.store.testing import buy
from kernel import clock
from kernel.payments import ledger
from kernel.testing import TEST_PASSWORD, login
from tests.pterodactyl.conftest import configure, panel_customer, panel_product, paper_settings

START = datetime(2026, 3, 1, 12, 0, 0)


@pytest.fixture
def frozen():
    clock.freeze(START)
    yield
    clock.reset()


def test_buy_expire_suspend_renew_and_delete(ctx, panel, sim, frozen):
    from builtin_plugins.store import services as store
    from builtin_plugins.store import sweep
    from kernel.plugins.settings import set_settings

    product = panel_product(paper_settings(panel), price=1500, period_count=30)
    user = panel_customer(balance=2000)
    service = buy(user, product, name="Survival")
    assert service.state == "active" and ledger.balance(user.id) == 500
    server_id = links.server_link(service.id).server_id
    assert sim.server(server_id).name == "Survival"

    clock.advance(timedelta(days=31))
    result = sweep.run_lifecycle()
    assert result.suspended == [service.id]
    assert sim.server(server_id).status == "suspended"

    ledger.credit(user.id, 5000, "adjustment", "top-up for renewal")
    store.renew(service)
    assert service.state == "active" and sim.server(server_id).status is None

    clock.advance(timedelta(days=31))
    sweep.run_lifecycle()
    assert sim.server(server_id).status == "suspended"
    store_manifest = ctx.extensions["pteroca"].discovered["store"].manifest
    set_settings(store_manifest, {"delete_after_days": 3})
    clock.advance(timedelta(days=4))
    cleanup = sweep.run_cleanup()
    assert cleanup.deleted == [service.id]
    assert service.state == "terminated"
    with pytest.raises(KeyError):
        sim.server(server_id)


def test_checkout_page_offers_the_customer_choices(ptero_app, panel, sim):
    with ptero_app.app_context():
        from tests.pterodactyl.conftest import ids

        seed = ids(panel)
        panel_product(
            paper_settings(
                panel,
                extra_egg_ids=str(seed["vanilla"]),
                location_ids=f"{seed['eu']},{seed['us']}",
                choose_location=True,
            ),
            slug="choice",
        )
        panel_customer("shopper@example.com")
    client = ptero_app.test_client()
    login(client, "shopper@example.com", TEST_PASSWORD)
    page = client.get("/store/product/choice/checkout").get_data(as_text=True)
    # the customer reads names; the ids travel only in the option values
    import re

    shown = re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', page)
    assert (f"Paper (#{seed['paper']})", "Paper") in shown, shown
    assert any(text == "Vanilla Minecraft" for _v, text in shown)
    assert any(text == "Simulated Europe" for _v, text in shown)
    assert any(
        text == "Simulated US" and value == f"Simulated US (#{seed['us']})" for value, text in shown
    )
    assert not any("(#" in text for _v, text in shown)
    assert "Minecraft Version" in page  # the editable variable, labelled from the egg
    token = page.split('name="token" value="', 1)[1].split('"', 1)[0]
    with ptero_app.app_context():
        from builtin_plugins.store.models import Product
        from kernel.extensions import db

        plan_id = db.session.scalar(db.select(Product).where(Product.slug == "choice")).plans[0].id
    response = client.post(
        "/store/product/choice/checkout",
        data={
            "token": token,
            "plan": plan_id,
            "name": "Vanilla box",
            "opt_egg": f"Vanilla Minecraft (#{seed['vanilla']})",
            "opt_location": f"Simulated US (#{seed['us']})",
            "opt_var_MINECRAFT_VERSION": "1.20.2",
        },
    )
    assert response.status_code == 303, response.get_data(as_text=True)[:800]
    server = next(s for s in sim.snapshot()["servers"] if s["name"] == "Vanilla box")
    assert server["egg"] == seed["vanilla"]
    assert panel.app.get_node(server["node"])["location_id"] == seed["us"]


def test_a_choice_the_egg_rules_refuse_is_a_400_before_any_charge(ptero_app, panel, sim):
    with ptero_app.app_context():
        panel_product(paper_settings(panel), slug="strict")
        panel_customer("strict@example.com", balance=5000)
    client = ptero_app.test_client()
    login(client, "strict@example.com", TEST_PASSWORD)
    page = client.get("/store/product/strict/checkout").get_data(as_text=True)
    token = page.split('name="token" value="', 1)[1].split('"', 1)[0]
    with ptero_app.app_context():
        from builtin_plugins.store.catalog import product_by_slug

        plan_id = product_by_slug("strict").plans[0].id
    servers_before = len(sim.snapshot()["servers"])
    response = client.post(
        "/store/product/strict/checkout",
        data={
            "token": token,
            "plan": plan_id,
            "name": "Too long",
            "opt_var_MINECRAFT_VERSION": "x" * 25,
        },
    )  # the egg says max:20
    assert response.status_code == 400
    assert "may not be greater than 20 characters" in response.get_data(as_text=True)
    assert len(sim.snapshot()["servers"]) == servers_before
    with ptero_app.app_context():
        from kernel.accounts.models import User
        from kernel.extensions import db

        user = db.session.scalar(db.select(User).where(User.email == "strict@example.com"))
        assert ledger.balance(user.id) == 5000


def test_product_settings_are_checked_against_the_panel(ctx, panel):
    from builtin_plugins.store import catalog

    provisioner = catalog.provisioners()["pterodactyl"]
    good = paper_settings(panel)
    assert provisioner.validate_settings(good) == []
    bad = paper_settings(panel, egg_id=ids_source_egg(panel), variables="NOPE=1\nMAX_PLAYERS=500")
    problems = provisioner.validate_settings(bad)
    assert any("is not in nest" in p for p in problems)
    wrong_value = provisioner.validate_settings(paper_settings(panel, variables="MAX_PLAYERS=500"))
    assert wrong_value == ["egg variables: The Max Players variable must be between 1 and 100."]
    unknown = provisioner.validate_settings(paper_settings(panel, variables="NOPE=1"))
    assert unknown == ["egg variables: NOPE is not a variable of the chosen egg"]
    syntax = provisioner.validate_settings(paper_settings(panel, variables="bad line here"))
    assert syntax and "line 1" in syntax[0]
    assert provisioner.validate_settings(paper_settings(panel, io=5)) == [
        "Block IO weight must be at least 10"
    ]


def ids_source_egg(panel) -> int:
    nests = {n["name"]: n["id"] for n in panel.app.list_nests()}
    return panel.app.list_eggs(nests["Source Engine"])[0]["id"]


def test_products_list_shows_an_unreachable_panel(ptero_app, panel):
    from tests.helpers import make_user

    with ptero_app.app_context():
        panel_product(paper_settings(panel), slug="listed")
        make_user("boss@example.com", role="admin")
    configure(ptero_app, panel_url="http://127.0.0.1:9")
    client = ptero_app.test_client()
    login(client, "boss@example.com", "correct horse battery")
    page = client.get("/admin/store/products/").get_data(as_text=True)
    assert "provisioner unreachable" in page and "cannot reach the panel" in page.lower()


def test_choices_with_the_same_name_keep_their_ids_apart():
    from builtin_plugins.pterodactyl.catalog import readable

    assert readable(("Paper (#1)", "Vanilla (#2)")) == ("Paper", "Vanilla")
    assert readable(("Paper (#1)", "Paper (#7)", "Forge (#3)")) == (
        "Paper (#1)",
        "Paper (#7)",
        "Forge",
    )
