"""The catalog: what the store shows, product health, and the admin's product/plan editing.

No request objects here: the admin views pass plain dicts of submitted text and get
:class:`CatalogError` (message shown as is) back when something does not fit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from flask import current_app
from markupsafe import Markup
from sqlalchemy import func, select

from builtin_plugins.store import lifecycle
from builtin_plugins.store.models import Category, PricePlan, Product, Service
from builtin_plugins.store.pricing import PricingError, period_price
from builtin_plugins.store.provisioning import Provisioner, provisioners
from kernel import (
    MoneyError,
    SettingError,
    db,
    parse_amount,
    record_audit,
    site_setting,
)
from kernel import (
    coerce_setting as coerce,
)

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,118}$")
RESERVED_SLUGS = frozenset({"product", "quote", "redeem"})  # /store/<slug> would shadow a route
RESOURCE_KEYS = ("memory_mb", "disk_mb", "cpu_percent", "databases", "backups", "allocations")
# The product form's labels for them, with units.
RESOURCE_LABELS = {
    "memory_mb": "Memory (MiB)",
    "disk_mb": "Disk (MiB)",
    "cpu_percent": "CPU (%)",
    "databases": "Databases",
    "backups": "Backups",
    "allocations": "Ports (allocations)",
}
PLAN_KINDS = ("fixed", "slot", "on_demand")
PERIOD_UNITS = ("hours", "days")


class CatalogError(ValueError):
    """A catalog change that does not fit; the message is shown to the admin as is."""


def resource_sources(provisioner) -> dict[str, str]:
    """Which customer-facing resources a provisioner's own settings already hold
    (``resource_settings = {"memory_mb": "memory", ...}``, optional): the product form asks
    those values once, in the provisioner's settings, and copies them into the resources."""
    declared = getattr(provisioner, "resource_settings", None) or {}
    if not isinstance(declared, dict):
        return {}
    keys = {spec.key for spec in provisioner.settings_schema()}
    return {
        resource: str(setting)
        for resource, setting in declared.items()
        if resource in RESOURCE_KEYS and setting in keys
    }


# --- what customers see ------------------------------------------------------


def categories() -> list[Category]:
    """Categories in display order: lower ``priority`` first, then by name."""
    return list(db.session.scalars(select(Category).order_by(Category.priority, Category.name)))


def _for_sale():
    return (
        select(Product)
        .where(Product.active.is_(True))
        .where(Product.plans.any())
        .order_by(Product.priority, Product.name)
    )


def featured_products(limit: int = 6) -> list[Product]:
    return list(db.session.scalars(_for_sale().where(Product.featured.is_(True)).limit(limit)))


def products_in(category: Category | None) -> list[Product]:
    query = _for_sale()
    query = (
        query.where(Product.category_id.is_(None))
        if category is None
        else query.where(Product.category_id == category.id)
    )
    return list(db.session.scalars(query))


def category_by_slug(slug: str) -> Category | None:
    return db.session.scalar(select(Category).where(Category.slug == slug))


def product_by_slug(slug: str, *, for_sale: bool = True) -> Product | None:
    product = db.session.scalar(select(Product).where(Product.slug == slug))
    if product is None or (for_sale and (not product.active or not product.plans)):
        return None
    return product


def plan_of(product: Product, plan_id: Any) -> PricePlan | None:
    try:
        wanted = int(plan_id)
    except (TypeError, ValueError):
        return None
    return next((p for p in product.plans if p.id == wanted), None)


def cheapest(product: Product) -> PricePlan | None:
    return min(product.plans, key=lambda p: (p.price * p.min_slots, p.id), default=None)


def preview(product: Product, plan: PricePlan, slots: int) -> int:
    """Price of one period without a voucher (anonymous visitors); raises PricingError."""
    return period_price(plan, slots)


# --- health ------------------------------------------------------------------


TEXT_TYPES = ("string", "text", "secret", "url", "email")


def coerce_setting(spec, raw: Any) -> Any:
    """A submitted or stored provisioner setting, typed; empty is None (or "" for text) and a
    required one must not be empty. Raises SettingError."""
    if raw is None or (raw == "" and spec.type != "bool"):
        value = "" if spec.type in TEXT_TYPES else None
    else:
        value = coerce(spec, raw)
    if spec.required and value in (None, ""):
        raise SettingError(f"{spec.label or spec.key} is required")
    return value


def settings_problems(provisioner: Provisioner, values: dict) -> list[str]:
    problems = []
    for spec in provisioner.settings_schema():
        try:
            coerce_setting(spec, values.get(spec.key, spec.default))
        except SettingError as exc:
            problems.append(str(exc))
    check = getattr(provisioner, "validate_settings", None)
    if callable(check):
        problems.extend(check(values) or [])
    return problems


def settings_helper(provisioner, product) -> Markup | None:
    """Optional ``settings_helper(product)`` of a provisioner: HTML shown above its settings in
    the product form (e.g. live pickers filling them); never breaks the form."""
    helper = getattr(provisioner, "settings_helper", None)
    if helper is None:
        return None
    try:
        html = helper(product)
    except Exception as exc:  # noqa: BLE001 - a helper's failure must not hide the form
        current_app.logger.warning("settings_helper of %s failed: %s", provisioner.identifier, exc)
        return None
    return Markup(html) if html else None


def product_health(
    product: Product,
    known: dict[str, Provisioner] | None = None,
    reachability: dict[str, str | None] | None = None,
) -> list[str]:
    """What keeps a product from selling or provisioning; empty when healthy."""
    known = provisioners() if known is None else known
    problems = []
    if not product.plans:
        problems.append("no prices")
    provisioner = known.get(product.provisioner)
    if provisioner is None:
        problems.append(f"provisioner {product.provisioner!r} unknown (plugin disabled?)")
        return problems
    invalid = settings_problems(provisioner, product.provisioner_settings or {})
    problems.extend(f"settings invalid: {p}" for p in invalid)
    cache = {} if reachability is None else reachability
    if product.provisioner not in cache:
        cache[product.provisioner] = provisioner_reachable(provisioner)
    if cache[product.provisioner]:
        problems.append(f"provisioner unreachable: {cache[product.provisioner]}")
    return problems


def provisioner_reachable(provisioner: Provisioner) -> str | None:
    """Optional ``health()`` of a provisioner: None when fine, else the problem."""
    check = getattr(provisioner, "health", None)
    if not callable(check):
        return None
    try:
        return check() or None
    except Exception as exc:  # noqa: BLE001 - a failing check is a result
        return f"{type(exc).__name__}: {exc}"


# --- admin editing -----------------------------------------------------------


def check_slug(text: str, model, current_id: int | None) -> str:
    slug = (text or "").strip().lower()
    if not SLUG_RE.match(slug):
        raise CatalogError("the slug may hold lowercase letters, digits and dashes (1-120)")
    if slug in RESERVED_SLUGS:
        raise CatalogError(f"the slug {slug!r} is reserved")
    taken = db.session.scalar(select(model.id).where(model.slug == slug))
    if taken is not None and taken != current_id:
        raise CatalogError(f"the slug {slug!r} is already used")
    return slug


def _optional_int(text: Any, label: str, minimum: int = 0) -> int | None:
    text = str(text if text is not None else "").strip()
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        raise CatalogError(f"{label} must be a whole number") from None
    if value < minimum:
        raise CatalogError(f"{label} must be at least {minimum}")
    return value


def _truthy(value: Any) -> bool:
    return str(value or "").strip().lower() in ("1", "true", "on", "yes", "y")


@dataclass
class ProductInput:
    """A submitted product form: catalog fields plus the provisioner's settings."""

    fields: dict[str, Any]
    settings: dict[str, Any]


def save_product(product: Product | None, data: ProductInput, *, actor: str) -> Product:
    """Create (``product`` None) or update a product; raises CatalogError, storing nothing."""
    f = data.fields
    provisioner = provisioners().get(f.get("provisioner", ""))
    if provisioner is None:
        raise CatalogError(f"choose an available provisioner (not {f.get('provisioner')!r})")
    name = (f.get("name") or "").strip()
    if not 1 <= len(name) <= 120:
        raise CatalogError("give the product a name of 1 to 120 characters")
    slug = check_slug(f.get("slug", ""), Product, product.id if product else None)
    category = None
    if str(f.get("category_id") or "").strip():
        category = db.session.get(Category, _optional_int(f["category_id"], "Category"))
        if category is None:
            raise CatalogError("that category does not exist")
    settings: dict[str, Any] = {}
    for spec in provisioner.settings_schema():
        try:
            settings[spec.key] = coerce_setting(spec, data.settings.get(spec.key, spec.default))
        except SettingError as exc:
            raise CatalogError(str(exc)) from None
    problems = settings_problems(provisioner, settings)
    if problems:
        raise CatalogError("; ".join(problems))
    sources = resource_sources(provisioner)
    resources = {}
    for key in RESOURCE_KEYS:
        if key in sources:  # entered once, in the provisioner's settings
            value = settings.get(sources[key])
            value = value if isinstance(value, int) and not isinstance(value, bool) else None
        else:
            value = _optional_int(f.get(f"resource_{key}"), RESOURCE_LABELS[key])
        if value is not None:
            resources[key] = value
    stock = _optional_int(f.get("stock"), "Stock")
    limit = _optional_int(f.get("per_customer_limit"), "Per-customer limit", 1)
    priority = _optional_int(f.get("priority"), "Priority", -(10**6)) or 0
    created = product is None
    product = product or Product()
    product.name, product.slug, product.category = name, slug, category
    product.description = (f.get("description") or "").strip()
    images = [line.strip() for line in str(f.get("images") or "").splitlines() if line.strip()]
    product.images, product.resources = images, resources
    product.provisioner, product.provisioner_settings = provisioner.identifier, settings
    product.stock, product.per_customer_limit, product.priority = stock, limit, priority
    product.allow_auto_renew = _truthy(f.get("allow_auto_renew"))
    product.active, product.featured = _truthy(f.get("active")), _truthy(f.get("featured"))
    db.session.add(product)
    db.session.commit()
    record_audit(
        "store.product_created" if created else "store.product_updated",
        f"product:{product.id}",
        {"slug": product.slug},
        actor=actor,
    )
    return product


def copy_product(product: Product, *, actor: str) -> Product:
    """An inactive copy with the same settings and plans, under a free ``<slug>-copy`` slug."""
    base, n = f"{product.slug}-copy"[:110], 1
    slug = base
    while db.session.scalar(select(Product.id).where(Product.slug == slug)) is not None:
        n += 1
        slug = f"{base}-{n}"
    copy = Product(
        name=f"{product.name} (copy)"[:120],
        slug=slug,
        category=product.category,
        description=product.description,
        images=list(product.images or []),
        resources=dict(product.resources or {}),
        provisioner=product.provisioner,
        provisioner_settings=dict(product.provisioner_settings or {}),
        stock=product.stock,
        per_customer_limit=product.per_customer_limit,
        allow_auto_renew=product.allow_auto_renew,
        active=False,
        featured=False,
        priority=product.priority,
    )
    for plan in product.plans:
        copy.plans.append(
            PricePlan(
                kind=plan.kind,
                label=plan.label,
                period_unit=plan.period_unit,
                period_count=plan.period_count,
                price=plan.price,
                min_slots=plan.min_slots,
                max_slots=plan.max_slots,
                slot_variable=plan.slot_variable,
            )
        )
    db.session.add(copy)
    db.session.commit()
    record_audit("store.product_copied", f"product:{copy.id}", {"from": product.slug}, actor=actor)
    return copy


def live_services(product_id: int | None = None, plan_id: int | None = None) -> int:
    query = select(func.count(Service.id)).where(Service.state.in_(lifecycle.LIVE))
    if product_id is not None:
        query = query.where(Service.product_id == product_id)
    if plan_id is not None:
        query = query.where(Service.plan_id == plan_id)
    return db.session.scalar(query) or 0


def delete_product(product: Product, *, actor: str) -> None:
    if db.session.scalar(select(Service.id).where(Service.product_id == product.id).limit(1)):
        raise CatalogError(f"{product.name} has servers; switch it off (not active) instead")
    db.session.delete(product)
    db.session.commit()
    record_audit("store.product_deleted", product.slug, actor=actor)


def add_plan(product: Product, f: dict[str, Any], *, actor: str) -> PricePlan:
    kind = f.get("kind", "fixed")
    if kind not in PLAN_KINDS:
        raise CatalogError(f"the plan kind must be one of {', '.join(PLAN_KINDS)}")
    unit = f.get("period_unit", "days")
    if unit not in PERIOD_UNITS:
        raise CatalogError("the period unit must be hours or days")
    count = _optional_int(f.get("period_count"), "Period", 1)
    if count is None:
        raise CatalogError("give the period length")
    try:
        price = parse_amount(str(f.get("price") or ""), site_setting("currency"))
    except MoneyError as exc:
        raise CatalogError(f"price: {exc}") from None
    min_slots = _optional_int(f.get("min_slots"), "Minimum slots", 1) or 1
    max_slots = _optional_int(f.get("max_slots"), "Maximum slots", 1) or min_slots
    if kind != "slot":
        min_slots = max_slots = 1
    elif max_slots < min_slots:
        raise CatalogError("the maximum slots must not be below the minimum")
    plan = PricePlan(
        kind=kind,
        label=(f.get("label") or "").strip()[:120],
        period_unit=unit,
        period_count=count,
        price=price,
        min_slots=min_slots,
        max_slots=max_slots,
        slot_variable=(f.get("slot_variable") or "").strip()[:64],
    )
    try:
        period_price(plan, min_slots)
    except PricingError as exc:
        raise CatalogError(str(exc)) from None
    product.plans.append(plan)
    db.session.commit()
    record_audit(
        "store.plan_added", f"product:{product.id}", {"plan": plan.id, "price": price}, actor=actor
    )
    return plan


def delete_plan(plan: PricePlan, *, actor: str) -> None:
    if db.session.scalar(select(Service.id).where(Service.plan_id == plan.id).limit(1)):
        raise CatalogError(
            "servers were bought with this plan; add a new plan instead of deleting this one"
        )
    product_id = plan.product_id
    db.session.delete(plan)
    db.session.commit()
    record_audit("store.plan_deleted", f"product:{product_id}", {"plan": plan.id}, actor=actor)
