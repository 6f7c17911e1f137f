"""Which panel user is a local account, which panel server is a store service.

The links are the plugin's own rows (models.py); these helpers read and write them
without committing (the caller owns the transaction).
"""

from __future__ import annotations

from typing import Any

from builtin_plugins.panel_kit.api import fill_server_link
from kernel import db


def user_link(user_id: int):
    from builtin_plugins.pterodactyl.models import UserLink

    return db.session.get(UserLink, user_id)


def server_link(service_id: int):
    """The live link of a store service to its panel server, or None."""
    from builtin_plugins.pterodactyl.models import ServerLink

    link = db.session.get(ServerLink, service_id)
    return link if link is not None and link.deleted_at is None else None


def identifier_for(service) -> str | None:
    """The 8-character identifier the client API uses for ``service``'s server."""
    link = server_link(service.id)
    return link.identifier if link else None


def link_server(service, server: dict[str, Any], origin: str) -> Any:
    """Remember which panel server a service is (added to the session; the caller commits)."""
    from builtin_plugins.pterodactyl.models import ServerLink

    link = db.session.get(ServerLink, service.id) or ServerLink(service_id=service.id)
    fill_server_link(link, server, origin)
    db.session.add(link)
    db.session.flush()
    return link
