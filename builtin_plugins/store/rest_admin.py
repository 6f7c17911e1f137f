"""The store's admin endpoints: servers (list with filters, suspend, unsuspend, terminate),
products and plans, vouchers. Rules are the store's services' (the lifecycle, catalog.py,
vouchers.validate); a token needs the admin scope and its owner the store.manage permission."""

from __future__ import annotations

import marshmallow as ma
from flask_login import current_user
from sqlalchemy import select

from builtin_plugins.store import catalog, services
from builtin_plugins.store.errors import StoreError
from builtin_plugins.store.lifecycle import IllegalMove
from builtin_plugins.store.models import PricePlan, Product, Service, Voucher
from builtin_plugins.store.rest import MAX_ID, PlanOut, ProductOut, ServerOut
from builtin_plugins.store.vouchers import KINDS, VoucherError, validate
from kernel import (
    ApiBlueprint,
    ApiDateTime,
    ApiError,
    db,
    record_audit,
    site_setting,
    to_decimal_string,
)

bp = ApiBlueprint("admin", __name__, description="Store administration")
# What the store's rules refuse (a product slug taken, a plan in use, a move the lifecycle
# forbids, a voucher that does not add up): 422 with the rule's message, from any endpoint.
bp.refuses(catalog.CatalogError, StoreError, IllegalMove, VoucherError)
PERMISSION = "store.manage"
STATES = ("provisioning", "active", "suspended", "terminated", "failed")


class _Strict(ma.Schema):
    class Meta:
        unknown = ma.RAISE


class ServerSearch(_Strict):
    state = ma.fields.String(load_default=None, validate=ma.validate.OneOf(STATES))
    user_id = ma.fields.Integer(load_default=None, validate=ma.validate.Range(1, MAX_ID))
    product_id = ma.fields.Integer(load_default=None, validate=ma.validate.Range(1, MAX_ID))
    cursor = ma.fields.Integer(load_default=None, validate=ma.validate.Range(1, MAX_ID))
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(1, 100))


class AdminServerOut(ServerOut):
    user_id = ma.fields.Integer(required=True)
    suspension = ma.fields.String(required=True)
    last_error = ma.fields.String(required=True)


class ServerPage(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(AdminServerOut), required=True)
    next_cursor = ma.fields.Integer(required=True, allow_none=True)


class SuspendIn(_Strict):
    reason = ma.fields.String(load_default="", validate=ma.validate.Length(max=500))


class TerminateIn(_Strict):
    force = ma.fields.Boolean(
        load_default=False,
        metadata={"description": "delete even when a plugin's veto_deletion refuses"},
    )


class ProductIn(_Strict):
    name = ma.fields.String(required=True, validate=ma.validate.Length(1, 120))
    slug = ma.fields.String(required=True, validate=ma.validate.Length(1, 120))
    description = ma.fields.String(load_default="", validate=ma.validate.Length(max=20_000))
    provisioner = ma.fields.String(load_default="manual", validate=ma.validate.Length(1, 64))
    settings = ma.fields.Dict(
        keys=ma.fields.String(validate=ma.validate.Length(max=64)), load_default=dict
    )
    resources = ma.fields.Dict(
        keys=ma.fields.String(validate=ma.validate.Length(max=32)),
        values=ma.fields.Integer(validate=ma.validate.Range(0, 10**9)),
        load_default=dict,
    )
    stock = ma.fields.Integer(
        load_default=None, allow_none=True, validate=ma.validate.Range(0, MAX_ID)
    )
    per_customer_limit = ma.fields.Integer(
        load_default=None, allow_none=True, validate=ma.validate.Range(1, MAX_ID)
    )
    priority = ma.fields.Integer(load_default=0, validate=ma.validate.Range(-(10**6), 10**6))
    allow_auto_renew = ma.fields.Boolean(load_default=True)
    active = ma.fields.Boolean(load_default=True)
    featured = ma.fields.Boolean(load_default=False)


class AdminProductOut(ProductOut):
    active = ma.fields.Boolean(required=True)
    provisioner = ma.fields.String(required=True)


class PlanIn(_Strict):
    kind = ma.fields.String(load_default="fixed", validate=ma.validate.OneOf(("fixed", "slot")))
    label = ma.fields.String(load_default="", validate=ma.validate.Length(max=120))
    period_unit = ma.fields.String(
        load_default="days", validate=ma.validate.OneOf(("hours", "days"))
    )
    period_count = ma.fields.Integer(required=True, validate=ma.validate.Range(1, 10_000))
    price = ma.fields.Integer(
        required=True,
        validate=ma.validate.Range(0, 10**9),
        metadata={"description": "minor units per period (per slot)"},
    )
    min_slots = ma.fields.Integer(load_default=1, validate=ma.validate.Range(1, 10_000))
    max_slots = ma.fields.Integer(load_default=1, validate=ma.validate.Range(1, 10_000))
    slot_variable = ma.fields.String(load_default="", validate=ma.validate.Length(max=64))


class VoucherIn(_Strict):
    code = ma.fields.String(required=True, validate=ma.validate.Length(1, 64))
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(KINDS))
    value = ma.fields.Integer(
        required=True,
        validate=ma.validate.Range(1, 10**9),
        metadata={"description": "minor units (balance) or a whole percent (discounts)"},
    )
    max_uses = ma.fields.Integer(
        load_default=None, allow_none=True, validate=ma.validate.Range(1, MAX_ID)
    )
    once_per_user = ma.fields.Boolean(load_default=True)
    new_accounts_days = ma.fields.Integer(
        load_default=None, allow_none=True, validate=ma.validate.Range(0, 100_000)
    )
    min_amount = ma.fields.Integer(load_default=0, validate=ma.validate.Range(0, 10**9))
    expires_at = ApiDateTime(load_default=None, allow_none=True)
    active = ma.fields.Boolean(load_default=True)


class VoucherOut(ma.Schema):
    id = ma.fields.Integer(required=True)
    code = ma.fields.String(required=True)
    kind = ma.fields.String(required=True)
    value = ma.fields.Integer(required=True)
    max_uses = ma.fields.Integer(required=True, allow_none=True)
    uses = ma.fields.Integer(required=True)
    active = ma.fields.Boolean(required=True)
    expires_at = ApiDateTime(required=True, allow_none=True)


class ActiveIn(_Strict):
    active = ma.fields.Boolean(required=True)


def _get(model, ident: int, what: str):
    row = db.session.get(model, ident)
    if row is None:
        raise ApiError(404, f"No such {what}.")
    return row


def _actor() -> str:
    return current_user.email


@bp.get("/admin/servers")
@bp.scope("admin:services", permission=PERMISSION)
@bp.arguments(ServerSearch, location="query")
@bp.response(200, ServerPage)
def servers(args):
    """Every server, newest first, filtered by state, customer or product."""
    query = select(Service)
    for name in ("state", "user_id", "product_id"):
        if args[name] is not None:
            query = query.where(getattr(Service, name) == args[name])
    if args["cursor"]:
        query = query.where(Service.id < args["cursor"])
    rows = list(db.session.scalars(query.order_by(Service.id.desc()).limit(args["limit"] + 1)))
    more = len(rows) > args["limit"]
    rows = rows[: args["limit"]]
    return {"items": rows, "next_cursor": rows[-1].id if more and rows else None}


def _transition(service_id: int, action):
    return action(_get(Service, service_id, "server"))


@bp.post("/admin/servers/<int:service_id>/suspend")
@bp.scope("admin:services", permission=PERMISSION)
@bp.arguments(SuspendIn)
@bp.response(200, AdminServerOut)
def suspend(data, service_id):
    """Suspend by staff: a payment does not lift it."""
    return _transition(
        service_id,
        lambda s: services.suspend(s, manual=True, reason=data["reason"], actor=_actor()),
    )


@bp.post("/admin/servers/<int:service_id>/unsuspend")
@bp.scope("admin:services", permission=PERMISSION)
@bp.response(200, AdminServerOut)
def unsuspend(service_id):
    """Lift any suspension."""
    return _transition(service_id, lambda s: services.unsuspend(s, manual=True, actor=_actor()))


@bp.post("/admin/servers/<int:service_id>/terminate")
@bp.scope("admin:services", permission=PERMISSION)
@bp.arguments(TerminateIn)
@bp.response(200, AdminServerOut)
def terminate(data, service_id):
    """End the server; the panel deletes it."""
    return _transition(
        service_id, lambda s: services.terminate(s, actor=_actor(), force=data["force"])
    )


def _product_fields(data: dict) -> catalog.ProductInput:
    """The API's JSON as the product form's fields (catalog.save_product reads a form)."""
    fields = {key: data[key] for key in ("name", "slug", "description", "provisioner")}
    for key in ("stock", "per_customer_limit", "priority"):
        fields[key] = "" if data[key] is None else str(data[key])
    for key in ("allow_auto_renew", "active", "featured"):
        fields[key] = "1" if data[key] else ""
    unknown = set(data["resources"]) - set(catalog.RESOURCE_KEYS)
    if unknown:
        raise ApiError(
            422,
            f"Unknown resource {sorted(unknown)[0]}; known: {', '.join(catalog.RESOURCE_KEYS)}.",
            errors={"resources": ["unknown"]},
        )
    for key, value in data["resources"].items():
        fields[f"resource_{key}"] = str(value)
    return catalog.ProductInput(fields=fields, settings=data["settings"])


@bp.get("/admin/products")
@bp.scope("admin:catalog", permission=PERMISSION)
@bp.response(200, AdminProductOut(many=True))
def products():
    """Every product, for sale or not."""
    return list(db.session.scalars(select(Product).order_by(Product.id)))


@bp.post("/admin/products")
@bp.scope("admin:catalog", permission=PERMISSION)
@bp.arguments(ProductIn)
@bp.response(201, AdminProductOut)
def create_product(data):
    """Create a product (add its plans next)."""
    return catalog.save_product(None, _product_fields(data), actor=_actor())


@bp.put("/admin/products/<int:product_id>")
@bp.scope("admin:catalog", permission=PERMISSION)
@bp.arguments(ProductIn)
@bp.response(200, AdminProductOut)
def update_product(data, product_id):
    """Replace a product's fields."""
    product = _get(Product, product_id, "product")
    return catalog.save_product(product, _product_fields(data), actor=_actor())


@bp.delete("/admin/products/<int:product_id>")
@bp.scope("admin:catalog", permission=PERMISSION)
@bp.response(204)
def delete_product(product_id):
    """Delete a product nobody bought (else switch it off with active: false)."""
    catalog.delete_product(_get(Product, product_id, "product"), actor=_actor())


@bp.post("/admin/products/<int:product_id>/plans")
@bp.scope("admin:catalog", permission=PERMISSION)
@bp.arguments(PlanIn)
@bp.response(201, PlanOut)
def add_plan(data, product_id):
    """Add a price plan."""
    product = _get(Product, product_id, "product")
    form = {
        **{k: str(v) for k, v in data.items()},
        "price": to_decimal_string(data["price"], site_setting("currency")),
    }
    return catalog.add_plan(product, form, actor=_actor())


@bp.delete("/admin/plans/<int:plan_id>")
@bp.scope("admin:catalog", permission=PERMISSION)
@bp.response(204)
def delete_plan(plan_id):
    """Delete a plan no server was bought with."""
    catalog.delete_plan(_get(PricePlan, plan_id, "plan"), actor=_actor())


@bp.get("/admin/vouchers")
@bp.scope("admin:catalog", permission=PERMISSION)
@bp.response(200, VoucherOut(many=True))
def vouchers():
    """Every voucher code."""
    return list(db.session.scalars(select(Voucher).order_by(Voucher.id.desc())))


@bp.post("/admin/vouchers")
@bp.scope("admin:catalog", permission=PERMISSION)
@bp.arguments(VoucherIn)
@bp.response(201, VoucherOut)
def create_voucher(data):
    """Create a voucher code."""
    expires = data.pop("expires_at")
    voucher = Voucher(**data, uses=0, expires_at=expires.replace(tzinfo=None) if expires else None)
    validate(voucher)
    db.session.add(voucher)
    db.session.commit()
    record_audit("store.voucher_created", voucher.code, {"kind": voucher.kind}, actor=_actor())
    return voucher


@bp.put("/admin/vouchers/<int:voucher_id>/active")
@bp.scope("admin:catalog", permission=PERMISSION)
@bp.arguments(ActiveIn)
@bp.response(200, VoucherOut)
def voucher_active(data, voucher_id):
    """Switch a code on or off (a used code is switched off, never deleted)."""
    voucher = _get(Voucher, voucher_id, "voucher")
    voucher.active = data["active"]
    db.session.commit()
    record_audit("store.voucher_updated", voucher.code, {"active": voucher.active}, actor=_actor())
    return voucher
