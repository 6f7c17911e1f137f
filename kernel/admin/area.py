"""The admin area: Flask-Admin with the views every ``register_admin_views`` answered.

Flask-Admin's Bootstrap4Theme serves Bootstrap 4 from Flask-Admin's own static
folder (``/admin/static/``), never from a CDN; our pages stay same-origin.

The kernel's own views are the ``trylast`` default implementation of the hook
(:mod:`kernel.defaults.admin_views`). A plugin's view whose endpoint is a kernel view's
replaces that view (same place in the menu); it must build on :class:`PermissionMixin`, so a
replacement is never less protected than what it replaces. Two plugins claiming one endpoint,
a view that is not a Flask-Admin view, or an implementation that raises fault that plugin
only; the rest of the admin area is built as usual.
"""

from __future__ import annotations

from flask import Flask
from flask_admin import Admin, BaseView
from flask_admin.theme import Bootstrap4Theme

from kernel.admin.base import PermissionMixin, admin_navigation
from kernel.admin.overview import OverviewView
from kernel.hooks import answers, is_kernel
from kernel.plugin_lifecycle.loader import fault_plugin
from kernel.plugins.host import plugin_host
from kernel.web.headers import csp_nonce

HOOK = "register_admin_views"


def _plugin_views(app: Flask, offered: list[tuple[str, list]]) -> dict[str, tuple[str, BaseView]]:
    """``{endpoint: (plugin, view)}`` of the plugins' views; faults a plugin whose answer is bad."""
    host = plugin_host(app)
    claimed: dict[str, tuple[str, BaseView]] = {}
    for name, views in offered:
        if is_kernel(name):
            continue
        mine: dict[str, tuple[str, BaseView]] = {}
        problem = None
        for view in views:
            if not isinstance(view, BaseView):
                problem = f"{view!r} is not a Flask-Admin view"
            elif view.endpoint in claimed or view.endpoint in mine:
                owner = claimed.get(view.endpoint, (name,))[0]
                problem = f"the admin endpoint {view.endpoint!r} is taken by {owner}"
            else:
                mine[view.endpoint] = (name, view)
                continue
            break
        if problem:
            fault_plugin(host, name, f"{HOOK} failed: {problem}")
        else:
            claimed.update(mine)
    return claimed


def init_admin(app: Flask) -> Admin:
    admin = Admin(
        app,
        name="pteroca",
        url="/admin",
        theme=Bootstrap4Theme(base_template="admin/pteroca/base.html"),
        csp_nonce_generator=csp_nonce,
        index_view=OverviewView(name="Overview", url="/admin"),
    )
    app.jinja_env.globals["admin_navigation"] = admin_navigation
    host = plugin_host(app)
    offered: list[tuple[str, list]] = []
    for name, views, error in answers(HOOK, admin=admin):
        if error is not None:
            fault_plugin(host, name, f"{HOOK} failed: {type(error).__name__}: {error}")
        else:
            offered.append((name, list(views or [])))
    claimed = _plugin_views(app, offered)
    kernel_views = [view for name, views in offered if is_kernel(name) for view in views]
    for view in kernel_views:  # the kernel's first (the menu keeps its order), or their stand-in
        replacement = claimed.pop(view.endpoint, None)
        if replacement is None:
            admin.add_view(view)
            continue
        plugin, new_view = replacement
        if not isinstance(new_view, PermissionMixin):
            fault_plugin(
                host,
                plugin,
                f"{HOOK} failed: {type(new_view).__name__} replaces the "
                f"kernel's {view.endpoint!r} view without PermissionMixin",
            )
            admin.add_view(view)
            continue
        app.logger.info("admin view %r is %s's", view.endpoint, plugin)
        admin.add_view(new_view)
    for plugin, view in claimed.values():
        try:
            admin.add_view(view)
        except Exception as exc:  # noqa: BLE001 - a broken admin view faults its plugin only
            fault_plugin(host, plugin, f"{HOOK} failed: {type(exc).__name__}: {exc}")
    return admin
