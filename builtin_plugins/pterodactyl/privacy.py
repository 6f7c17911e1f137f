"""The Pterodactyl plugin's answers to the kernel's privacy hooks.

Export: the panel account linked to the customer and the servers shared with them as a
subuser. Erasure: the panel user (which holds the customer's address and name in the panel)
is deleted there, after the store deleted the servers (its eraser runs first), then the local
rows go. A panel that refuses or cannot be reached raises, and the kernel tries the erasure
again later; without a configured panel only the local rows can go (and the audit log says so).
"""

from __future__ import annotations

from sqlalchemy import select

from builtin_plugins.panel_kit.api import account_export, erase_panel_user
from builtin_plugins.pterodactyl.links import user_link
from builtin_plugins.pterodactyl.models import UserLink
from builtin_plugins.pterodactyl.panel import load_settings, make_client
from builtin_plugins.pterodactyl.tabs.models import Subuser
from kernel import db


def export(user) -> dict:
    shared = db.session.scalars(
        select(Subuser).where(Subuser.user_id == user.id).order_by(Subuser.id)
    )
    return {
        "panel_account": account_export(user_link(user.id)),
        "shared_servers": [{"server": row.service_id, "since": row.created_at} for row in shared],
    }


def erase(user) -> None:
    erase_panel_user(user, user_link(user.id), load_settings(), make_client, "pterodactyl")
    db.session.execute(db.delete(Subuser).where(Subuser.user_id == user.id))
    db.session.execute(db.delete(UserLink).where(UserLink.user_id == user.id))
    db.session.commit()
