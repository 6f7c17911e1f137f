"""Users and roles CRUD. Nobody grants a permission they do not hold themselves."""

from __future__ import annotations

from flask import flash, url_for
from flask_admin.contrib.sqla import ModelView
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from wtforms import EmailField, PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, ValidationError

from kernel import audit
from kernel.accounts.models import Role, User
from kernel.accounts.permissions import can_grant
from kernel.accounts.services import AccountError, create_user, email_taken, valid_email
from kernel.admin.base import AdminForm, PermissionMixin
from kernel.admin.keyset import PerPageMixin
from kernel.extensions import db


def role_names() -> list[tuple[str, str]]:
    return [(r.name, r.name) for r in db.session.scalars(db.select(Role).order_by(Role.name))]


class UserCreateForm(AdminForm):
    email = EmailField(_l("Email"), validators=[DataRequired()])
    name = StringField(_l("Name"))
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(min=8)])
    role = SelectField(_l("Role"), default="customer")


class UserAdmin(PermissionMixin, PerPageMixin, ModelView):
    permission = "admin.users"
    can_view_details = False
    can_export = False
    can_delete = False  # accounts hold money and servers: block instead
    column_list = ("email", "name", "role_name", "is_blocked", "created_at")
    column_labels = {"role_name": "Role", "is_blocked": "Blocked", "created_at": "Joined"}
    column_formatters = {
        "email": lambda v, c, m, p: Markup('<a href="{}">{}</a>').format(
            url_for("user_page.page", user_id=m.id), m.email
        ),
        "created_at": lambda v, c, m, p: (
            m.created_at.strftime("%Y-%m-%d %H:%M") if m.created_at else ""
        ),
    }
    column_searchable_list = ("email", "name")
    column_filters = ("role_name", "is_blocked")
    column_default_sort = ("id", True)
    form_columns = ("email", "name", "role", "is_blocked")
    form_args = {"role": {"allow_blank": False, "get_label": "name"}}

    def __init__(self):
        super().__init__(
            User, db, name="Users", endpoint="users", url="/admin/users", category="Accounts"
        )

    def get_create_form(self):
        return UserCreateForm

    def create_form(self, obj=None):
        form = super().create_form(obj)
        form.role.choices = role_names()
        return form

    def create_model(self, form):
        role = db.session.get(Role, form.role.data)
        if role is None or not can_grant(current_user, role.permissions or []):
            flash(f"you cannot give the role {form.role.data!r}", "error")
            return False
        try:
            user = create_user(
                form.email.data,
                form.password.data,
                name=form.name.data or "",
                role=form.role.data,
                actor=current_user.email,
            )
        except AccountError as exc:
            flash(str(exc), "error")
            return False
        return user

    def on_model_change(self, form, model, is_created):
        if is_created:
            return
        try:
            model.email = valid_email(model.email or "")
        except AccountError as exc:
            raise ValidationError(str(exc)) from exc
        if email_taken(model.email, exclude=model):
            raise ValidationError("another account already uses this email")
        if not can_grant(current_user, model.role.permissions if model.role else []):
            raise ValidationError(f"you cannot give the role {model.role_name!r}")
        if model.id == current_user.id and (
            model.is_blocked or not model.has_permission("admin.users")
        ):
            raise ValidationError("you cannot block yourself or take away your own admin access")
        audit.record(
            "user.updated",
            model.email,
            {"email": model.email, "role": model.role_name, "blocked": model.is_blocked},
            commit=False,
        )

    def update_model(self, form, model):
        # Changing an account whose role outranks yours would let you lock its owner out.
        if model.role and not can_grant(current_user, model.role.permissions or []):
            flash(
                "you cannot change an account whose role has permissions you do not hold", "error"
            )
            return False
        return super().update_model(form, model)


class RoleAdmin(PermissionMixin, ModelView):
    permission = "admin.users"
    can_view_details = False
    can_export = False
    column_list = ("name", "description", "permissions")
    column_formatters = {"permissions": lambda v, c, m, p: ", ".join(m.permissions or [])}
    form_columns = ("name", "description", "permissions")
    form_overrides = {"permissions": SelectMultipleField}
    form_args = {"name": {"validators": [DataRequired(), Length(max=64)]}}

    def __init__(self):
        super().__init__(
            Role, db, name="Roles", endpoint="roles", url="/admin/roles", category="Accounts"
        )

    def _choices(self, form, obj=None):
        from kernel.accounts.permissions import all_permissions

        known = {"*": "Everything (superuser)", **all_permissions()}
        for code in (obj.permissions if obj is not None else []) or []:
            known.setdefault(code, "(no longer registered)")
        form.permissions.choices = [(code, f"{code}: {text}") for code, text in known.items()]

    def create_form(self, obj=None):
        form = super().create_form(obj)
        self._choices(form)
        return form

    def edit_form(self, obj=None):
        form = super().edit_form(obj)
        del form.name  # the primary key: users refer to it
        self._choices(form, obj)
        return form

    def on_model_change(self, form, model, is_created):
        model.permissions = list(form.permissions.data or [])
        if not can_grant(current_user, model.permissions):
            raise ValidationError("you cannot grant permissions you do not hold")
        if (
            not is_created
            and current_user.role_name == model.name
            and not ({"*", "admin.users"} & set(model.permissions))
        ):
            raise ValidationError("you cannot take away your own admin access")
        audit.record(
            "role.created" if is_created else "role.updated",
            model.name,
            {"permissions": model.permissions},
            commit=False,
        )

    def on_model_delete(self, model):
        if db.session.scalar(db.select(User.id).where(User.role_name == model.name).limit(1)):
            raise ValidationError(f"role {model.name!r} is still given to users")
        if not can_grant(current_user, model.permissions or []):
            raise ValidationError("you cannot delete a role with permissions you do not hold")
        audit.record("role.deleted", model.name, commit=False)
