"""What both panel plugins' ``converge`` read from a panel server alike: its installation
state, its suspension, how its limits and details differ from the service's, and deleting it.

The flow of a convergence (which repairs in which order, what a Wings fault leaves behind)
stays in each plugin: Pelican keeps changes that Pterodactyl rolls back
(docs/reference/pelican_api.md §7.7).
"""

from __future__ import annotations

from typing import Any

from builtin_plugins.panel_kit import errors
from builtin_plugins.panel_kit.application import LIMIT_KEYS

COMPARED_LIMITS = tuple(k for k in LIMIT_KEYS if k != "threads")
DETAIL_LABELS = {
    "name": "renamed",
    "external_id": "external id",
    "user": "owner",
    "description": "description",
}
INSTALLING = "installing"
INSTALL_FAILED = "install_failed"


def install_state(server: dict[str, Any]) -> str:
    """``installing``, ``install_failed`` (a failed reinstall counts: Pelican gates the server
    as not installed) or "" for an installed server."""
    status = server.get("status")
    if status == "installing":
        return INSTALLING
    if status in ("install_failed", "reinstall_failed"):
        return INSTALL_FAILED
    return ""


def is_suspended(server: dict[str, Any]) -> bool:
    return server.get("status") == "suspended" or bool(server.get("suspended"))


def limit_differences(config: Any, server: dict[str, Any]) -> list[str]:
    """``"memory 2048 -> 4096"`` for each limit the panel has other than the product's."""
    diffs = []
    limits, features = server.get("limits") or {}, server.get("feature_limits") or {}
    for key in COMPARED_LIMITS:
        want, have = config.limits()[key], limits.get(key)
        if have is not None and int(have) != int(want):
            diffs.append(f"{key} {want} -> {have}")
    for key, want in config.feature_limits().items():
        have = features.get(key)
        if have != want:
            diffs.append(f"{key} {want} -> {'unlimited' if have is None else have}")
    return diffs


def detail_changes(
    service, config: Any, server: dict[str, Any], *, external_id: str, owner_id: int | None
) -> dict[str, Any]:
    """The details (name, external id, owner, description) to set for the server to be the
    service's; empty when they match. ``owner_id``: the customer's panel user, if linked."""
    changes: dict[str, Any] = {}
    if str(server.get("name") or "") != service.name[:191]:
        changes["name"] = service.name[:191]
    if str(server.get("external_id") or "") != external_id:
        changes["external_id"] = external_id
    if owner_id is not None and int(server.get("user") or 0) != int(owner_id):
        changes["user"] = int(owner_id)
    description = config.description_for(service) if config is not None else None
    if description is not None and str(server.get("description") or "") != description:
        changes["description"] = description
    return changes


def delete_in_panel(client: Any, server_id: int) -> None:
    """Delete a panel server; gone already is done, and when Wings refuses or is away the panel
    is told to forget it anyway (force)."""
    try:
        client.app.delete_server(server_id)
    except errors.NotFound:
        return
    except errors.DaemonError:
        try:
            client.app.delete_server(server_id, force=True)
        except errors.NotFound:
            return
