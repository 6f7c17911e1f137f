"""The product form for Pelican: parsing (egg alone, tags, limits), checks against the real
eggs and nodes, and the store's admin form answering 4xx with the plugin's messages."""

from __future__ import annotations

import pytest

from builtin_plugins.pelican import placement, product
from builtin_plugins.store.provisioning import provisioners
from tests.pelican_plugin.conftest import paper_settings


def problems(values) -> list[str]:
    return provisioners()["pelican"].validate_settings(values)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"egg_id": ""}, "choose the egg"),
        ({"nest_id": 1}, "Pelican has no nests"),
        ({"io": -1}, "Block IO weight must be at least 0"),
        ({"io": 1001}, "Block IO weight must be at most 1000"),
        ({"memory": "lots"}, "Memory must be a whole number"),
        ({"tags": "eu west"}, "is not a node tag"),
        ({"tags": "sim-eu", "choose_region": True}, "two or more node tags"),
        ({"node_ids": "1,x"}, "Nodes: 'x' is not a positive whole number"),
        ({"port_range": "80"}, "is not a port"),
        ({"variables": "P_SERVER_UUID=1"}, "P_SERVER_UUID is set by the panel itself"),
        ({"variables": "TZ=UTC"}, "TZ is set by the panel itself"),
        ({"threads": "all"}, "CPU pinning"),
    ],
)
def test_malformed_settings_are_named(ctx, panel, overrides, message):
    found = problems(paper_settings(panel, **overrides))
    assert found and message in found[0], found


def test_an_io_weight_of_zero_is_pelican_s_own(ctx, panel):
    assert problems(paper_settings(panel, io=0)) == []
    assert product.parse(paper_settings(panel, io=0)).io == 0


def test_settings_are_checked_against_the_panel(ctx, panel):
    found = problems(
        paper_settings(
            panel,
            extra_egg_ids="999",
            variables="NOPE=1\nMAX_PLAYERS=500",
            node_ids="77",
            tags="sim-eu, mars",
        )
    )
    assert "the panel has no egg 999" in found
    assert "egg variables: NOPE is not a variable of the chosen egg" in found
    assert any("Max Players variable must be between 1 and 100" in p for p in found)
    assert "the panel has no node 77" in found
    assert "no node carries the tag mars" in found


def test_egg_rules_given_as_an_array_are_applied(ctx, panel):
    egg = panel.app.get_egg(panel.app.list_eggs()[0]["id"])
    variable = egg["relationships"]["variables"][0]
    assert isinstance(variable["rules"], list)  # Pelican's shape
    from builtin_plugins.panel_kit.api import rules

    assert rules.check("", ["required", "string"], "X") == "The X variable field is required."
    assert rules.check("a|b", ["regex:/^a\\|b$/"], "X") is None


def test_checkout_offers_the_eggs_and_editable_variables(ctx, panel):
    from tests.pelican_plugin.conftest import ids, pelican_product

    seed = ids(panel)
    row = pelican_product(paper_settings(panel, extra_egg_ids=str(seed["vanilla"])))
    fields = {f.key: f for f in provisioners()["pelican"].checkout_fields(row)}
    assert fields["egg"].choices == (
        f"Paper (#{seed['paper']})",
        f"Vanilla Minecraft (#{seed['vanilla']})",
    )
    # customers read the eggs' names; the values keep the panel id the create reads back
    assert fields["egg"].choice_labels == ("Paper", "Vanilla Minecraft")
    assert fields["var_MINECRAFT_VERSION"].default == "1.20.4"
    assert "var_MAX_PLAYERS" not in fields  # filled by the slot count


def test_checkout_eggs_of_the_same_name_keep_their_ids(ctx, sim, panel):
    from builtin_plugins.pelican import catalog
    from tests.pelican_plugin.conftest import ids, pelican_product

    seed = ids(panel)
    settings = paper_settings(panel, extra_egg_ids=f"{seed['vanilla']},{seed['gmod']}")
    with sim.state.lock:
        sim.state.eggs[seed["vanilla"]].name = "Paper"  # two eggs read "Paper" in the panel
    catalog.forget_cache()
    row = pelican_product(settings, slug="twins")
    [egg] = [f for f in provisioners()["pelican"].checkout_fields(row) if f.key == "egg"]
    assert egg.choice_labels == (
        f"Paper (#{seed['paper']})",
        f"Paper (#{seed['vanilla']})",
        "Garrys Mod",
    )


def test_the_admin_product_form_refuses_bad_settings_with_a_4xx(ctx, pel_app, panel):
    from kernel.testing import admin_client

    client = admin_client(pel_app)
    settings = paper_settings(panel, tags="eu west")
    form = {
        "name": "Bad Pelican",
        "slug": "bad-pelican",
        "provisioner": "pelican",
        "active": "1",
        "resource_memory_mb": "2048",
        **{f"ps_{k}": ("1" if v is True else v) for k, v in settings.items() if v is not False},
    }
    response = client.post("/admin/store/products/new", data=form)
    assert response.status_code == 400, response.status_code
    assert "is not a node tag" in response.text
    assert 'value="Bad Pelican"' in response.text  # what was typed stays
    good = client.post("/admin/store/products/new", data={**form, "ps_tags": "sim-eu"})
    assert good.status_code == 303, good.text[:2000]
    page = client.get("/admin/store/products/new?provisioner=pelican").text
    assert 'name="ps_tags"' in page and 'name="ps_nest_id"' not in page


# --- placement: Pelican counts CPU, 0 and -1 mean unlimited ---------------------------------


def node(**values) -> dict:
    base = {
        "id": 1,
        "memory": 8192,
        "memory_overallocate": 0,
        "disk": 100_000,
        "disk_overallocate": 0,
        "cpu": 400,
        "cpu_overallocate": 0,
        "allocated_resources": {"memory": 0, "disk": 0, "cpu": 0},
    }
    base.update(values)
    return base


def config(**values):
    return product.parse({"egg_id": 1, **values})


def test_room_counts_cpu():
    busy = node(allocated_resources={"memory": 0, "disk": 0, "cpu": 350})
    assert placement.room_for(busy, config(cpu=50))
    assert not placement.room_for(busy, config(cpu=51))


def test_a_resource_of_zero_or_an_overallocation_of_minus_one_is_unlimited():
    assert placement.room_for(node(cpu=0), config(cpu=100_000))
    assert placement.room_for(node(memory_overallocate=-1), config(memory=10**7))
    assert placement.room_for(node(cpu=100, cpu_overallocate=100), config(cpu=200))
    assert not placement.room_for(node(cpu=100, cpu_overallocate=100), config(cpu=201))


def test_the_least_loaded_node_counts_its_cpu():
    cpu_bound = node(id=1, allocated_resources={"memory": 0, "disk": 0, "cpu": 300})
    roomy = node(id=2, allocated_resources={"memory": 1024, "disk": 0, "cpu": 0})
    wanted = config(memory=1024, cpu=50)
    assert placement.load(roomy, wanted) < placement.load(cpu_bound, wanted)
