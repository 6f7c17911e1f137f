"""A ticket about one of the customer's servers: which servers qualify, and the state attached.

The state is copied into the ticket when it is opened (``server_snapshot``), so staff read
what the customer saw at that moment even after the server changed or was deleted.
"""

from __future__ import annotations

from typing import Any

from builtin_plugins.store.api import TERMINATED, Service, live_status, my_servers
from builtin_plugins.support.errors import SupportError
from kernel import db
from kernel import now as utcnow


def choices(user) -> list[Service]:
    """The customer's servers a ticket may be about (every server not deleted)."""
    return my_servers(user)


def owned(user_id: int, service_id: int) -> Service:
    service = db.session.get(Service, service_id)
    if service is None or service.user_id != user_id or service.state == TERMINATED:
        raise SupportError("choose one of your own servers (or none)")
    return service


def snapshot(service: Service) -> dict[str, Any]:
    """What staff need to know of the server, as plain JSON."""
    live = live_status(service)
    return {
        "id": service.id,
        "name": service.name,
        "product": service.product.name if service.product else "",
        "plan": str(service.plan) if service.plan else "",
        "state": service.state,
        "suspension": service.suspension or "",
        "expires_at": service.expires_at.isoformat(timespec="minutes"),
        "auto_renew": bool(service.auto_renew),
        "external_id": service.external_id or "",
        "last_error": (service.last_error or "")[:500],
        "live_state": live.state if live else "",
        "live_detail": (live.detail or "") if live else "",
        "taken_at": utcnow().isoformat(timespec="seconds"),
    }
