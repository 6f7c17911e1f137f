"""What every admin view is built on: ``admin.access`` plus the view's own permission.

The admin area itself (the views, in which order, from which plugin) is assembled by
:mod:`kernel.admin.area`. The pages use the client area's design: ``admin/pteroca/base.html``
loads the active theme's Bootstrap 5 instead of Flask-Admin's Bootstrap 4 (Flask-Admin's
Bootstrap4Theme is kept only for its model templates and its own scripts, jQuery and select2,
served from ``/admin/static/``).
"""

from __future__ import annotations

from typing import Any

from flask import abort, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_admin import AdminIndexView, BaseView
from flask_login import current_user
from flask_wtf import FlaskForm

from kernel.admin.navigation import build
from kernel.web.shell import admin_menu


class AdminForm(FlaskForm):
    """Flask-Admin forms carrying Flask-WTF's CSRF token (the app's CSRFProtect checks it)."""

    def __init__(self, formdata=None, obj=None, prefix="", **kwargs):
        self._obj = obj  # Flask-Admin's Unique validator reads it
        super().__init__(formdata=formdata, obj=obj, prefix=prefix, **kwargs)


class PermissionMixin:
    """Mixin for admin views: set ``permission`` to require a code beyond ``admin.access``."""

    permission: str | None = None
    form_base_class = AdminForm

    def is_accessible(self) -> bool:
        if not current_user.is_authenticated or not current_user.has_permission("admin.access"):
            return False
        return self.permission is None or current_user.has_permission(self.permission)

    def inaccessible_callback(self, name: str, **kwargs: Any) -> ResponseReturnValue:
        if not current_user.is_authenticated:
            return redirect(url_for("web.login", next=request.full_path))
        abort(403)


class ProtectedBaseView(PermissionMixin, BaseView):
    pass


class ProtectedIndexView(PermissionMixin, AdminIndexView):
    pass


def admin_navigation(admin_view) -> list:
    """The grouped admin menu for the signed-in user (the template helper ``admin_navigation``)."""
    return build(admin_view.admin.menu(), admin_view, admin_menu(), request.path)
