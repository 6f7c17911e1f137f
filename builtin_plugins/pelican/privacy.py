"""The Pelican plugin's answers to the kernel's privacy hooks.

Export: the Pelican account linked to the customer. Erasure: the Pelican user (it holds the
customer's email in the panel) is deleted there after the store deleted the servers (its
eraser runs first), then the local row goes. A panel that refuses or cannot be reached
raises, and the kernel tries again later; without a configured panel only the local row can
go (the audit log says so).
"""

from __future__ import annotations

from builtin_plugins.panel_kit.api import account_export, erase_panel_user
from builtin_plugins.pelican import panel
from builtin_plugins.pelican.links import user_link
from builtin_plugins.pelican.models import Subuser, UserLink
from kernel import db


def export(user) -> dict:
    shared = db.session.scalars(
        db.select(Subuser).where(Subuser.user_id == user.id).order_by(Subuser.id)
    )
    return {
        "pelican_account": account_export(user_link(user.id)),
        "pelican_shared_servers": [
            {"service_id": s.service_id, "since": s.created_at} for s in shared
        ],
    }


def erase(user) -> None:
    erase_panel_user(user, user_link(user.id), panel.load_settings(), panel.make_client, "pelican")
    db.session.execute(db.delete(Subuser).where(Subuser.user_id == user.id))
    db.session.execute(db.delete(UserLink).where(UserLink.user_id == user.id))
    db.session.commit()
