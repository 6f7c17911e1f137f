"""What both panel plugins' privacy hooks do alike with the customer's panel account: export
it, and delete it in the panel on erasure.

The panel user holds the customer's email (and, on Pterodactyl, name) in the panel; it is
deleted there after the store deleted the servers (the store's eraser runs first). A panel
that refuses or cannot be reached raises, and the kernel tries the erasure again later;
without a configured panel only the local rows can go, and the audit log says so.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from builtin_plugins.panel_kit import errors
from kernel import record_audit


def account_export(link: Any | None) -> dict[str, Any] | None:
    """The export of a customer's link to their panel account (None: not linked)."""
    if link is None:
        return None
    return {
        "panel_user_id": link.panel_user_id,
        "username": link.panel_username,
        "origin": link.origin,
        "linked_at": link.created_at,
        "synced_at": link.synced_at,
    }


def erase_panel_user(
    user: Any, link: Any | None, settings: Any, make_client: Callable[..., Any], plugin: str
) -> None:
    """Delete the linked panel user in the panel (one already gone is done); without a
    configured panel, audit ``<plugin>.erase_local_only``. The caller deletes its rows."""
    if link is None:
        return
    if settings.configured:
        try:
            with make_client(settings) as client:
                client.app.delete_user(link.panel_user_id)
        except errors.NotFound:
            pass  # deleted in the panel already
    else:
        record_audit(
            f"{plugin}.erase_local_only",
            f"user:{user.id}",
            {"panel_user": link.panel_user_id, "reason": "panel not configured"},
        )
