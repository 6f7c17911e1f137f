"""Upgrades and downgrades: check the target fits, then PATCH build, then PATCH startup.

The startup PATCH replaces every variable, so the full environment is sent: the new
product's values, the customer's own values for variables they may edit (read from the
server, so a change made on the startup tab survives) and the slot count.
"""

from __future__ import annotations

from typing import Any

from builtin_plugins.panel_kit.api import product_config
from builtin_plugins.pterodactyl import lookups, placement
from builtin_plugins.pterodactyl.client import PanelClient
from builtin_plugins.pterodactyl.product import ProductConfig
from builtin_plugins.store.api import PackageRefused, ProvisionError


def check_fits(client: PanelClient, server: dict[str, Any], new: ProductConfig) -> None:
    """Raise PackageRefused when the server cannot take ``new`` where it is."""
    node = client.app.get_node(int(server["node"]))
    name = node.get("name") or f"#{node['id']}"
    if new.node_ids and int(node["id"]) not in new.node_ids:
        raise PackageRefused(
            f"the server runs on node {name}, which the new plan does not use; "
            "staff must move it first"
        )
    if new.location_ids and int(node.get("location_id") or 0) not in new.location_ids:
        raise PackageRefused(f"the server's node {name} is in a location the new plan does not use")
    limits = server.get("limits") or {}
    for resource, wanted in (("memory", new.memory), ("disk", new.disk)):
        growth = int(wanted) - int(limits.get(resource) or 0)
        free = placement.capacity(node, resource) - placement.used(node, resource)
        if growth > 0 and growth > free:
            raise PackageRefused(
                f"node {name} lacks capacity: {growth} MiB more {resource} is "
                f"needed and {max(int(free), 0)} MiB is free"
            )
    allocations = (server.get("relationships") or {}).get("allocations") or []
    if len(allocations) > new.allocations:
        raise PackageRefused(
            f"the server has {len(allocations)} ports and the new plan allows "
            f"{new.allocations}; remove some first"
        )


def change_package(
    client: PanelClient,
    service,
    server_id: int,
    old: ProductConfig,
    new: ProductConfig,
    new_product,
) -> None:
    server = client.app.get_server(server_id, include=("allocations",))
    check_fits(client, server, new)
    current_egg = int(server["egg"])
    egg_id = current_egg if current_egg in new.egg_ids else new.egg_id
    egg = lookups.egg_with_variables(client, new.nest_id, egg_id)
    try:
        startup = product_config.new_startup(old, new, server, egg, service, new_product)
    except product_config.ConfigError as exc:
        raise ProvisionError(str(exc)) from None
    client.app.update_server_build(
        server_id,
        limits=new.limits(),
        feature_limits=new.feature_limits(),
        oom_disabled=new.oom_disabled,
    )
    client.app.update_server_startup(server_id, **startup, skip_scripts=new.skip_scripts)
    if egg_id != current_egg:  # another game: the new egg's install script must run
        client.app.reinstall_server(server_id)
