"""The kernel's own hook implementations, registered first under the name ``kernel``."""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _

from kernel import hookimpl
from kernel.accounts.permissions import KERNEL_PERMISSIONS


@hookimpl(tryfirst=True)
def register_permissions():
    return KERNEL_PERMISSIONS


@hookimpl(tryfirst=True)
def client_menu_items(user):
    return [{"label": _("Dashboard"), "url": url_for("web.dashboard"), "order": 0}]


@hookimpl
def register_cron_tasks():
    from kernel.cron import CronTask
    from kernel.security.services import rescan_enabled

    return [CronTask("kernel.rescan_plugins", "17 3 * * *", rescan_enabled,
                     "Rescan enabled plugins; block any with a new CRITICAL finding")]


@hookimpl
def register_hookspecs():
    return []
