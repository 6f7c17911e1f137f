"""Admin: vouchers CRUD and the read-only list of their uses."""

from __future__ import annotations

from flask import g
from flask_admin.contrib.sqla import ModelView
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, ValidationError

from builtin_plugins.store.models import Voucher, VoucherUsage
from builtin_plugins.store.vouchers import BALANCE, KINDS, VoucherError, validate
from kernel import (
    KeysetListMixin,
    MoneyError,
    PermissionMixin,
    db,
    format_amount,
    parse_amount,
    site_setting,
    to_decimal_string,
)

PERMISSION = "store.manage"
KIND_LABELS = {
    "balance": "Balance credit",
    "topup_discount": "Top-up discount (%)",
    "purchase_discount": "Purchase/renewal discount (%)",
}


def _value(view, context, model, name):
    if model.kind == BALANCE:
        return format_amount(model.value, site_setting("currency"))
    return f"{model.value}%"


def _minimum(view, context, model, name):
    return format_amount(model.min_amount, site_setting("currency")) if model.min_amount else "-"


def _uses(view, context, model, name):
    return f"{model.uses} / {model.max_uses}" if model.max_uses is not None else str(model.uses)


class VoucherAdmin(PermissionMixin, ModelView):
    permission = PERMISSION
    can_view_details = False
    can_export = False
    column_list = (
        "code",
        "kind",
        "value",
        "uses",
        "once_per_user",
        "new_accounts_days",
        "min_amount",
        "expires_at",
        "active",
    )
    column_labels = {
        "new_accounts_days": "New accounts (days)",
        "max_uses": "Uses at most",
        "once_per_user": "Once per customer",
        "expires_at": "Expires (UTC)",
        "min_amount": "Minimum order or top-up",
    }
    column_formatters = {"value": _value, "uses": _uses, "min_amount": _minimum}
    column_filters = ("kind", "active")
    column_searchable_list = ("code",)
    column_default_sort = ("id", True)
    form_columns = (
        "code",
        "kind",
        "value",
        "max_uses",
        "once_per_user",
        "new_accounts_days",
        "min_amount",
        "expires_at",
        "active",
    )
    form_overrides = {"kind": SelectField, "value": StringField, "min_amount": StringField}
    form_args = {
        "code": {"validators": [DataRequired()]},
        "kind": {"choices": [(k, KIND_LABELS[k]) for k in KINDS]},
        "value": {
            "validators": [DataRequired()],
            "description": "An amount such as 5.00 for balance credits; a whole percent "
            "(1-100) for discounts",
        },
        "max_uses": {"description": "Empty: unlimited"},
        "new_accounts_days": {
            "description": "Only accounts younger than this many days; empty: anyone"
        },
        "min_amount": {
            "description": "An amount such as 20.00 in the shop's currency; empty or 0: none"
        },
    }

    def __init__(self):
        super().__init__(
            Voucher,
            db,
            name="Vouchers",
            endpoint="store_vouchers",
            url="/admin/store/vouchers",
            category="Store",
        )

    def edit_form(self, obj=None):
        form = super().edit_form(obj)
        if obj is not None and not form.is_submitted():
            currency = site_setting("currency")
            if obj.kind == BALANCE:
                form.value.data = to_decimal_string(obj.value, currency)
            form.min_amount.data = to_decimal_string(obj.min_amount or 0, currency)
        return form

    def on_model_change(self, form, model, is_created):
        with db.session.no_autoflush:
            self._validate(form, model)

    def _validate(self, form, model) -> None:
        text = str(form.value.data or "").strip()
        if model.kind == BALANCE:
            try:
                model.value = parse_amount(text, site_setting("currency"))
            except MoneyError as exc:
                raise ValidationError(f"value: {exc}") from None
        else:
            model.value = int(text) if text.isdigit() else -1
        minimum = str(form.min_amount.data or "").strip()
        try:
            model.min_amount = (
                0 if minimum in ("", "0") else parse_amount(minimum, site_setting("currency"))
            )
        except MoneyError as exc:
            raise ValidationError(f"minimum order or top-up: {exc}") from None
        try:
            validate(model)
        except VoucherError as exc:
            raise ValidationError(str(exc)) from None

    def on_model_delete(self, model):
        if model.uses:
            raise ValidationError(
                "this code was used: switch it off (active) instead of deleting it"
            )


class VoucherUsageAdmin(PermissionMixin, KeysetListMixin, ModelView):
    permission = PERMISSION
    can_create = can_edit = can_delete = False
    can_view_details = False
    can_export = False
    column_list = ("created_at", "voucher", "user_id", "reference", "amount")
    column_labels = {"user_id": "Customer", "amount": "Discount or credit"}
    column_formatters = {
        "amount": lambda v, c, m, p: format_amount(m.amount, site_setting("currency")),
        "user_id": lambda v, c, m, p: _email(m.user_id),  # from get_list's one query
    }
    column_filters = ("voucher.code", "created_at")
    page_size = 50

    def __init__(self):
        super().__init__(
            VoucherUsage,
            db,
            name="Voucher uses",
            endpoint="store_voucher_uses",
            url="/admin/store/voucher-uses",
            category="Store",
        )

    def get_list(self, *args, **kwargs):
        """The page's rows, and their customers' emails in one query (kept on ``g`` for
        this request: the view object is shared by every request)."""
        from kernel import User

        count, rows = super().get_list(*args, **kwargs)
        if not kwargs.get("execute", True):
            return count, rows  # a query, not rows
        rows = list(rows)
        ids = sorted({row.user_id for row in rows})
        g.voucher_use_emails = (
            dict(db.session.execute(db.select(User.id, User.email).where(User.id.in_(ids))).all())
            if ids
            else {}
        )
        return count, rows


def _email(user_id: int) -> str:
    known = g.get("voucher_use_emails")
    if known is not None and user_id in known:
        return known[user_id]
    from kernel import User

    user = db.session.get(User, user_id)
    return user.email if user else str(user_id)
