"""Test builders for the store: a product, a purchase, a live server.

For test suites, pteroca's own and plugin authors': the public pytest plugin's ``make_product``,
``buy`` and ``make_server`` fixtures call these through the enabled store (the kernel imports no
plugin), and pteroca's tests call them directly inside an app context. Nothing here runs in the
panel. Purchases go through the store's real service (token, ledger, provisioner), so a test
that buys sees what a customer would.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from builtin_plugins.store.models import PricePlan, Product, Service
from kernel import db


def make_product(
    slug: str = "mc-small",
    *,
    price: int = 1000,
    kind: str = "fixed",
    period_unit: str = "days",
    period_count: int = 30,
    stock: int | None = None,
    limit: int | None = None,
    allow_auto_renew: bool = True,
    provisioner: str = "manual",
    settings: dict[str, Any] | None = None,
    resources: dict[str, Any] | None = None,
    min_slots: int = 1,
    max_slots: int = 1,
    slot_variable: str = "",
) -> Product:
    """An active product with one price plan, named after ``slug``; ``settings`` are the
    provisioner's settings (its ``memory`` sizes the listed resources)."""
    settings = dict(settings or {})
    if resources is None:
        resources = {"memory_mb": settings.get("memory", 2048)}
    product = Product(
        name=slug.replace("-", " ").title(),
        slug=slug,
        provisioner=provisioner,
        stock=stock,
        per_customer_limit=limit,
        allow_auto_renew=allow_auto_renew,
        description="",
        images=[],
        resources=resources,
        provisioner_settings=settings,
        active=True,
        featured=False,
        priority=0,
    )
    product.plans.append(
        PricePlan(
            kind=kind,
            label="",
            period_unit=period_unit,
            period_count=period_count,
            price=price,
            min_slots=min_slots,
            max_slots=max_slots,
            slot_variable=slot_variable,
        )
    )
    db.session.add(product)
    db.session.commit()
    return product


def buy(
    user,
    product: Product,
    *,
    name: str = "My server",
    slots: int = 1,
    auto_renew: bool = False,
    voucher: str = "",
    token: str | None = None,
    options: dict[str, Any] | None = None,
) -> Service:
    """Buy ``product``'s first plan for ``user`` as the checkout does (paid from the wallet)."""
    from builtin_plugins.store import services

    token = token or services.new_purchase_token(user)
    return services.purchase(
        user,
        token=token,
        product_id=product.id,
        plan_id=product.plans[0].id,
        name=name,
        slots=slots,
        auto_renew=auto_renew,
        voucher_code=voucher,
        options=options or {},
    )


def make_server(
    user_id: int,
    name: str = "Survival",
    *,
    product_slug: str = "mc",
    price: int = 1000,
    days: int = 30,
) -> Service:
    """A live server of ``user_id`` fulfilled by hand (no panel, no payment), on the manual
    product ``product_slug`` (made on first use): for tests about what surrounds a server."""
    from kernel import now

    product = db.session.scalar(db.select(Product).where(Product.slug == product_slug))
    if product is None:
        product = Product(
            name=product_slug.upper() + " plan",
            slug=product_slug,
            provisioner="manual",
            description="",
            images=[],
            resources={},
            provisioner_settings={},
            active=True,
        )
        product.plans.append(
            PricePlan(kind="fixed", label="", period_unit="days", period_count=days, price=price)
        )
        db.session.add(product)
        db.session.flush()
    service = Service(
        user_id=user_id,
        product_id=product.id,
        plan_id=product.plans[0].id,
        name=name,
        state="active",
        expires_at=now() + timedelta(days=days),
        price=price,
        external_id="manual-x",
        options={},
    )
    db.session.add(service)
    db.session.commit()
    return service
