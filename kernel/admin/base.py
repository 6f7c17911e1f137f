"""Flask-Admin wiring: every admin view requires ``admin.access`` plus its own permission."""

from __future__ import annotations

from flask import abort, redirect, request, url_for
from flask_admin import Admin, AdminIndexView, BaseView, expose
from flask_admin.theme import Bootstrap4Theme
from flask_login import current_user


class PermissionMixin:
    """Mixin for admin views: set ``permission`` to require a code beyond ``admin.access``."""

    permission: str | None = None

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


class OverviewView(PermissionMixin, AdminIndexView):
    @expose("/")
    def index(self):
        from kernel.plugins.services import list_plugins

        return self.render("admin/overview.html", plugins=list_plugins())


def init_admin(app) -> Admin:
    from kernel.web.headers import csp_nonce

    admin = Admin(app, name="pteroca", url="/admin", theme=Bootstrap4Theme(),
                  csp_nonce_generator=csp_nonce,
                  index_view=OverviewView(name="Overview", url="/admin"))
    host = app.extensions["pteroca"]
    for impl in host.pm.hook.register_admin_views.get_hookimpls():
        try:
            views = impl.function(**{a: admin for a in impl.argnames if a == "admin"}) or []
            for view in views:
                admin.add_view(view)
        except Exception as exc:  # noqa: BLE001 - a broken admin view faults its plugin only
            app.logger.exception("admin views of %s failed", impl.plugin_name)
            host.problems[impl.plugin_name] = f"register_admin_views failed: {exc}"
    return admin
