"""Lifecycle transitions: suspend, unsuspend, delete and rename a server.

Each one changes the service, records the panel state that follows from it (desired.want),
writes its audit row and queues its customer email, all in one transaction; the reconciler then
pushes the change to the panel (reconciler.py) and keeps trying, with backoff, until the panel
matches or staff are alerted. So none of them waits for the panel or fails with it, and none
can leave a difference nobody retries. Plugin events fire after the commit.
"""

from __future__ import annotations

from sqlalchemy import update

from builtin_plugins.store import events, lifecycle, notify
from builtin_plugins.store.desired import want
from builtin_plugins.store.errors import StoreError
from builtin_plugins.store.lifecycle import ACTIVE, SUSPENDED, TERMINATED
from builtin_plugins.store.models import Product, Service
from kernel import call_hook, call_veto, db, now, outbox_commit, record_audit

MAX_NAME = 60


def suspend(
    service: Service, *, manual: bool, reason: str = "", actor: str | None = None
) -> Service:
    """Suspend now. Staff suspensions (``manual``) are never lifted by a payment."""
    if service.state == SUSPENDED:
        if manual and service.suspension != "manual":
            service.suspension = "manual"  # staff take over an automatic suspension
            record_audit(
                "store.suspension_taken_over",
                f"service:{service.id}",
                {"reason": reason or "staff"},
                actor=actor,
                commit=False,
            )
            db.session.commit()
        return service
    lifecycle.check(service.id, service.state, SUSPENDED)
    reason = reason or ("staff" if manual else "expired")
    service.state, service.suspended_at = SUSPENDED, now()
    service.suspension = "manual" if manual else "auto"
    want(service)
    record_audit(
        "store.suspended", f"service:{service.id}", {"reason": reason}, actor=actor, commit=False
    )
    notify.customer(service, "server_suspended")
    events.emit("service.suspended", service, reason=reason)
    service_id = service.id
    outbox_commit()
    service = db.session.get(Service, service_id)
    call_hook("server_suspended", service=service, reason=reason)
    return service


def lift(service: Service, *, manual: bool = False, actor: str | None = None) -> bool:
    """Unsuspend in the caller's transaction; False when this suspension may not be lifted
    (a staff one by a payment, or an unpaid one)."""
    if service.state != SUSPENDED:
        return False
    if service.suspension == "manual" and not manual:
        return False
    if service.expires_at <= now() and not manual:
        return False
    lifecycle.check(service.id, service.state, ACTIVE)
    service.state, service.suspension, service.suspended_at = ACTIVE, "", None
    want(service)
    record_audit(
        "store.unsuspended", f"service:{service.id}", {"manual": manual}, actor=actor, commit=False
    )
    return True


def unsuspend(service: Service, *, manual: bool = False, actor: str | None = None) -> Service:
    """Lift a suspension. Without ``manual`` (a payment) only automatic suspensions are lifted."""
    if not lift(service, manual=manual, actor=actor):
        return service
    service_id = service.id
    outbox_commit()
    service = db.session.get(Service, service_id)
    call_hook("server_unsuspended", service=service)
    return service


def terminate(service: Service, *, actor: str | None = None, force: bool = False) -> Service:
    """End the service (its server is deleted in the panel by the reconciler); the stock unit
    returns. A plugin's ``veto_deletion`` refuses unless ``force``."""
    if service.state == TERMINATED:
        return service
    reason = call_veto("veto_deletion", service=service)
    if reason and not force:
        raise StoreError(str(reason))
    lifecycle.check(service.id, service.state, TERMINATED)
    service.state, service.terminated_at = TERMINATED, now()
    if service.product.stock is not None:
        db.session.execute(
            update(Product).where(Product.id == service.product_id).values(stock=Product.stock + 1)
        )
    want(service)
    record_audit("store.deleted", f"service:{service.id}", actor=actor, commit=False)
    notify.customer(service, "server_deleted")
    events.emit("service.terminated", service)
    service_id = service.id
    outbox_commit()
    service = db.session.get(Service, service_id)
    call_hook("server_deleted", service=service)
    return service


def rename(service: Service, name: str, *, actor: str | None = None) -> Service:
    """Rename here and in the panel (its server name, and its description where the product
    says so)."""
    name = (name or "").strip()
    if not 1 <= len(name) <= MAX_NAME:
        raise StoreError(f"give the server a name of 1 to {MAX_NAME} characters")
    if name == service.name:
        return service
    if service.state == TERMINATED:
        raise StoreError(f"server #{service.id} was deleted")
    old = service.name
    service.name = name
    want(service)
    record_audit(
        "store.renamed",
        f"service:{service.id}",
        {"from": old, "to": name},
        actor=actor,
        commit=False,
    )
    service_id = service.id
    outbox_commit()
    return db.session.get(Service, service_id)
