"""The Pelican plugin's answers to the kernel's privacy hooks.

Export: the Pelican account linked to the customer. Erasure: the Pelican user (it holds the
customer's email in the panel) is deleted there after the store deleted the servers (its
eraser runs first), then the local row goes. A panel that refuses or cannot be reached
raises, and the kernel tries again later; without a configured panel only the local row can
go (the audit log says so).
"""

from __future__ import annotations

from builtin_plugins.panel_kit.api import errors
from builtin_plugins.pelican import panel
from builtin_plugins.pelican.links import user_link
from builtin_plugins.pelican.models import Subuser, UserLink
from kernel import db, record_audit


def export(user) -> dict:
    link = user_link(user.id)
    shared = db.session.scalars(
        db.select(Subuser).where(Subuser.user_id == user.id).order_by(Subuser.id)
    )
    shares = [{"service_id": s.service_id, "since": s.created_at} for s in shared]
    if link is None:
        return {"pelican_account": None, "pelican_shared_servers": shares}
    return {
        "pelican_account": {
            "panel_user_id": link.panel_user_id,
            "username": link.panel_username,
            "origin": link.origin,
            "linked_at": link.created_at,
            "synced_at": link.synced_at,
        },
        "pelican_shared_servers": shares,
    }


def erase(user) -> None:
    link = user_link(user.id)
    if link is not None:
        settings = panel.load_settings()
        if settings.configured:
            try:
                with panel.make_client(settings) as client:
                    client.app.delete_user(link.panel_user_id)
            except errors.NotFound:
                pass  # deleted in the panel already
        else:
            record_audit(
                "pelican.erase_local_only",
                f"user:{user.id}",
                {"panel_user": link.panel_user_id, "reason": "panel not configured"},
            )
    db.session.execute(db.delete(Subuser).where(Subuser.user_id == user.id))
    db.session.execute(db.delete(UserLink).where(UserLink.user_id == user.id))
    db.session.commit()
