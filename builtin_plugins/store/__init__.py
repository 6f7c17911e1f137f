"""store: sells plans and drives provisioners through hooks it defines itself."""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _
from markupsafe import Markup

from kernel import hookimpl

STORE_PAGES = ("store", "servers")  # blueprints whose pages load the store's assets


@hookimpl
def audit_labels():
    from builtin_plugins.store.labels import LABELS

    return LABELS


@hookimpl
def register_hookspecs():
    from builtin_plugins.store import hookspecs

    return [hookspecs]


@hookimpl
def register_provisioners():
    from builtin_plugins.store.provisioning import ManualProvisioner

    return [ManualProvisioner()]


@hookimpl
def register_permissions():
    return [("store.manage", "Manage the catalog, servers and vouchers")]


@hookimpl
def register_cron_tasks():
    from builtin_plugins.store import reconciler, sweep
    from kernel import CronTask

    return [
        CronTask(
            "store.lifecycle",
            "* * * * *",
            sweep.run_lifecycle,
            "Renew, charge on demand or suspend servers past their expiry",
        ),
        CronTask(
            "store.cleanup",
            "30 3 * * *",
            sweep.run_cleanup,
            "Delete servers left suspended for non-payment; warn before",
        ),
        CronTask(
            "store.converge",
            "* * * * *",
            reconciler.run_due,
            "Drive servers whose panel does not match their desired state (retries with "
            "backoff, then alerts staff)",
        ),
    ]


@hookimpl
def health_checks():
    from builtin_plugins.store import reconciler

    return [("servers in sync", reconciler.health)]


@hookimpl
def register_blueprints(app):
    from builtin_plugins.store.views import bp as store
    from builtin_plugins.store.views_servers import bp as servers

    return [store, servers]


@hookimpl
def register_webhook_events():
    from builtin_plugins.store.events import EVENTS

    return EVENTS


@hookimpl
def register_api_blueprints():
    from builtin_plugins.store.rest import bp
    from builtin_plugins.store.rest_admin import bp as admin

    return [bp, admin]


@hookimpl
def register_admin_views(admin):
    from builtin_plugins.store.admin_catalog import CategoryAdmin, ProductsView
    from builtin_plugins.store.admin_servers import ServersView
    from builtin_plugins.store.admin_sync import SyncView
    from builtin_plugins.store.admin_vouchers import VoucherAdmin, VoucherUsageAdmin

    return [
        CategoryAdmin(),
        ProductsView(),
        ServersView(),
        SyncView(),
        VoucherAdmin(),
        VoucherUsageAdmin(),
    ]


@hookimpl
def client_menu_items(user):
    return [
        {"label": _("Servers"), "url": url_for("servers.index"), "order": 10},
        {"label": _("Store"), "url": url_for("store.store_index"), "order": 15},
    ]


@hookimpl
def dashboard_widgets(user):
    from builtin_plugins.store.views_servers import widget_html

    return [{"title": _("My servers"), "order": 20, "html": Markup(widget_html(user))}]


@hookimpl
def server_tabs(service, user):
    return [
        {
            "id": "overview",
            "label": _("Overview"),
            "order": 0,
            "url": url_for("servers.show", service_id=service.id),
        },
        {
            "id": "settings",
            "label": _("Settings"),
            "order": 900,
            "url": url_for("servers.settings", service_id=service.id),
        },
    ]


@hookimpl
def template_slots(slot, context):
    from builtin_plugins.store import views

    if slot == "wallet_topup_form":
        return Markup(views.topup_voucher_field(context.get("user")))
    if slot == "wallet_aside":
        return Markup(views.redeem_box(context.get("user")))
    if slot == "landing":
        return Markup(views.landing_products())
    if slot == "admin_overview":
        return views.admin_overview_cards(context.get("user"))
    return None


@hookimpl
def extra_css_urls(request):
    if request.blueprint in STORE_PAGES or request.endpoint in ("web.dashboard", "web.landing"):
        return [url_for("web.plugin_static", name="store", filename="store.css")]
    return []


@hookimpl
def extra_js_urls(request):
    if request.blueprint == "store":
        return [url_for("web.plugin_static", name="store", filename="store.js")]
    if request.blueprint == "servers":  # live status (htmx, from the theme) and copy buttons
        return [
            url_for("web.theme_static", filename="vendor/htmx/htmx.min.js"),
            url_for("web.plugin_static", name="store", filename="server.js"),
        ]
    return []


@hookimpl
def topup_adjustment(user, amount, form):
    from builtin_plugins.store.topups import adjustment
    from kernel import site_setting

    return adjustment(user, amount, form.get("voucher", ""), site_setting("currency"))


@hookimpl
def payment_settled(payment):
    from builtin_plugins.store.topups import record_settled

    record_settled(payment)


@hookimpl
def veto_purchase(user, product, plan):
    from kernel import debt_refusal as refusal

    return refusal(user.id)  # a customer who owes money (a chargeback) settles it first


@hookimpl
def veto_renewal(service, user):
    from kernel import debt_refusal as refusal

    return refusal(user.id) if user is not None else None


# tryfirst: the servers go before the plugins that clean up after them (the Pterodactyl user)
@hookimpl(tryfirst=True)
def personal_data(user):
    from builtin_plugins.store import privacy

    return privacy.export(user)


@hookimpl(tryfirst=True)
def erase_personal_data(user):
    from builtin_plugins.store import privacy

    privacy.erase(user)
