"""pterodactyl: the store's provisioner for a Pterodactyl panel, user sync, reconciliation.

Hook implementations only; see provisioner.py, sync.py, reconcile.py, importer.py and
client.py (the panel client other modules and plugins use).
"""

from __future__ import annotations

from kernel import hookimpl

PLUGIN = "pterodactyl"


@hookimpl
def register_provisioners():
    from builtin_plugins.pterodactyl.provisioner import PterodactylProvisioner

    return [PterodactylProvisioner()]


@hookimpl
def audit_labels():
    from builtin_plugins.pterodactyl.labels import LABELS

    return LABELS


@hookimpl
def register_permissions():
    return [
        ("pterodactyl.manage", "Test the panel connection, reconcile, sync users, import servers")
    ]


@hookimpl
def register_admin_views(admin):
    from builtin_plugins.pterodactyl.admin import PickerView, PterodactylView

    return [PterodactylView(), PickerView()]


@hookimpl
def register_cron_tasks():
    from builtin_plugins.pterodactyl import reconcile, sync
    from kernel import CronTask

    return [
        CronTask(
            "pterodactyl.reconcile",
            "7 * * * *",
            reconcile.reconcile_task,
            "Put back servers changed in the panel behind our back; flag what needs a human",
        ),
        CronTask(
            "pterodactyl.sync_users",
            "*/15 * * * *",
            sync.sync_task,
            "Create or link panel users for accounts that have none",
        ),
    ]


@hookimpl
def register_commands(cli):
    from builtin_plugins.pterodactyl.commands import pterodactyl

    cli.add_command(pterodactyl)


@hookimpl
def health_checks():
    from builtin_plugins.pterodactyl.catalog import reachability

    return [("panel", reachability)]


@hookimpl
def plugin_enabled(name):
    if name != PLUGIN:
        return
    from builtin_plugins.pterodactyl import sync
    from kernel import enqueue

    enqueue(sync.sync_task)  # existing accounts get panel users (once the panel is set up)


@hookimpl
def user_registered(user):
    from builtin_plugins.pterodactyl import sync

    sync.on_registered(user)


@hookimpl
def user_updated(user, changes):
    from builtin_plugins.pterodactyl import sync

    sync.on_updated(user, changes)


@hookimpl
def user_password_changed(user, password):
    from builtin_plugins.pterodactyl import sync

    sync.on_password_changed(user, password)


@hookimpl
def register_blueprints(app):
    from builtin_plugins.pterodactyl.tabs.adapter import blueprint

    return [blueprint()]


@hookimpl
def server_tabs(service, user):
    from builtin_plugins.pterodactyl.tabs.adapter import tabs_for

    return tabs_for(service, user)


@hookimpl
def server_nodes(services):
    from builtin_plugins.pterodactyl import nodes

    return nodes.server_nodes(services)


@hookimpl
def known_nodes():
    from builtin_plugins.pterodactyl import nodes

    return nodes.known_nodes()


@hookimpl
def client_menu_items(user):
    from builtin_plugins.pterodactyl.tabs.adapter import menu_items

    return menu_items(user)


@hookimpl
def demo_seed(admin, customer):
    from builtin_plugins.pterodactyl import demo

    return demo.seed(admin, customer)


@hookimpl
def personal_data(user):
    from builtin_plugins.pterodactyl import privacy

    return privacy.export(user)


@hookimpl
def erase_personal_data(user):
    from builtin_plugins.pterodactyl import privacy

    privacy.erase(user)
