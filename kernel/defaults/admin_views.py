"""The admin area's own views: users, roles, privacy, plugins, themes, settings, money, logs, jobs.

A plugin's view with the same endpoint replaces one of these (:mod:`kernel.admin.area`).
The view modules are imported when the hook is called, that is when the admin area is built:
commands that never serve a request (``pteroca plugin ...``) build their app without it and
must not pay for loading Flask-Admin.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernel import hookimpl

if TYPE_CHECKING:
    from flask_admin import Admin, BaseView


@hookimpl(trylast=True)
def register_admin_views(admin: Admin) -> list[BaseView]:
    from kernel.admin.jobs import JobsView
    from kernel.admin.logs import audit_log_view, email_log_view
    from kernel.admin.payments import PaymentsView, WalletsView
    from kernel.admin.plugins import PluginsView
    from kernel.admin.privacy import PrivacyView
    from kernel.admin.settings import SettingsView
    from kernel.admin.themes import ThemesView
    from kernel.admin.user_page import UserPageView
    from kernel.admin.users import RoleAdmin, UserAdmin

    return [
        UserAdmin(),
        UserPageView(),
        RoleAdmin(),
        PrivacyView(),
        PluginsView(),
        ThemesView(),
        SettingsView(),
        PaymentsView(name="Payments", endpoint="payments", url="/admin/payments", category="Money"),
        WalletsView(
            name="Wallet adjustments", endpoint="wallets", url="/admin/wallets", category="Money"
        ),
        audit_log_view(),
        email_log_view(),
        JobsView(),
    ]
