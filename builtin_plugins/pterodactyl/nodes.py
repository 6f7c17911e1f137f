"""The store's ``server_nodes`` and ``known_nodes`` hooks: which panel node each server runs on.

Answered from the links this plugin keeps (``pterodactyl_server.node_id``), so audiences such
as "the customers on node 3" cost one query; node names come from the panel when it answers
(cached like the product pickers) and fall back to the id when it does not.
"""

from __future__ import annotations

from builtin_plugins.panel_kit.api import errors
from builtin_plugins.pterodactyl import catalog, lookups
from builtin_plugins.pterodactyl.models import ServerLink
from kernel import db

PREFIX = "pterodactyl:"


def node_key(node_id: int) -> str:
    return f"{PREFIX}{int(node_id)}"


def server_nodes(services_: list) -> dict[int, str]:
    ids = [s.id for s in services_]
    rows = db.session.execute(
        db.select(ServerLink.service_id, ServerLink.node_id).where(
            ServerLink.service_id.in_(ids),
            ServerLink.node_id.is_not(None),
            ServerLink.deleted_at.is_(None),
        )
    )
    return {service_id: node_key(node_id) for service_id, node_id in rows}


def _names() -> dict[int, str]:
    client = catalog._quick_client()
    if client is None:
        return {}
    with client:
        try:
            listed = lookups.cached((client.url, "nodes"), client.app.list_nodes)
        except errors.PanelError:
            return {}
    return {int(n["id"]): str(n.get("name") or n["id"]) for n in listed}


def known_nodes() -> list[dict]:
    used = set(
        db.session.scalars(
            db.select(ServerLink.node_id)
            .distinct()
            .where(ServerLink.node_id.is_not(None), ServerLink.deleted_at.is_(None))
        )
    )
    names = _names()
    return [
        {"id": node_key(i), "label": f"{names.get(i, f'node {i}')} (Pterodactyl #{i})"}
        for i in sorted(used | set(names))
    ]
