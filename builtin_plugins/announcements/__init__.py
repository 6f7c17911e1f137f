"""announcements: staff tell customers what is going on (see docs/announcements.md)."""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _

from kernel import hookimpl


@hookimpl
def register_blueprints(app):
    from builtin_plugins.announcements.views import bp

    return [bp]


@hookimpl
def register_admin_views(admin):
    from builtin_plugins.announcements.admin import AnnouncementsView

    return [AnnouncementsView()]


@hookimpl
def register_permissions():
    return [("announcements.manage", "Write, schedule, email and delete announcements")]


@hookimpl
def client_menu_items(user):
    from builtin_plugins.announcements import services

    if not user.is_authenticated:
        return []
    return [
        {
            "label": _("Announcements"),
            "url": url_for("announcements.index"),
            "order": 80,
            "badge": len(services.banners(user)),
        }
    ]


@hookimpl
def template_slots(slot, context):
    from builtin_plugins.announcements import views

    user = context.get("user")
    if slot == "dashboard_top" and user is not None and user.is_authenticated:
        return views.banners_html(user)
    if slot == "server_page" and context.get("service") is not None:
        return views.server_notices_html(context["service"])
    return None


@hookimpl
def register_cron_tasks():
    from builtin_plugins.announcements import mailing
    from kernel import CronTask

    return [
        CronTask(
            "announcements.mail",
            "* * * * *",
            mailing.dispatch_due,
            "Email announcements that started and are marked to be emailed",
        )
    ]


@hookimpl
def personal_data(user):
    from builtin_plugins.announcements import privacy

    return privacy.export(user)


@hookimpl
def erase_personal_data(user):
    from builtin_plugins.announcements import privacy

    privacy.erase(user)
