"""Shared marshmallow schemas of the API: pages, amounts, the kernel's resources."""

from __future__ import annotations

from datetime import UTC

import marshmallow as ma

MAX_PAGE = 100


class ApiDateTime(ma.fields.DateTime):
    """A time of pteroca (naive UTC in the database) as RFC 3339 with its zone: ``...Z``.
    Without the zone a client cannot tell UTC from its local time, and it is no
    OpenAPI ``date-time``."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.isoformat(timespec="seconds") + "Z"


class StrictSchema(ma.Schema):
    """Unknown fields are an error (a typo must not be silently ignored)."""

    class Meta:
        unknown = ma.RAISE


class PageArgs(StrictSchema):
    cursor = ma.fields.String(
        load_default=None,
        validate=ma.validate.Length(max=32),
        metadata={"description": "next_cursor of the previous page"},
    )
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(1, MAX_PAGE))


def decode_cursor(cursor: str | None) -> int | None:
    """The id a page starts below; a cursor that is not ours is a 400, not a 500."""
    if cursor is None:
        return None
    from kernel.rest.errors import ApiError

    if not cursor.isdigit() or not 0 < int(cursor) < 2**63:
        raise ApiError(
            400,
            "This cursor is not one the API gave out.",
            errors={"cursor": ["not a valid cursor"]},
        )
    return int(cursor)


def page_of(items: list, limit: int) -> dict:
    """``{"items", "next_cursor"}`` from ``limit + 1`` rows ordered by id descending."""
    more = len(items) > limit
    items = items[:limit]
    return {"items": items, "next_cursor": str(items[-1].id) if more and items else None}


class UserOut(ma.Schema):
    id = ma.fields.Integer(required=True)
    email = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    role = ma.fields.String(required=True, attribute="role_name")
    language = ma.fields.String(required=True)
    verified = ma.fields.Boolean(required=True, attribute="is_verified")
    blocked = ma.fields.Boolean(required=True, attribute="is_blocked")
    created_at = ApiDateTime(required=True)


class WalletOut(ma.Schema):
    balance = ma.fields.Integer(required=True, metadata={"description": "minor units"})
    currency = ma.fields.String(required=True)


class LedgerEntryOut(ma.Schema):
    id = ma.fields.Integer(required=True)
    amount = ma.fields.Integer(required=True, metadata={"description": "signed minor units"})
    kind = ma.fields.String(required=True)
    reference = ma.fields.String(required=True)
    created_at = ApiDateTime(required=True)


class LedgerPage(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(LedgerEntryOut), required=True)
    next_cursor = ma.fields.String(required=True, allow_none=True)


class PaymentOut(ma.Schema):
    id = ma.fields.Integer(required=True)
    provider = ma.fields.String(required=True)
    status = ma.fields.String(required=True)
    currency = ma.fields.String(required=True)
    amount_charged = ma.fields.Integer(required=True)
    amount_credited = ma.fields.Integer(required=True)
    amount_refunded = ma.fields.Integer(required=True)
    created_at = ApiDateTime(required=True)
    settled_at = ApiDateTime(required=True, allow_none=True)


class PaymentPage(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(PaymentOut), required=True)
    next_cursor = ma.fields.String(required=True, allow_none=True)


class TopupIn(StrictSchema):
    amount = ma.fields.Integer(
        required=True,
        validate=ma.validate.Range(1, 10**9),
        metadata={"description": "minor units to credit"},
    )
    provider = ma.fields.String(required=True, validate=ma.validate.Length(1, 64))


class TopupOut(ma.Schema):
    payment = ma.fields.Nested(PaymentOut, required=True)
    checkout_url = ma.fields.String(required=True)
