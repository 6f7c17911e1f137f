"""Where a new server goes: the least-loaded eligible node and a free allocation on it, or the
panel's own deployment by location.

Eligible nodes: the product's ``node_ids`` if it names any; else, with the node policy
``specific_nodes``, the nodes listed in the plugin settings; else the public nodes of
the product's locations (or the default location). Nodes in maintenance and nodes
without room for the server's memory and disk (overallocation counted as the panel
counts it) are skipped; the rest are tried from the least loaded, taking the lowest
free port in the product's port range.

Among free allocations, those on a reachable address come first: a loopback, unspecified
(0.0.0.0, ::) or link-local IP is taken only when nothing else is free (a node that lists
127.0.0.1 next to its public address would otherwise hand out 127.0.0.1:25565, and the
customer could add no port, the panel having no more on that IP). A product may pin an IP or
an alias (``allocation_ip``): then only allocations with that IP or alias are used.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from builtin_plugins.pterodactyl.client import PanelClient
from builtin_plugins.pterodactyl.lookups import resolve_location
from builtin_plugins.pterodactyl.panel import PanelSettings
from builtin_plugins.pterodactyl.product import ProductConfig, port_allowed


class NoPlacement(Exception):
    """No node can take the server; the message says what is missing."""


@dataclass(frozen=True)
class Placement:
    allocation_id: int | None = None  # an explicit allocation.default...
    node_id: int | None = None
    deploy: dict[str, Any] | None = None  # ...or the panel's deploy object

    def body(self) -> dict[str, Any]:
        if self.deploy is not None:
            return {"deploy": self.deploy}
        return {"allocation": {"default": int(self.allocation_id)}}


def capacity(node: dict[str, Any], resource: str) -> float:
    """What the node may hold of ``resource`` (memory or disk, MiB); inf when unlimited."""
    total = float(node.get(resource) or 0)
    over = float(node.get(f"{resource}_overallocate") or 0)
    if over < 0:
        return float("inf")
    return total * (1 + over / 100)


def used(node: dict[str, Any], resource: str) -> float:
    return float((node.get("allocated_resources") or {}).get(resource) or 0)


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
    if not nodes:
        raise NoPlacement(f"the panel has no usable node in {where}")
    awake = [n for n in nodes if not n.get("maintenance_mode")]
    if not awake:
        raise NoPlacement(f"every node in {where} is in maintenance mode")
    roomy = [n for n in awake if room_for(n, config.memory, config.disk)]
    if not roomy:
        raise NoPlacement(
            f"no node in {where} has room for {config.memory} MiB of memory and "
            f"{config.disk} MiB of disk"
        )
    roomy.sort(key=lambda n: (load(n, config.memory, config.disk), int(n["id"])))
    for node in roomy:
        allocation = free_allocation(client, int(node["id"]), config, skip or set())
        if allocation is not None:
            return Placement(allocation_id=int(allocation["id"]), node_id=int(node["id"]))
    ports = f" in ports {', '.join(config.port_range)}" if config.port_range else ""
    ip = " on an unused IP" if config.dedicated_ip else ""
    if config.allocation_ip:
        ip += f" on {config.allocation_ip}"
    raise NoPlacement(f"the nodes in {where} with room have no free allocation{ports}{ip}")


def unreachable_ip(ip: Any) -> bool:
    """Loopback, unspecified or link-local: no customer can connect to it."""
    try:
        address = ipaddress.ip_address(str(ip or "").strip().strip("[]"))
    except ValueError:
        return False  # a host name: the panel resolves it; take it as reachable
    return address.is_loopback or address.is_unspecified or address.is_link_local


def pinned(allocation: dict[str, Any], config: ProductConfig) -> bool:
    want = config.allocation_ip.lower()
    return not want or want in (
        str(allocation.get("ip") or "").lower(),
        str(allocation.get("alias") or "").lower(),
    )


def free_allocation(
    client: PanelClient, node_id: int, config: ProductConfig, skip: set[int]
) -> dict[str, Any] | None:
    allocations = client.app.list_node_allocations(node_id)
    busy_ips = {a.get("ip") for a in allocations if a.get("assigned")}
    free = [
        a
        for a in allocations
        if not a.get("assigned")
        and int(a["id"]) not in skip
        and port_allowed(int(a.get("port") or 0), config.port_range)
        and pinned(a, config)
        and not (config.dedicated_ip and a.get("ip") in busy_ips)
    ]
    free.sort(
        key=lambda a: (
            unreachable_ip(a.get("ip")),
            int(a.get("port") or 0),
            _ip_order(a.get("ip")),
            int(a["id"]),
        )
    )
    return free[0] if free else None


def _ip_order(ip: Any) -> tuple:
    """Addresses in numeric order (as text, "10.0.0.9" would follow "10.0.0.10")."""
    try:
        address = ipaddress.ip_address(str(ip or "").strip().strip("[]"))
    except ValueError:
        return (2, str(ip))
    return (address.version, int(address))
