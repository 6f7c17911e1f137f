"""The store's REST endpoints (catalog, quote, purchase, servers) on the kernel's API.

They join ``/api/v1`` and its OpenAPI document through ``register_api_blueprints``. Views
are thin: prices are services.quote's, buying is services.purchase's (whose purchase token
makes an ``Idempotency-Key`` buy once however many times it is sent), the lifecycle is
services'.
"""

from __future__ import annotations

import hashlib

import marshmallow as ma
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from builtin_plugins.store import services
from builtin_plugins.store.errors import StoreError
from builtin_plugins.store.lifecycle import ACTIVE, TERMINATED
from builtin_plugins.store.models import PricePlan, Product, PurchaseToken, Service
from builtin_plugins.store.provisioning import POWER_SIGNALS, ProvisionError, provisioner_for
from builtin_plugins.store.transitions import MAX_NAME
from kernel import ApiBlueprint, ApiDateTime, ApiError, db, idempotency_key, record_audit

bp = ApiBlueprint("api", __name__, description="The catalog, buying and your servers")

MAX_ID = 2**31 - 1


class _Strict(ma.Schema):
    class Meta:
        unknown = ma.RAISE


class PlanOut(ma.Schema):
    id = ma.fields.Integer(required=True)
    label = ma.fields.String(required=True)
    price = ma.fields.Integer(required=True, metadata={"description": "minor units per period"})
    period_unit = ma.fields.String(required=True)
    period_count = ma.fields.Integer(required=True)
    min_slots = ma.fields.Integer(required=True)
    max_slots = ma.fields.Integer(required=True)


class ProductOut(ma.Schema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    slug = ma.fields.String(required=True)
    description = ma.fields.String(required=True)
    resources = ma.fields.Dict(required=True)
    stock = ma.fields.Integer(required=True, allow_none=True)
    plans = ma.fields.List(ma.fields.Nested(PlanOut), required=True)


class QuoteIn(_Strict):
    product_id = ma.fields.Integer(required=True, validate=ma.validate.Range(1, MAX_ID))
    plan_id = ma.fields.Integer(required=True, validate=ma.validate.Range(1, MAX_ID))
    slots = ma.fields.Integer(load_default=1, validate=ma.validate.Range(1, 10_000))
    voucher = ma.fields.String(load_default="", validate=ma.validate.Length(max=64))


class QuoteOut(ma.Schema):
    price = ma.fields.Integer(required=True)
    discount = ma.fields.Integer(required=True)
    total = ma.fields.Integer(required=True)


class PurchaseIn(QuoteIn):
    name = ma.fields.String(required=True, validate=ma.validate.Length(1, MAX_NAME))
    auto_renew = ma.fields.Boolean(load_default=False)
    options = ma.fields.Dict(
        keys=ma.fields.String(validate=ma.validate.Length(max=64)), load_default=dict
    )


class ServerOut(ma.Schema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    state = ma.fields.String(required=True)
    product_id = ma.fields.Integer(required=True)
    plan_id = ma.fields.Integer(required=True)
    slots = ma.fields.Integer(required=True)
    price = ma.fields.Integer(required=True)
    auto_renew = ma.fields.Boolean(required=True)
    expires_at = ApiDateTime(required=True)
    created_at = ApiDateTime(required=True)


class RenameIn(_Strict):
    name = ma.fields.String(required=True, validate=ma.validate.Length(1, MAX_NAME))


class AutoRenewIn(_Strict):
    enabled = ma.fields.Boolean(required=True)


class PowerIn(_Strict):
    signal = ma.fields.String(required=True, validate=ma.validate.OneOf(POWER_SIGNALS))


class RenewIn(_Strict):
    voucher = ma.fields.String(load_default="", validate=ma.validate.Length(max=64))


def _refused(exc: Exception) -> ApiError:
    db.session.rollback()
    return ApiError(422, str(exc))


def _offer(data: dict) -> tuple[Product, PricePlan]:
    product = db.session.get(Product, data["product_id"])
    plan = db.session.get(PricePlan, data["plan_id"])
    if product is None or not product.active:
        raise ApiError(404, "No such product for sale.", errors={"product_id": ["not for sale"]})
    if plan is None or plan.product_id != product.id:
        raise ApiError(
            404,
            "No such price plan of this product.",
            errors={"plan_id": ["not a plan of this product"]},
        )
    return product, plan


def _owned(service_id: int) -> Service:
    """The caller's live server; 404 for anyone else's (never a hint that it exists)."""
    service = db.session.get(Service, service_id)
    if service is None or service.user_id != current_user.id or service.state == TERMINATED:
        raise ApiError(404, "No such server.")
    return service


@bp.get("/catalog")
@bp.scope("read:catalog")
@bp.response(200, ProductOut(many=True))
def products():
    """Products for sale, with their price plans."""
    return list(
        db.session.scalars(
            select(Product)
            .where(Product.active.is_(True))
            .order_by(Product.priority.desc(), Product.id)
        )
    )


@bp.post("/quote")
@bp.scope("read:catalog")
@bp.arguments(QuoteIn)
@bp.response(200, QuoteOut)
def quote(data):
    """What one period costs for these choices, after a voucher."""
    product, plan = _offer(data)
    try:
        offer = services.quote(current_user, product, plan, data["slots"], data["voucher"])
    except StoreError as exc:
        raise _refused(exc) from None
    return offer


def _purchase_token(key: str) -> str:
    """The store's once-only purchase token for this customer's Idempotency-Key."""
    digest = hashlib.sha256(f"{current_user.id}:{key}".encode()).hexdigest()
    token = f"api:{digest[:56]}"
    if db.session.scalar(select(Service.id).where(Service.purchase_token == token)) is None:
        try:
            db.session.add(PurchaseToken(token=token, user_id=current_user.id))
            db.session.commit()
        except IntegrityError:  # a parallel request with the same key made it
            db.session.rollback()
    return token


@bp.post("/servers")
@bp.scope("write:servers")
@bp.arguments(PurchaseIn)
@bp.response(201, ServerOut)
@bp.doc(
    parameters=[
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": True,
            "schema": {"type": "string", "minLength": 1, "maxLength": 255},
        }
    ]
)
def purchase(data):
    """Buy a server; the wallet pays. The same Idempotency-Key returns the same server."""
    key = idempotency_key("store.purchase", data)
    _offer(data)
    token = _purchase_token(key)
    try:
        service = services.purchase(
            current_user,
            token=token,
            product_id=data["product_id"],
            plan_id=data["plan_id"],
            name=data["name"],
            slots=data["slots"],
            auto_renew=data["auto_renew"],
            options=data["options"],
            voucher_code=data["voucher"],
            actor=current_user.email,
        )
    except StoreError as exc:
        raise _refused(exc) from None
    return service


@bp.get("/servers")
@bp.scope("read:servers")
@bp.response(200, ServerOut(many=True))
def servers():
    """Your servers (deleted ones left out), soonest to expire first."""
    return list(
        db.session.scalars(
            select(Service)
            .where(Service.user_id == current_user.id, Service.state != TERMINATED)
            .order_by(Service.expires_at, Service.id)
        )
    )


@bp.get("/servers/<int:service_id>")
@bp.scope("read:servers")
@bp.response(200, ServerOut)
def server(service_id):
    """One of your servers."""
    return _owned(service_id)


@bp.patch("/servers/<int:service_id>")
@bp.scope("write:servers")
@bp.arguments(RenameIn)
@bp.response(200, ServerOut)
def rename(data, service_id):
    """Rename a server (here and in the panel)."""
    try:
        return services.rename(_owned(service_id), data["name"], actor=current_user.email)
    except StoreError as exc:
        raise _refused(exc) from None


@bp.post("/servers/<int:service_id>/renew")
@bp.scope("write:servers")
@bp.arguments(RenewIn)
@bp.response(200, ServerOut)
def renew(data, service_id):
    """Pay one more period from the wallet now."""
    try:
        return services.renew(_owned(service_id), source="customer", voucher_code=data["voucher"])
    except StoreError as exc:
        raise _refused(exc) from None


@bp.put("/servers/<int:service_id>/auto-renew")
@bp.scope("write:servers")
@bp.arguments(AutoRenewIn)
@bp.response(200, ServerOut)
def auto_renew(data, service_id):
    """Turn automatic renewal from the wallet on or off."""
    try:
        return services.set_auto_renew(_owned(service_id), data["enabled"])
    except StoreError as exc:
        raise _refused(exc) from None


@bp.post("/servers/<int:service_id>/power")
@bp.scope("write:servers")
@bp.arguments(PowerIn)
@bp.response(204)
def power(data, service_id):
    """Start, stop, restart or kill the server, through its provisioner (the panel)."""
    service = _owned(service_id)
    if service.state != ACTIVE:
        raise ApiError(
            409,
            f"The server is {service.state.replace('_', ' ')}; power actions "
            "need an active server.",
            type="conflict",
        )
    try:
        action = getattr(provisioner_for(service.product), "power", None)
        if action is None:
            raise ApiError(422, "This server's provisioner has no power controls.")
        action(service, data["signal"])
    except ProvisionError as exc:
        db.session.rollback()
        raise ApiError(502, f"The panel did not carry it out: {exc}", type="panel_error") from None
    record_audit(
        "store.power", f"service:{service.id}", {"signal": data["signal"]}, actor=current_user.email
    )
