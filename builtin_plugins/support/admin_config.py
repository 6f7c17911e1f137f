"""Admin pages around the queue: categories (``support.manage``), saved replies and the list
of blocked customers (``support.tickets``). Every change is audited."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.contrib.sqla import ModelView
from flask_login import current_user
from wtforms.validators import ValidationError

from builtin_plugins.support import tickets as service
from builtin_plugins.support.access import MANAGE_PERMISSION, STAFF_PERMISSION
from builtin_plugins.support.errors import SupportError
from builtin_plugins.support.models import Block, SavedReply, Ticket, TicketCategory
from kernel import PermissionMixin, ProtectedBaseView, User, db, record_audit


class _Audited(PermissionMixin, ModelView):
    """A CRUD view whose every change lands in the audit log as ``support.<what>_<verb>``."""

    what = "thing"
    can_view_details = False
    can_export = False

    def after_model_change(self, form, model, is_created):
        record_audit(
            f"support.{self.what}_{'created' if is_created else 'changed'}",
            str(model),
            {"id": model.id},
        )

    def after_model_delete(self, model):
        record_audit(f"support.{self.what}_deleted", str(model), {"id": model.id})


class CategoryAdmin(_Audited):
    permission = MANAGE_PERMISSION
    what = "category"
    column_list = ("name", "description", "active", "position")
    column_default_sort = ("position", False)
    form_columns = ("name", "description", "active", "position")
    form_args = {"active": {"description": "Inactive categories are not offered for new tickets"}}

    def __init__(self):
        super().__init__(
            TicketCategory,
            db,
            name="Ticket categories",
            endpoint="support_categories",
            url="/admin/support/categories",
            category="Support",
        )

    def on_model_change(self, form, model, is_created):
        model.name = " ".join((model.name or "").split())[:80]
        if not model.name:
            raise ValidationError("give the category a name")
        model.description = (model.description or "").strip()

    def on_model_delete(self, model):
        if db.session.scalar(db.select(Ticket.id).where(Ticket.category_id == model.id).limit(1)):
            raise ValidationError("tickets use this category: make it inactive instead")


class SavedReplyAdmin(_Audited):
    permission = STAFF_PERMISSION
    what = "saved_reply"
    column_list = ("title", "updated_at")
    column_searchable_list = ("title", "body")
    form_columns = ("title", "body")
    form_widget_args = {"body": {"rows": 10}}
    form_args = {"body": {"description": "Markdown, inserted into the reply box from a ticket"}}

    def __init__(self):
        super().__init__(
            SavedReply,
            db,
            name="Saved replies",
            endpoint="support_saved_replies",
            url="/admin/support/saved-replies",
            category="Support",
        )

    def on_model_change(self, form, model, is_created):
        model.title = " ".join((model.title or "").split())[:120]
        model.body = (model.body or "").strip()
        if not model.title or not model.body:
            raise ValidationError("a saved reply needs a title and a text")


class BlocksView(ProtectedBaseView):
    """Customers who may not open tickets: block one by email, or let one open tickets again."""

    permission = STAFF_PERMISSION

    def __init__(self):
        super().__init__(
            name="Blocked customers",
            endpoint="support_blocks",
            url="/admin/support/blocks",
            category="Support",
        )

    def _page(self, status: int = 200, email: str = ""):
        rows = db.session.execute(
            db.select(Block, User.email)
            .join(User, User.id == Block.user_id)
            .order_by(Block.created_at.desc())
        ).all()
        blocks = [
            {
                "user_id": b.user_id,
                "email": mail,
                "reason": b.reason,
                "by": b.blocked_by,
                "since": b.created_at.strftime("%Y-%m-%d %H:%M"),
            }
            for b, mail in rows
        ]
        return self.render("admin/support/blocks.html", blocks=blocks, email=email), status

    @expose("/")
    def index(self):
        return self._page()

    @expose("/add", methods=("POST",))
    def add(self):
        email = request.form.get("email", "").strip()
        try:
            customer = db.session.scalar(
                db.select(User).where(db.func.lower(User.email) == email.lower())
            )
            if not email:
                raise SupportError("enter the email address of the customer to block")
            if customer is None:
                raise SupportError(f"there is no account with the address {email}")
            service.block(
                customer, request.form.get("reason", ""), current_user._get_current_object()
            )
        except SupportError as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return self._page(exc.status, email)
        flash(f"{customer.email} can no longer open tickets", "success")
        return redirect(url_for(".index"), 303)

    @expose("/<int:user_id>/remove", methods=("POST",))
    def remove(self, user_id: int):
        customer = db.session.get(User, user_id)
        try:
            if customer is None:
                raise SupportError("no such account", 404)
            service.unblock(customer, current_user._get_current_object())
        except SupportError as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return self._page(exc.status)
        flash(f"{customer.email} can open tickets again", "success")
        return redirect(url_for(".index"), 303)
