"""What a panel plugin's server link (its own table) remembers of a panel server."""

from __future__ import annotations

from typing import Any


def fill_server_link(link: Any, server: dict[str, Any], origin: str) -> Any:
    """Copy the panel server's ids onto ``link`` (a row of the plugin's server-link table with
    server_id, identifier, uuid, external_id, node_id, origin, deleted_at, drift, drift_at)
    and mark it live: ``origin`` says how (created, adopted, imported)."""
    link.server_id = int(server["id"])
    link.identifier = str(server.get("identifier") or "")[:8]
    link.uuid = str(server.get("uuid") or "")
    link.external_id = str(server.get("external_id") or "")
    link.node_id = server.get("node")
    link.origin, link.deleted_at, link.drift, link.drift_at = origin, None, "", None
    return link
