"""Upgrades and downgrades on Pelican: check the target fits where the server is (tags,
memory, disk **and CPU**, ports), then PATCH build (with ``oom_killer`` and the current
primary allocation), then PATCH startup with the full environment; another egg is reinstalled
(Pelican's egg change does not reinstall by itself).
"""

from __future__ import annotations

from typing import Any

from builtin_plugins.panel_kit.api import product_config
from builtin_plugins.pelican import catalog, converge, placement
from builtin_plugins.pelican.client import PelicanClient
from builtin_plugins.pelican.product import ProductConfig
from builtin_plugins.store.api import PackageRefused, ProvisionError

UNITS = {"memory": "MiB", "disk": "MiB", "cpu": "% CPU"}


def check_fits(client: PelicanClient, server: dict[str, Any], new: ProductConfig) -> None:
    """Raise PackageRefused when the server cannot take ``new`` where it is."""
    node = client.app.get_node(int(server["node"]))
    name = node.get("name") or f"#{node['id']}"
    if new.node_ids and int(node["id"]) not in new.node_ids:
        raise PackageRefused(
            f"the server runs on node {name}, which the new plan does not use; "
            "staff must move it first"
        )
    if new.tags and not set(new.tags) & set(node.get("tags") or ()):
        raise PackageRefused(f"the server's node {name} carries none of the new plan's tags")
    limits = server.get("limits") or {}
    for resource, wanted in placement.wanted(new).items():
        growth = int(wanted) - int(limits.get(resource) or 0)
        free = placement.capacity(node, resource) - placement.used(node, resource)
        if growth > 0 and growth > free:
            unit = UNITS[resource]
            raise PackageRefused(
                f"node {name} lacks capacity: {growth} {unit} more {resource} is "
                f"needed and {max(int(free), 0)} {unit} is free"
            )
    ports = (server.get("relationships") or {}).get("allocations") or []
    if len(ports) > new.allocations:
        raise PackageRefused(
            f"the server has {len(ports)} ports and the new plan allows "
            f"{new.allocations}; remove some first"
        )


def change_package(
    client: PelicanClient, service, server_id: int, old, new: ProductConfig, new_product
) -> None:
    server = client.app.get_server(server_id, include=("allocations",))
    check_fits(client, server, new)
    current_egg = int(server["egg"])
    egg = catalog.egg(client, current_egg if current_egg in new.egg_ids else new.egg_id)
    try:
        startup = product_config.new_startup(old, new, server, egg, service, new_product)
    except product_config.ConfigError as exc:
        raise ProvisionError(str(exc)) from None
    converge.set_build(client, server_id, new)
    client.app.update_server_startup(server_id, **startup, skip_scripts=new.skip_scripts)
    if startup["egg"] != current_egg:  # another game: run the new egg's install script
        client.app.reinstall_server(server_id)
