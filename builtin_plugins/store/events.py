"""The store's outgoing webhook events (``kernel.emit_webhook``): what each one carries.

Each is emitted inside the transaction of the change it reports, so the deliveries commit
(and are dispatched) with it, or not at all.
"""

from __future__ import annotations

from builtin_plugins.store.models import Service
from kernel import emit_webhook

EVENTS = [
    ("service.created", "A server was bought (paid; it is being set up)"),
    ("service.suspended", "A server was suspended (unpaid, or by staff)"),
    ("service.terminated", "A server was deleted"),
]


def emit(event: str, service: Service, **extra) -> None:
    emit_webhook(
        event,
        {
            "service": {
                "id": service.id,
                "user_id": service.user_id,
                "name": service.name,
                "state": service.state,
                "product_id": service.product_id,
                "plan_id": service.plan_id,
                "expires_at": service.expires_at.isoformat(timespec="seconds") + "Z"
                if service.expires_at
                else None,
                **extra,
            }
        },
    )
