"""What staff do to servers beyond the customer's own actions: list them, create one for a
user, move an expiry."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from builtin_plugins.store import services
from builtin_plugins.store.lifecycle import ACTIVE, TERMINATED
from builtin_plugins.store.models import PricePlan, Product, Service
from builtin_plugins.store.services import StoreError
from kernel import db, keyset_page, now, record_audit

PAGE_SIZE = 50
DUE_DAYS = 7  # the admin overview's "due for renewal" window


def overview_counts(due_days: int = DUE_DAYS) -> dict[str, int]:
    """For the admin overview: active servers, and those of them expiring within ``due_days``
    (renewed or suspended then), with how many of the due ones renew automatically."""
    active = db.session.scalar(select(func.count()).where(Service.state == ACTIVE)) or 0
    due = (
        select(Service.auto_renew, func.count())
        .where(Service.state == ACTIVE, Service.expires_at <= now() + timedelta(days=due_days))
        .group_by(Service.auto_renew)
    )
    by_renew = dict(db.session.execute(due).all())
    return {
        "active": active,
        "due": sum(by_renew.values()),
        "due_auto_renew": by_renew.get(True, 0),
        "due_days": due_days,
    }


def find_user(email: str):
    from kernel import User

    user = db.session.scalar(select(User).where(User.email == (email or "").strip().lower()))
    if user is None:
        raise StoreError(f"no account with the email {email!r}")
    return user


def list_servers(state: str = "", email: str = "", args=None, *, per_page: int = PAGE_SIZE):
    """One page of servers newest first, optionally of one state or one customer, from the
    cursor in ``args`` (``?before=`` / ``?after=`` a server id, ``?per_page=``): one statement
    for the page (the ``(state, id)`` index serves a state's) and one for its products, no
    ``OFFSET``. Raises ``kernel.PagingError`` for a malformed cursor or page size."""
    query = select(Service)
    if state:
        query = query.where(Service.state == state)
    if email.strip():
        from kernel import User

        query = query.join(User, User.id == Service.user_id).where(
            User.email.contains(email.strip().lower())
        )
    query = query.options(selectinload(Service.product))
    return keyset_page(db.session, query, Service.id, args or {}, per_page)


def create_for_user(
    admin,
    user,
    product: Product,
    plan: PricePlan,
    *,
    name: str,
    slots: int = 1,
    free: bool = True,
    auto_renew: bool = False,
) -> Service:
    """Buy a server on a customer's behalf: free (nothing charged) or from their balance."""
    if plan.product_id != product.id:
        raise StoreError("that price plan does not belong to this product")
    token = services.new_purchase_token(user)
    return services.purchase(
        user,
        token=token,
        product_id=product.id,
        plan_id=plan.id,
        name=name,
        slots=slots,
        auto_renew=auto_renew,
        free=free,
        actor=getattr(admin, "email", None),
    )


def set_expiry(service: Service, when: datetime, *, actor: str) -> Service:
    """Move a server's expiry (the lifecycle task acts on the new date)."""
    if service.state == TERMINATED:
        raise StoreError(f"server #{service.id} was deleted")
    old = service.expires_at
    service.expires_at = when
    db.session.commit()
    record_audit(
        "store.expiry_changed",
        f"service:{service.id}",
        {"from": old.isoformat(), "to": when.isoformat()},
        actor=actor,
    )
    return service
