"""Where a new Pelican server goes: the least-loaded eligible node and a free allocation on it,
or the panel's own deployment by tags.

Eligible nodes: the product's ``node_ids`` if it names any; else, with the node policy
``specific_nodes``, the nodes of the plugin settings; else the public nodes carrying at least
one of the product's tags (or the default tags; none: every public node). Pelican has no
locations. Room is counted the way Pelican counts it (reference §3.2.1): memory, disk **and
CPU**; a node resource of 0, or an overallocation of −1, is unlimited; otherwise the node's
servers plus this one must fit within ``size × (1 + overallocate/100)``. Nodes in
maintenance are skipped. The ``panel_deploy`` policy always sends the product's port range:
Pelican creates a server without any port when it is empty.
"""

from __future__ import annotations

from typing import Any

from builtin_plugins.panel_kit.api import allocations
from builtin_plugins.pelican.client import PelicanClient
from builtin_plugins.pelican.panel import PelicanSettings
from builtin_plugins.pelican.product import ProductConfig

RESOURCES = ("memory", "disk", "cpu")


NoPlacement = allocations.NoPlacement  # the kit's, under the plugin's names
Placement = allocations.Placement


def capacity(node: dict[str, Any], resource: str) -> float:
    """What the node may hold of ``resource``; inf when Pelican takes it as unlimited."""
    total = float(node.get(resource) or 0)
    over = float(node.get(f"{resource}_overallocate") or 0)
    if total <= 0 or over < 0:
        return float("inf")
    return total * (1 + over / 100)


used = allocations.used  # the kit's, under the plugin's name


def wanted(config: ProductConfig) -> dict[str, int]:
    return {"memory": config.memory, "disk": config.disk, "cpu": config.cpu}


def room_for(node: dict[str, Any], config: ProductConfig) -> bool:
    return all(used(node, r) + max(n, 0) <= capacity(node, r) for r, n in wanted(config).items())


def load(node: dict[str, Any], config: ProductConfig) -> float:
    """The node's fullness after adding the server: the worst of its limited resources."""
    ratios = [0.0]
    for resource, extra in wanted(config).items():
        limit = capacity(node, resource)
        if limit != float("inf"):
            ratios.append((used(node, resource) + max(extra, 0)) / limit)
    return max(ratios)


def tags_for(config: ProductConfig, settings: PelicanSettings, chosen: str = "") -> tuple:
    if chosen:
        return (chosen,)
    if config.tags:
        return config.tags
    if config.node_ids or settings.node_policy == "specific_nodes":
        return ()  # the nodes named are where servers go, whatever their tags
    return settings.default_tags


def eligible_nodes(
    client: PelicanClient, config: ProductConfig, settings: PelicanSettings, tags: tuple
) -> tuple[list[dict[str, Any]], str]:
    """The candidate nodes and a phrase naming where they were looked for."""
    nodes = client.app.list_nodes()
    if config.node_ids or settings.node_policy == "specific_nodes":
        ids = config.node_ids or settings.node_ids
        where = f"nodes {', '.join(map(str, ids))}"
        found = [n for n in nodes if int(n["id"]) in set(ids)]
    else:
        where = f"nodes tagged {', '.join(tags)}" if tags else "any public node"
        found = [n for n in nodes if n.get("public", True)]
    if tags:
        found = [n for n in found if set(tags) & set(n.get("tags") or ())]
    return found, where


def choose(
    client: PelicanClient,
    config: ProductConfig,
    settings: PelicanSettings,
    *,
    region: str = "",
    skip: set[int] | None = None,
) -> Placement:
    """A placement for a server of ``config``; raises NoPlacement saying why none fits.
    ``region``: the tag a customer chose; ``skip``: allocation ids lost to a concurrent
    create (try others)."""
    tags = tags_for(config, settings, region)
    if not config.node_ids and settings.node_policy == "panel_deploy":
        if not config.port_range:
            raise NoPlacement(
                "the panel_deploy policy needs the product's port range: Pelican would "
                "create the server without any port"
            )
        return Placement(
            deploy={
                "tags": list(tags),
                "locations": [],  # required by Pelican 1.0.0-beta38, unused since
                "dedicated_ip": config.dedicated_ip,
                "port_range": list(config.port_range),
            }
        )
    nodes, where = eligible_nodes(client, config, settings, tags)
    return allocations.place_on(
        nodes,
        where,
        config,
        room_for=lambda n: room_for(n, config),
        load=lambda n: load(n, config),
        needs=f"{config.memory} MiB of memory, {config.disk} MiB of disk and {config.cpu}% CPU",
        pick=lambda node_id: allocations.pick_free(
            client.app.list_node_allocations(node_id), config, skip or set()
        ),
    )
