"""Who an announcement is for: the one module that decides it, for a viewer and for a mailing.

- ``everyone``: every account.
- ``staff``: accounts with ``admin.access``; ``customers``: all the others.
- ``product``: accounts with a live server (anything but deleted) on one of the products.
- ``node``: accounts with a live server on one of the nodes, as the provisioner plugins
  report them through the store's ``server_nodes`` hook.

A :class:`Viewer` works out what it needs about one user once per page (their servers and
nodes), however many announcements it is asked about.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cached_property

from builtin_plugins.announcements.models import (
    CUSTOMERS,
    EVERYONE,
    NODE,
    PRODUCT,
    STAFF,
    Announcement,
)
from builtin_plugins.store.api import TERMINATED, Service, nodes_of
from kernel import User, db, users_with_permission

STAFF_PERMISSION = "admin.access"
CHUNK = 1000


class Viewer:
    """One user, asked about several announcements."""

    def __init__(self, user):
        self.user = user

    @cached_property
    def staff(self) -> bool:
        return bool(self.user.has_permission(STAFF_PERMISSION))

    @cached_property
    def services(self) -> list[Service]:
        return list(
            db.session.scalars(
                db.select(Service).where(
                    Service.user_id == self.user.id, Service.state != TERMINATED
                )
            )
        )

    @cached_property
    def products(self) -> set[int]:
        return {s.product_id for s in self.services}

    @cached_property
    def nodes(self) -> set[str]:
        return set(nodes_of(self.services).values())

    def sees(self, announcement: Announcement) -> bool:
        audience = announcement.audience
        if audience == EVERYONE:
            return True
        if audience == STAFF:
            return self.staff
        if audience == CUSTOMERS:
            return not self.staff
        if audience == PRODUCT:
            return bool(self.products & {int(i) for i in announcement.product_ids or []})
        if audience == NODE:
            return bool(self.nodes & {str(i) for i in announcement.node_ids or []})
        return False


def concerns_server(announcement: Announcement, service: Service, node: str | None) -> bool:
    """Whether an announcement targets this server's product or node (server-page notices)."""
    if announcement.audience == PRODUCT:
        return service.product_id in {int(i) for i in announcement.product_ids or []}
    if announcement.audience == NODE:
        return node is not None and node in {str(i) for i in announcement.node_ids or []}
    return False


def _live_owners(query) -> set[int]:
    return set(db.session.scalars(query.where(Service.state != TERMINATED).distinct()))


def recipients(announcement: Announcement) -> list[int]:
    """The ids of every unblocked account in the audience, for the email."""
    audience = announcement.audience
    if audience == STAFF:
        return sorted(u.id for u in users_with_permission(STAFF_PERMISSION))
    everyone = set(db.session.scalars(db.select(User.id).where(User.is_blocked.is_(False))))
    if audience == EVERYONE:
        return sorted(everyone)
    if audience == CUSTOMERS:
        return sorted(everyone - {u.id for u in users_with_permission(STAFF_PERMISSION)})
    if audience == PRODUCT:
        ids = [int(i) for i in announcement.product_ids or []]
        return sorted(
            everyone & _live_owners(db.select(Service.user_id).where(Service.product_id.in_(ids)))
        )
    if audience == NODE:
        wanted = {str(i) for i in announcement.node_ids or []}
        owners: set[int] = set()
        for chunk in _live_service_chunks():
            placed = nodes_of(chunk)
            owners |= {s.user_id for s in chunk if placed.get(s.id) in wanted}
        return sorted(everyone & owners)
    return []


def _live_service_chunks() -> Iterator[list[Service]]:
    last = 0
    while True:
        chunk = list(
            db.session.scalars(
                db.select(Service)
                .where(Service.state != TERMINATED, Service.id > last)
                .order_by(Service.id)
                .limit(CHUNK)
            )
        )
        if not chunk:
            return
        yield chunk
        last = chunk[-1].id
