"""Admin endpoints of outgoing webhooks: endpoints (list, register, delete), the events
there are, deliveries with the receiver's answers, and replay."""

from __future__ import annotations

import marshmallow as ma
from flask_login import current_user
from sqlalchemy import select

from kernel.extensions import db
from kernel.rest.errors import ApiError
from kernel.rest.framework import ApiBlueprint
from kernel.rest.schemas import ApiDateTime, StrictSchema
from kernel.webhooks import services
from kernel.webhooks.models import WebhookDelivery, WebhookEndpoint

bp = ApiBlueprint("admin_webhooks", __name__, description="Administration: outgoing webhooks")
MAX_ID = 2**31 - 1


class EndpointIn(StrictSchema):
    url = ma.fields.String(required=True, validate=ma.validate.Length(1, 2000))
    events = ma.fields.List(
        ma.fields.String(validate=ma.validate.Length(1, 64)),
        required=True,
        validate=ma.validate.Length(1, 50),
    )
    description = ma.fields.String(load_default="", validate=ma.validate.Length(max=255))
    allow_private = ma.fields.Boolean(
        load_default=False,
        metadata={"description": "allow an address inside your network (skips the SSRF guard)"},
    )


class EndpointOut(ma.Schema):
    id = ma.fields.Integer(required=True)
    url = ma.fields.String(required=True)
    description = ma.fields.String(required=True)
    events = ma.fields.List(ma.fields.String(), required=True)
    active = ma.fields.Boolean(required=True)
    allow_private = ma.fields.Boolean(required=True)
    created_at = ApiDateTime(required=True)


class CreatedEndpointOut(EndpointOut):
    secret = ma.fields.String(required=True, metadata={"description": "shown only this once"})


class EventOut(ma.Schema):
    name = ma.fields.String(required=True)
    description = ma.fields.String(required=True)


class DeliverySearch(StrictSchema):
    endpoint_id = ma.fields.Integer(load_default=None, validate=ma.validate.Range(1, MAX_ID))
    status = ma.fields.String(
        load_default=None,
        validate=ma.validate.OneOf(("pending", "retrying", "delivered", "failed")),
    )
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(1, 100))


class DeliveryOut(ma.Schema):
    id = ma.fields.Integer(required=True)
    endpoint_id = ma.fields.Integer(required=True)
    event = ma.fields.String(required=True)
    event_id = ma.fields.String(required=True)
    status = ma.fields.String(required=True)
    attempts = ma.fields.Integer(required=True)
    response_code = ma.fields.Integer(required=True, allow_none=True)
    error = ma.fields.String(required=True)
    created_at = ApiDateTime(required=True)
    last_attempt_at = ApiDateTime(required=True, allow_none=True)
    next_attempt_at = ApiDateTime(required=True, allow_none=True)


@bp.get("/admin/webhooks/events")
@bp.scope("admin:webhooks")
@bp.response(200, EventOut(many=True))
def events():
    """The events endpoints can subscribe to (the kernel's and the enabled plugins')."""
    return [{"name": k, "description": v} for k, v in sorted(services.known_events().items())]


@bp.get("/admin/webhooks")
@bp.scope("admin:webhooks")
@bp.response(200, EndpointOut(many=True))
def endpoints():
    """Registered endpoints."""
    return list(db.session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)))


@bp.post("/admin/webhooks")
@bp.scope("admin:webhooks")
@bp.arguments(EndpointIn)
@bp.response(201, CreatedEndpointOut)
def create(data):
    """Register an endpoint; the answer carries its signing secret, shown only this once."""
    try:
        endpoint, secret = services.create_endpoint(
            data["url"],
            data["events"],
            description=data["description"],
            allow_private=data["allow_private"],
            actor=current_user.email,
        )
    except services.WebhookError as exc:
        db.session.rollback()
        raise ApiError(422, str(exc)) from None
    return {**{name: getattr(endpoint, name) for name in EndpointOut().fields}, "secret": secret}


@bp.delete("/admin/webhooks/<int:webhook_id>")
@bp.scope("admin:webhooks")
@bp.response(204)
def delete(webhook_id):
    """Delete an endpoint and its delivery log."""
    endpoint = db.session.get(WebhookEndpoint, webhook_id)
    if endpoint is None:
        raise ApiError(404, "No such webhook endpoint.")
    services.delete_endpoint(endpoint, actor=current_user.email)


@bp.get("/admin/webhooks/deliveries")
@bp.scope("admin:webhooks")
@bp.arguments(DeliverySearch, location="query")
@bp.response(200, DeliveryOut(many=True))
def deliveries(args):
    """Recent deliveries, newest first, with the receiver's answer to the latest attempt."""
    query = select(WebhookDelivery)
    if args["endpoint_id"]:
        query = query.where(WebhookDelivery.endpoint_id == args["endpoint_id"])
    if args["status"]:
        query = query.where(WebhookDelivery.status == args["status"])
    return list(db.session.scalars(query.order_by(WebhookDelivery.id.desc()).limit(args["limit"])))


@bp.post("/admin/webhooks/deliveries/<int:delivery_id>/replay")
@bp.scope("admin:webhooks")
@bp.response(200, DeliveryOut)
def replay(delivery_id):
    """Send a delivery again now: the same body under a fresh signature."""
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None:
        raise ApiError(404, "No such delivery.")
    return services.replay(delivery, actor=current_user.email)
