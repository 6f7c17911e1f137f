"""Which Pelican user is a local account, which Pelican server is a store service.

The links are the plugin's own rows (models.py); these helpers read and write them without
committing (the caller owns the transaction).
"""

from __future__ import annotations

from typing import Any

from builtin_plugins.panel_kit.api import fill_server_link
from builtin_plugins.pelican.models import ServerLink, UserLink
from kernel import db


def user_link(user_id: int) -> UserLink | None:
    return db.session.get(UserLink, user_id)


def server_link(service_id: int) -> ServerLink | None:
    """The live link of a store service to its Pelican server, or None."""
    link = db.session.get(ServerLink, service_id)
    return link if link is not None and link.deleted_at is None else None


def link_server(service, server: dict[str, Any], origin: str) -> ServerLink:
    """Remember which Pelican server a service is (added to the session; the caller commits)."""
    link = db.session.get(ServerLink, service.id) or ServerLink(service_id=service.id)
    fill_server_link(link, server, origin)
    db.session.add(link)
    db.session.flush()
    return link
