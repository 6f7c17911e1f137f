"""Where servers run: the store knows products, provisioners know nodes.

A provisioner plugin answers ``server_nodes(services)`` with the node of each server it
placed and ``known_nodes()`` with the nodes it uses; plugins that target "the customers on
node X" (announcements) ask through these two functions, never through a provisioner's
own tables. Node ids are strings namespaced by the provisioner (``pterodactyl:3``) so two
provisioners never share one.
"""

from __future__ import annotations

from kernel import call_hook, collect


def nodes_of(services: list) -> dict[int, str]:
    """``{service_id: node_id}`` for the given servers, as far as any provisioner knows."""
    if not services:
        return {}
    found: dict[int, str] = {}
    for answer in call_hook("server_nodes", services=list(services)):
        if not isinstance(answer, dict):
            continue
        found.update({int(k): str(v) for k, v in answer.items() if v is not None})
    return found


def known_nodes() -> list[dict]:
    """Every node a provisioner reports, ``[{"id", "label"}]`` sorted by label, ids unique."""
    nodes: dict[str, str] = {}
    for node in collect("known_nodes", dict):
        if node.get("id") is not None:
            nodes.setdefault(str(node["id"]), str(node.get("label") or node["id"]))
    return [{"id": k, "label": v} for k, v in sorted(nodes.items(), key=lambda kv: kv[1])]
