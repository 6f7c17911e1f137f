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
    from kernel.payments.views import balance_label

    return [{"label": _("Dashboard"), "url": url_for("web.dashboard"), "order": 0},
            {"label": _("Wallet") + f" · {balance_label(user)}", "url": url_for("wallet.index"),
             "order": 20},
            {"label": _("Account"), "url": url_for("web.account"), "order": 900}]


@hookimpl(tryfirst=True)
def dashboard_widgets(user):
    from markupsafe import Markup

    from kernel.payments.views import balance_label
    from kernel.web.widgets import account_widgets

    balance = [{"title": _("Balance"), "order": 10,
             "html": Markup('<p class="fs-3 mb-1" data-testid="balance">{}</p><a href="{}">{}</a>').format(
                 balance_label(user), url_for("wallet.index"), _("Top up"))}]
    return balance + account_widgets(user)


@hookimpl(tryfirst=True)
def template_slots(slot, context):
    if slot == "header":
        from kernel.web.impersonation_views import banner

        return banner()
    return None


@hookimpl
def register_cron_tasks():
    from kernel.accounts import limit_storage, sessions
    from kernel.cron import CronTask
    from kernel.outbox import run_dispatcher
    from kernel.payments import converge
    from kernel.security.services import rescan_enabled

    from kernel.accounts.privacy.erasure import run_due
    from kernel.accounts.privacy.retention import prune_logs

    return [CronTask("kernel.rescan_plugins", "17 3 * * *", rescan_enabled,
                     "Rescan enabled plugins; block any with a new CRITICAL finding"),
            CronTask("kernel.outbox", "* * * * *", run_dispatcher,
                     "Hand jobs left in the outbox (their writer died) to the queue"),
            CronTask("payments.converge", "* * * * *", converge.run,
                     "Ask providers about open payments and apply webhook events left waiting"),
            CronTask("kernel.prune_login_sessions", "23 4 * * *", sessions.prune,
                     "Delete login sessions that were logged out or expired"),
            CronTask("kernel.prune_rate_limits", "*/15 * * * *", limit_storage.prune,
                     "Delete rate-limit counters whose window ended"),
            CronTask("kernel.privacy", "*/10 * * * *", run_due,
                     "Carry out due account erasures; delete expired data export files"),
            CronTask("kernel.prune_logs", "40 3 * * *", prune_logs,
                     "Delete audit and email log entries older than their retention setting")]


@hookimpl
def register_hookspecs():
    return []
