"""The Pterodactyl plugin's answers to the kernel's privacy hooks.

Export: the panel account linked to the customer and the servers shared with them as a
subuser. Erasure: the panel user (which holds the customer's address and name in the panel)
is deleted there, after the store deleted the servers (its eraser runs first), then the local
rows go. A panel that refuses or cannot be reached raises, and the kernel tries the erasure
again later; without a configured panel only the local rows can go (and the audit log says so).
"""

from __future__ import annotations

from sqlalchemy import select

from builtin_plugins.panel_kit.api import errors
from builtin_plugins.pterodactyl.links import user_link
from builtin_plugins.pterodactyl.models import UserLink
from builtin_plugins.pterodactyl.panel import load_settings, make_client
from builtin_plugins.pterodactyl.tabs.models import Subuser
from kernel import db, record_audit


def export(user) -> dict:
    link = user_link(user.id)
    shared = db.session.scalars(
        select(Subuser).where(Subuser.user_id == user.id).order_by(Subuser.id)
    )
    return {
        "panel_account": None
        if link is None
        else {
            "panel_user_id": link.panel_user_id,
            "username": link.panel_username,
            "origin": link.origin,
            "linked_at": link.created_at,
            "synced_at": link.synced_at,
        },
        "shared_servers": [{"server": row.service_id, "since": row.created_at} for row in shared],
    }


def erase(user) -> None:
    link = user_link(user.id)
    if link is not None:
        settings = load_settings()
        if settings.configured:
            try:
                with make_client(settings) as client:
                    client.app.delete_user(link.panel_user_id)
            except errors.NotFound:
                pass  # deleted in the panel already
        else:
            record_audit(
                "pterodactyl.erase_local_only",
                f"user:{user.id}",
                {"panel_user": link.panel_user_id, "reason": "panel not configured"},
            )
    db.session.execute(db.delete(Subuser).where(Subuser.user_id == user.id))
    db.session.execute(db.delete(UserLink).where(UserLink.user_id == user.id))
    db.session.commit()
