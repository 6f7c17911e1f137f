"""pelican: the store's provisioner for a Pelican panel, user sync, reconciliation, import,
and the customers' server tabs.

Hook implementations only; see provisioner.py, sync.py, reconcile.py, importer.py,
client.py and tabs/adapter.py. What Pelican shares with Pterodactyl (HTTP, errors, egg variable rules, product
settings, allocation choice, convergence readings) comes from the panel kit
(``builtin_plugins.panel_kit.api``); docs/pelican.md says what differs.
"""

from __future__ import annotations

from kernel import hookimpl

PLUGIN = "pelican"


@hookimpl
def register_provisioners():
    from builtin_plugins.pelican.provisioner import PelicanProvisioner

    return [PelicanProvisioner()]


@hookimpl
def audit_labels():
    from builtin_plugins.pelican.labels import LABELS

    return LABELS


@hookimpl
def register_permissions():
    return [
        ("pelican.manage", "Test the Pelican connection, reconcile, sync users, import servers")
    ]


@hookimpl
def register_admin_views(admin):
    from builtin_plugins.pelican.admin import PelicanView

    return [PelicanView()]


@hookimpl
def register_cron_tasks():
    from builtin_plugins.pelican import reconcile, sync
    from kernel import CronTask

    return [
        CronTask(
            "pelican.reconcile",
            "9 * * * *",
            reconcile.reconcile_task,
            "Put back Pelican servers changed behind our back; flag what needs a human",
        ),
        CronTask(
            "pelican.sync_users",
            "*/15 * * * *",
            sync.sync_task,
            "Create or link Pelican users for accounts that have none",
        ),
    ]


@hookimpl
def register_commands(cli):
    from builtin_plugins.pelican.commands import pelican

    cli.add_command(pelican)


@hookimpl
def health_checks():
    from builtin_plugins.pelican.catalog import health

    return [("pelican", health)]


@hookimpl
def plugin_enabled(name):
    if name != PLUGIN:
        return
    from builtin_plugins.pelican import panel, sync
    from kernel import enqueue

    if panel.load_settings().configured:
        enqueue(sync.sync_task)  # existing accounts get Pelican users


@hookimpl
def user_registered(user):
    from builtin_plugins.pelican import sync

    sync.on_registered(user)


@hookimpl
def user_updated(user, changes):
    from builtin_plugins.pelican import sync

    sync.on_updated(user, changes)


@hookimpl
def user_password_changed(user, password):
    from builtin_plugins.pelican import sync

    sync.on_password_changed(user, password)


@hookimpl
def register_blueprints(app):
    from builtin_plugins.pelican.tabs.adapter import blueprint

    return [blueprint()]


@hookimpl
def server_tabs(service, user):
    from builtin_plugins.pelican.tabs.adapter import tabs_for

    return tabs_for(service, user)


@hookimpl
def client_menu_items(user):
    from builtin_plugins.pelican.tabs.adapter import menu_items

    return menu_items(user)


@hookimpl
def demo_seed(admin, customer):
    from builtin_plugins.pelican import demo

    return demo.seed(admin, customer)


@hookimpl
def personal_data(user):
    from builtin_plugins.pelican import privacy

    return privacy.export(user)


@hookimpl
def erase_personal_data(user):
    from builtin_plugins.pelican import privacy

    privacy.erase(user)
