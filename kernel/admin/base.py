"""Flask-Admin wiring: every admin view requires ``admin.access`` plus its own permission.

The pages use the client area's design: ``admin/pteroca/base.html`` loads the active theme's
Bootstrap 5 instead of Flask-Admin's Bootstrap 4 (Flask-Admin's Bootstrap4Theme is kept only for
its model templates and its own scripts, jQuery and select2, served from ``/admin/static/``).
"""

from __future__ import annotations

from flask import abort, redirect, request, url_for
from flask_admin import Admin, AdminIndexView, BaseView
from flask_admin.theme import Bootstrap4Theme
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

    def inaccessible_callback(self, name, **kwargs):
        if not current_user.is_authenticated:
            return redirect(url_for("web.login", next=request.full_path))
        abort(403)


class ProtectedBaseView(PermissionMixin, BaseView):
    pass


class ProtectedIndexView(PermissionMixin, AdminIndexView):
    pass


def kernel_views() -> list[BaseView]:
    from kernel.admin.logs import audit_log_view, email_log_view
    from kernel.admin.plugins import PluginsView
    from kernel.admin.privacy import PrivacyView
    from kernel.admin.settings import SettingsView
    from kernel.admin.themes import ThemesView
    from kernel.admin.user_page import UserPageView
    from kernel.admin.users import RoleAdmin, UserAdmin

    from kernel.admin.jobs import JobsView
    from kernel.admin.payments import PaymentsView, WalletsView

    return [UserAdmin(), UserPageView(), RoleAdmin(), PrivacyView(), PluginsView(), ThemesView(), SettingsView(),
            PaymentsView(name="Payments", endpoint="payments", url="/admin/payments",
                         category="Money"),
            WalletsView(name="Wallet adjustments", endpoint="wallets", url="/admin/wallets",
                        category="Money"),
            audit_log_view(), email_log_view(), JobsView()]


def admin_navigation(admin_view) -> list:
    """The grouped admin menu for the signed-in user (the template helper ``admin_navigation``)."""
    return build(admin_view.admin.menu(), admin_view, admin_menu(), request.path)


def init_admin(app) -> Admin:
    from kernel.admin.overview import OverviewView
    from kernel.web.headers import csp_nonce

    admin = Admin(app, name="pteroca", url="/admin",
                  theme=Bootstrap4Theme(base_template="admin/pteroca/base.html"),
                  csp_nonce_generator=csp_nonce,
                  index_view=OverviewView(name="Overview", url="/admin"))
    for view in kernel_views():
        admin.add_view(view)
    app.jinja_env.globals["admin_navigation"] = admin_navigation
    from kernel.hooks import KERNEL, answers, plugin_host

    host = plugin_host(app)
    for name, views, error in answers("register_admin_views", admin=admin):
        try:
            if error is not None:
                raise error
            for view in views or []:
                admin.add_view(view)
        except Exception as exc:  # noqa: BLE001 - a broken admin view faults its plugin only
            if name == KERNEL:
                raise
            from kernel.plugins.loader import _fault

            _fault(host, name, f"register_admin_views failed: {type(exc).__name__}: {exc}")
    return admin
