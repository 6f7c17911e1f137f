"""A service for a server that already runs in a panel: what a provisioner's import makes.

A panel plugin's import (``pteroca pterodactyl import``, ``pteroca pelican import``) finds
servers made outside the store and gives each a local owner; what such a service is does not
depend on the panel, so it is the store's to say, once: active (or staff-suspended, when the
panel has it suspended), paid until one period from now, charged nothing, its panel state in
line and marked ``imported`` in its options. What may be imported into (:func:`import_terms`)
and the report an import gives are the same for every panel too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from builtin_plugins.store.lifecycle import ACTIVE, SUSPENDED, desired_for
from builtin_plugins.store.models import PricePlan, Product, Service
from builtin_plugins.store.pricing import PricingError, next_expiry, period_price
from kernel import db
from kernel import now as utcnow


class ImportRefused(ValueError):
    """The import cannot start (no such product...); the message says why."""


@dataclass
class ImportReport:
    dry_run: bool = False
    imported: list[tuple[int, int, str]] = field(default_factory=list)  # (server, service, email)
    skipped: dict[int, str] = field(default_factory=dict)  # server id -> why
    # server id -> limits the reconciler will change to the product's ("memory 2048 -> 1024")
    differences: dict[int, list[str]] = field(default_factory=dict)


def import_terms(slug: str, provisioner: str, panel: str) -> tuple[Product, PricePlan, int]:
    """The product (of ``provisioner``, named ``panel`` in messages) that servers are imported
    into, its first plan and that plan's price; :class:`ImportRefused` when there is none."""
    found = db.session.scalar(select(Product).where(Product.slug == slug))
    if found is None:
        raise ImportRefused(f"no product with the slug {slug!r}")
    if found.provisioner != provisioner:
        raise ImportRefused(
            f"{found.name!r} is not a {panel} product (its provisioner is {found.provisioner!r})"
        )
    if not found.plans:
        raise ImportRefused(f"{found.name!r} has no price plan; add one first")
    plan = found.plans[0]
    try:
        price = period_price(plan, plan.min_slots)
    except PricingError as exc:
        raise ImportRefused(str(exc)) from None
    return found, plan, price


def adopted_service(
    product: Product,
    plan: PricePlan,
    user,
    *,
    name: str,
    price: int,
    suspended: bool,
    external_id: str,
) -> Service:
    """A new service of ``user`` for a panel server named ``name`` (added and flushed, so it
    has its id; the caller commits once the panel side is done)."""
    now = utcnow()
    state = SUSPENDED if suspended else ACTIVE
    service = Service(
        user_id=user.id,
        product_id=product.id,
        plan_id=plan.id,
        name=name[:120],
        state=state,
        suspension="manual" if suspended else "",
        suspended_at=now if suspended else None,
        expires_at=next_expiry(None, now, plan),
        auto_renew=False,
        slots=plan.min_slots,
        price=price,
        charged=0,
        external_id=external_id,
        options={"imported": True},
        last_error="",
        desired_state=desired_for(state),
        panel_state=desired_for(state),
        sync_status="ok",
    )
    db.session.add(service)
    db.session.flush()
    return service
