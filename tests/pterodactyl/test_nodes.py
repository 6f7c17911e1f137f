"""The store's ``server_nodes`` and ``known_nodes`` hooks, answered from the panel links."""

from __future__ import annotations

from builtin_plugins.pterodactyl import links, lookups
from builtin_plugins.store.testing import buy
from tests.pterodactyl.conftest import panel_customer, panel_product, paper_settings


def test_hook_server_nodes(ctx, panel, sim):
    from builtin_plugins.store.api import nodes_of

    product = panel_product(paper_settings(panel))
    service = buy(panel_customer(balance=5000), product, name="Placed")
    link = links.server_link(service.id)
    assert link.node_id is not None
    assert nodes_of([service]) == {service.id: f"pterodactyl:{link.node_id}"}
    assert nodes_of([]) == {}


def test_hook_known_nodes(ctx, panel, sim):
    from builtin_plugins.store.api import known_nodes

    product = panel_product(paper_settings(panel))
    service = buy(panel_customer(balance=5000), product, name="Placed")
    node_id = links.server_link(service.id).node_id
    nodes = {n["id"]: n["label"] for n in known_nodes()}
    name = panel.app.get_node(node_id)["name"]
    assert nodes[f"pterodactyl:{node_id}"] == f"{name} (Pterodactyl #{node_id})"
    sim.stop()  # the panel away: the nodes in use are still known, by number
    lookups.forget_cache()
    assert f"pterodactyl:{node_id}" in {n["id"] for n in known_nodes()}
