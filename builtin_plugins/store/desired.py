"""Recording what the panel should show: the desired state of a server and the job that gets it
there, written in the transaction of the change (the reconciler does the rest: reconciler.py).
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from builtin_plugins.store import lifecycle
from builtin_plugins.store.models import Service
from kernel import db, outbox_add
from kernel import now as utcnow

OK, PENDING, STUCK, ACCEPTED = "ok", "pending", "stuck", "accepted"
CONVERGE = "builtin_plugins.store.reconciler.converge"  # the job (by path: no import cycle)


def want(service: Service, *, delay: float = 0) -> None:
    """``service`` changed: its panel must follow (all in the caller's transaction)."""
    service.desired_state = lifecycle.desired_for(service.state)
    service.sync_status, service.sync_attempts, service.sync_error = PENDING, 0, ""
    service.sync_version = (service.sync_version or 0) + 1
    service.sync_next_at = utcnow() + timedelta(seconds=delay)
    db.session.flush()
    enqueue([service.id], delay=delay)


def wanted(state: str) -> dict:
    """Column values of :func:`want` for a bulk UPDATE of servers moving to ``state``."""
    return {
        "desired_state": lifecycle.desired_for(state),
        "sync_status": PENDING,
        "sync_attempts": 0,
        "sync_error": "",
        "sync_version": Service.sync_version + 1,
        "sync_next_at": utcnow(),
    }


def enqueue(service_ids: list[int], *, delay: float = 0) -> None:
    """Add a converge job for ``service_ids`` to the caller's transaction."""
    if service_ids:
        outbox_add(CONVERGE, list(service_ids), secrets.token_hex(8), delay=delay)
