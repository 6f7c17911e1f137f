"""Where a new server goes: the least-loaded eligible node and a free allocation on it, or the
panel's own deployment by location.

Eligible nodes: the product's ``node_ids`` if it names any; else, with the node policy
``specific_nodes``, the nodes listed in the plugin settings; else the public nodes of
the product's locations (or the default location). Nodes in maintenance and nodes
without room for the server's memory and disk (overallocation counted as the panel
counts it) are skipped; the rest are tried from the least loaded, taking the lowest
free port in the product's port range.

Which free allocation a node gives is the panel kit's rule (``allocations``), shared with the
Pelican plugin.
"""

from __future__ import annotations

from typing import Any

from builtin_plugins.panel_kit.api import allocations
from builtin_plugins.pterodactyl.client import PanelClient
from builtin_plugins.pterodactyl.lookups import resolve_location
from builtin_plugins.pterodactyl.panel import PanelSettings
from builtin_plugins.pterodactyl.product import ProductConfig

NoPlacement = allocations.NoPlacement  # the kit's, under the plugin's names
Placement = allocations.Placement


def capacity(node: dict[str, Any], resource: str) -> float:
    """What the node may hold of ``resource`` (memory or disk, MiB); inf when unlimited."""
    total = float(node.get(resource) or 0)
    over = float(node.get(f"{resource}_overallocate") or 0)
    if over < 0:
        return float("inf")
    return total * (1 + over / 100)


used = allocations.used  # the kit's, under the plugin's name


def room_for(node: dict[str, Any], memory: int, disk: int) -> bool:
    return used(node, "memory") + max(memory, 0) <= capacity(node, "memory") and used(
        node, "disk"
    ) + max(disk, 0) <= capacity(node, "disk")


def load(node: dict[str, Any], memory: int = 0, disk: int = 0) -> float:
    """The node's fullness after adding the server: the worse of memory and disk (0..1)."""
    ratios = []
    for resource, extra in (("memory", memory), ("disk", disk)):
        limit = capacity(node, resource)
        ratios.append(0.0 if limit in (0, float("inf")) else (used(node, resource) + extra) / limit)
    return max(ratios)


def locations_for(
    client: PanelClient, config: ProductConfig, settings: PanelSettings, chosen: int | None = None
) -> tuple[int, ...]:
    if chosen is not None:
        return (chosen,)
    if config.location_ids:
        return config.location_ids
    if config.node_ids or settings.node_policy == "specific_nodes":
        return ()  # the nodes named are where servers go, wherever they are
    default = resolve_location(client, settings.default_location)
    return (default,) if default is not None else ()


def eligible_nodes(
    client: PanelClient, config: ProductConfig, settings: PanelSettings, locations: tuple[int, ...]
) -> tuple[list[dict[str, Any]], str]:
    """The candidate nodes and a phrase naming where they were looked for."""
    nodes = client.app.list_nodes()
    if config.node_ids:
        wanted, where = set(config.node_ids), f"nodes {', '.join(map(str, config.node_ids))}"
        found = [n for n in nodes if int(n["id"]) in wanted]
    elif settings.node_policy == "specific_nodes":
        wanted, where = set(settings.node_ids), f"nodes {', '.join(map(str, settings.node_ids))}"
        found = [n for n in nodes if int(n["id"]) in wanted]
    else:
        where = f"location {', '.join(map(str, locations))}" if locations else "any location"
        found = [n for n in nodes if n.get("public", True)]
    if locations:
        found = [n for n in found if int(n.get("location_id") or 0) in locations]
    return found, where


def choose(
    client: PanelClient,
    config: ProductConfig,
    settings: PanelSettings,
    *,
    location: int | None = None,
    skip: set[int] | None = None,
) -> Placement:
    """A placement for a server of ``config``; raises NoPlacement saying why none fits.
    ``skip``: allocation ids lost to a concurrent create (try others)."""
    locations = locations_for(client, config, settings, location)
    if not config.node_ids and settings.node_policy == "panel_deploy":
        return Placement(
            deploy={
                "locations": list(locations),
                "dedicated_ip": config.dedicated_ip,
                "port_range": list(config.port_range),
            }
        )
    nodes, where = eligible_nodes(client, config, settings, locations)
    return allocations.place_on(
        nodes,
        where,
        config,
        room_for=lambda n: room_for(n, config.memory, config.disk),
        load=lambda n: load(n, config.memory, config.disk),
        needs=f"{config.memory} MiB of memory and {config.disk} MiB of disk",
        pick=lambda node_id: free_allocation(client, node_id, config, skip or set()),
    )


unreachable_ip = allocations.unreachable_ip  # the plugin's name for the kit's rule


def free_allocation(
    client: PanelClient, node_id: int, config: ProductConfig, skip: set[int]
) -> dict[str, Any] | None:
    return allocations.pick_free(client.app.list_node_allocations(node_id), config, skip)
