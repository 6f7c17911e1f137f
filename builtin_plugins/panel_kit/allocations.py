"""Which free allocation (IP and port) of a node a new server takes, on either panel.

Among free allocations, those on a reachable address come first: a loopback, unspecified
(0.0.0.0, ::) or link-local IP is taken only when nothing else is free (a node that lists
127.0.0.1 next to its public address would otherwise hand out 127.0.0.1:25565, and the
customer could add no port, the panel having no more on that IP). A product may pin an IP or
an alias (``allocation_ip``): then only allocations with that IP or alias are used.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from builtin_plugins.panel_kit.product_config import port_allowed


class NoPlacement(Exception):
    """No node can take the server; the message says what is missing."""


@dataclass(frozen=True)
class Placement:
    """Where a new server goes: an explicit allocation on a node, or the panel's deploy
    object (the panel chooses)."""

    allocation_id: int | None = None
    node_id: int | None = None
    deploy: dict[str, Any] | None = None

    def body(self) -> dict[str, Any]:
        if self.deploy is not None:
            return {"deploy": self.deploy}
        return {"allocation": {"default": int(self.allocation_id)}}


def unreachable_ip(ip: Any) -> bool:
    """Loopback, unspecified or link-local: no customer can connect to it."""
    try:
        address = ipaddress.ip_address(str(ip or "").strip().strip("[]"))
    except ValueError:
        return False  # a host name: the panel resolves it; take it as reachable
    return address.is_loopback or address.is_unspecified or address.is_link_local


def pinned(allocation: dict[str, Any], config: Any) -> bool:
    want = config.allocation_ip.lower()
    return not want or want in (
        str(allocation.get("ip") or "").lower(),
        str(allocation.get("alias") or "").lower(),
    )


def pick_free(
    allocations: list[dict[str, Any]], config: Any, skip: set[int]
) -> dict[str, Any] | None:
    """The best free allocation of one node's list for a server of ``config`` (a product
    config with ``port_range``, ``dedicated_ip`` and ``allocation_ip``), or None."""
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


def no_allocation_reason(config: Any, where: str) -> str:
    """Why the nodes with room gave no allocation, for the admin."""
    ports = f" in ports {', '.join(config.port_range)}" if config.port_range else ""
    ip = " on an unused IP" if config.dedicated_ip else ""
    if config.allocation_ip:
        ip += f" on {config.allocation_ip}"
    return f"the nodes in {where} with room have no free allocation{ports}{ip}"


def used(node: dict[str, Any], resource: str) -> float:
    """What the node's servers hold of ``resource`` (its ``allocated_resources``)."""
    return float((node.get("allocated_resources") or {}).get(resource) or 0)


def place_on(
    nodes: list[dict[str, Any]],
    where: str,
    config: Any,
    *,
    room_for: Callable[[dict[str, Any]], bool],
    load: Callable[[dict[str, Any]], float],
    needs: str,
    pick: Callable[[int], dict[str, Any] | None],
) -> Placement:
    """A free allocation on the least-loaded of ``nodes`` (found ``where``) that is awake and
    has room (``room_for``; ``needs`` says for what), through ``pick(node_id)``; NoPlacement
    saying what is missing. How room and load are counted is each panel's."""
    if not nodes:
        raise NoPlacement(f"the panel has no usable node in {where}")
    awake = [n for n in nodes if not n.get("maintenance_mode")]
    if not awake:
        raise NoPlacement(f"every node in {where} is in maintenance mode")
    roomy = [n for n in awake if room_for(n)]
    if not roomy:
        raise NoPlacement(f"no node in {where} has room for {needs}")
    roomy.sort(key=lambda n: (load(n), int(n["id"])))
    for node in roomy:
        found = pick(int(node["id"]))
        if found is not None:
            return Placement(allocation_id=int(found["id"]), node_id=int(node["id"]))
    raise NoPlacement(no_allocation_reason(config, where))
