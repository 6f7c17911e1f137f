"""support: customers open tickets, staff answer them from a queue (see docs/support.md)."""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _

from kernel import hookimpl


@hookimpl
def register_blueprints(app):
    from builtin_plugins.support.views import bp

    return [bp]


@hookimpl
def register_admin_views(admin):
    from builtin_plugins.support.admin import TicketsView
    from builtin_plugins.support.admin_config import BlocksView, CategoryAdmin, SavedReplyAdmin

    return [TicketsView(), SavedReplyAdmin(), CategoryAdmin(), BlocksView()]


@hookimpl
def register_permissions():
    return [
        (
            "support.tickets",
            "Answer support tickets: the queue, replies, internal notes, "
            "assignment, saved replies, blocking customers",
        ),
        ("support.manage", "Edit the support ticket categories"),
    ]


@hookimpl
def client_menu_items(user):
    from builtin_plugins.support import queue

    if not user.is_authenticated:
        return []
    return [
        {
            "label": _("Support"),
            "url": url_for("support.index"),
            "order": 70,
            "badge": queue.customer_unread_count(user.id),
        }
    ]


@hookimpl
def admin_menu_items(user):
    from builtin_plugins.support import access, queue

    badge = queue.staff_unread_count(user.id) if access.is_staff(user) else 0
    return [
        {
            "label": "Tickets",
            "url": "/admin/support/tickets/",
            "permission": access.STAFF_PERMISSION,
            "order": 10,
            "badge": badge,
        }
    ]


@hookimpl
def server_actions(service, user):
    if service.user_id != user.id:  # a subuser's view: tickets are about one's own servers
        return []
    return [
        {
            "label": _("Get help"),
            "url": url_for("support.new", server=service.id),
            "icon": "life-preserver",
            "order": 50,
        }
    ]


@hookimpl
def register_cron_tasks():
    from builtin_plugins.support import tickets
    from kernel import CronTask

    return [
        CronTask(
            "support.autoclose",
            "15 3 * * *",
            tickets.autoclose,
            "Close tickets that waited on the customer for autoclose_days",
        )
    ]


@hookimpl
def health_checks():
    from builtin_plugins.support import attachments

    return [("attachments_folder", attachments.health)]


@hookimpl
def demo_seed(admin, customer):
    from builtin_plugins.support import demo

    return demo.seed()


@hookimpl
def personal_data(user):
    from builtin_plugins.support import privacy

    return privacy.export(user)


@hookimpl
def erase_personal_data(user):
    from builtin_plugins.support import privacy

    privacy.erase(user)
