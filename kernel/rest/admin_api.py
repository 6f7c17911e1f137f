"""Admin endpoints of the kernel: users (list, create, block, adjust the balance) and
payments (list, refund). The rules are the admin area's: a role you do not hold cannot be
given or changed, nobody blocks themselves, balances move only through the ledger."""

from __future__ import annotations

import hashlib

import marshmallow as ma
from flask_login import current_user
from sqlalchemy import func, or_, select

from kernel import audit
from kernel.accounts.models import Role, User
from kernel.accounts.services import AccountError, create_user
from kernel.admin.users import can_grant
from kernel.extensions import db
from kernel.payments import adjustments, ledger
from kernel.payments.adjustments import adjust
from kernel.payments.models import Payment
from kernel.payments.money import MoneyError
from kernel.payments.settlement import PaymentError
from kernel.payments.takebacks import refund
from kernel.rest.errors import ApiError
from kernel.rest.framework import ApiBlueprint
from kernel.rest.idempotency import claim
from kernel.rest.schemas import (
    PageArgs,
    PaymentOut,
    PaymentPage,
    StrictSchema,
    UserOut,
    WalletOut,
    decode_cursor,
    page_of,
)

bp = ApiBlueprint("admin_users", __name__, description="Administration: users and payments")

MAX_ID = 2**31 - 1


class UserSearch(PageArgs):
    q = ma.fields.String(
        load_default="",
        validate=ma.validate.Length(max=255),
        metadata={"description": "part of the email or name"},
    )
    role = ma.fields.String(load_default=None, validate=ma.validate.Length(max=64))
    blocked = ma.fields.Boolean(load_default=None)


class UserPage(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(UserOut), required=True)
    next_cursor = ma.fields.String(required=True, allow_none=True)


class UserIn(StrictSchema):
    email = ma.fields.String(required=True, validate=ma.validate.Length(3, 255))
    name = ma.fields.String(load_default="", validate=ma.validate.Length(max=255))
    role = ma.fields.String(load_default="customer", validate=ma.validate.Length(1, 64))
    password = ma.fields.String(
        load_default=None,
        validate=ma.validate.Length(max=1024),
        metadata={"description": "omit: the customer sets one by a reset link"},
    )
    verified = ma.fields.Boolean(load_default=False)


class BlockIn(StrictSchema):
    blocked = ma.fields.Boolean(required=True)


class AdjustIn(StrictSchema):
    amount = ma.fields.Integer(
        required=True,
        validate=ma.validate.Range(-(10**9), 10**9),
        metadata={"description": "signed minor units, not zero"},
    )
    reason = ma.fields.String(required=True, validate=ma.validate.Length(1, adjustments.MAX_REASON))


class PaymentSearch(PageArgs):
    status = ma.fields.String(load_default=None, validate=ma.validate.Length(max=24))
    user_id = ma.fields.Integer(load_default=None, validate=ma.validate.Range(1, MAX_ID))


class AdminPaymentOut(PaymentOut):
    user_id = ma.fields.Integer(required=True)


class AdminPaymentPage(PaymentPage):
    items = ma.fields.List(ma.fields.Nested(AdminPaymentOut), required=True)


class RefundIn(StrictSchema):
    amount = ma.fields.Integer(required=True, validate=ma.validate.Range(1, 10**9))
    force = ma.fields.Boolean(
        load_default=False,
        metadata={
            "description": "refund even when the balance cannot cover it (the rest becomes a debt)"
        },
    )


def _user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise ApiError(404, "No such user.")
    return user


def _paged(query, model, args: dict) -> dict:
    before = decode_cursor(args["cursor"])
    if before is not None:
        query = query.where(model.id < before)
    rows = list(db.session.scalars(query.order_by(model.id.desc()).limit(args["limit"] + 1)))
    return page_of(rows, args["limit"])


@bp.get("/admin/users")
@bp.scope("admin:users")
@bp.arguments(UserSearch, location="query")
@bp.response(200, UserPage)
def users(args):
    """Accounts, newest first; ``q`` searches email and name."""
    query = select(User)
    if args["q"]:
        like = (
            "%"
            + args["q"].lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            + "%"
        )
        query = query.where(
            or_(
                func.lower(User.email).like(like, escape="\\"),
                func.lower(User.name).like(like, escape="\\"),
            )
        )
    if args["role"]:
        query = query.where(User.role_name == args["role"])
    if args["blocked"] is not None:
        query = query.where(User.is_blocked.is_(args["blocked"]))
    return _paged(query, User, args)


@bp.post("/admin/users")
@bp.scope("admin:users")
@bp.arguments(UserIn)
@bp.response(201, UserOut)
def create(data):
    """Create an account (a customer by default); ``user.created`` goes out as usual."""
    role = db.session.get(Role, data["role"])
    if role is None:
        raise ApiError(422, f"There is no role named {data['role']}.", errors={"role": ["unknown"]})
    if not can_grant(current_user, role.permissions or []):
        raise ApiError(403, f"You cannot give the role {role.name}.", errors={"role": ["denied"]})
    try:
        return create_user(
            data["email"],
            data["password"],
            name=data["name"],
            role=role.name,
            actor=current_user.email,
            verified=data["verified"],
        )
    except AccountError as exc:
        db.session.rollback()
        raise ApiError(422, str(exc)) from None


@bp.get("/admin/users/<int:user_id>")
@bp.scope("admin:users")
@bp.response(200, UserOut)
def user(user_id):
    """One account."""
    return _user(user_id)


@bp.put("/admin/users/<int:user_id>/blocked")
@bp.scope("admin:users")
@bp.arguments(BlockIn)
@bp.response(200, UserOut)
def block(data, user_id):
    """Block or unblock an account: a blocked account cannot log in and its tokens stop."""
    target = _user(user_id)
    if target.id == current_user.id:
        raise ApiError(403, "You cannot block yourself.")
    if target.role and not can_grant(current_user, target.role.permissions or []):
        raise ApiError(
            403, "You cannot change an account whose role has permissions you do not hold."
        )
    if target.is_blocked != data["blocked"]:
        target.is_blocked = data["blocked"]
        audit.record(
            "user.updated", target.email, {"blocked": target.is_blocked}, actor=current_user.email
        )
    return target


@bp.post("/admin/users/<int:user_id>/balance")
@bp.scope("admin:users")
@bp.arguments(AdjustIn)
@bp.response(200, WalletOut)
def adjust_balance(data, user_id):
    """Credit or debit the wallet with a reason the customer sees. With an
    ``Idempotency-Key``, a retried call adjusts once."""
    from kernel import site_settings

    target = _user(user_id)
    key = claim("admin.adjust", {**data, "user": user_id}, required=False)
    reference = None
    if key:
        digest = hashlib.sha256(f"{current_user.id}:{key}".encode()).hexdigest()[:40]
        reference = f"adjust:api:{digest}"
    try:
        adjust(
            target, data["amount"], data["reason"], actor=current_user.email, reference=reference
        )
    except MoneyError as exc:
        db.session.rollback()
        raise ApiError(422, str(exc)) from None
    return {"balance": ledger.balance(target.id), "currency": site_settings.get("currency")}


@bp.get("/admin/payments")
@bp.scope("admin:payments")
@bp.arguments(PaymentSearch, location="query")
@bp.response(200, AdminPaymentPage)
def payments(args):
    """Every payment, newest first, by status and customer."""
    query = select(Payment)
    if args["status"]:
        query = query.where(Payment.status == args["status"])
    if args["user_id"]:
        query = query.where(Payment.user_id == args["user_id"])
    return _paged(query, Payment, args)


@bp.post("/admin/payments/<int:payment_id>/refund")
@bp.scope("admin:payments")
@bp.arguments(RefundIn)
@bp.response(200, AdminPaymentOut)
def refund_payment(data, payment_id):
    """Refund part or all of a paid payment through its provider; the wallet gives its
    share back."""
    payment = db.session.get(Payment, payment_id)
    if payment is None:
        raise ApiError(404, "No such payment.")
    try:
        return refund(payment, data["amount"], force=data["force"], actor=current_user.email)
    except (MoneyError, PaymentError) as exc:
        db.session.rollback()
        raise ApiError(422, str(exc)) from None
