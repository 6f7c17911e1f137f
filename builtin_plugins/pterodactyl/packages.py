"""Upgrades and downgrades: check the target fits, then PATCH build, then PATCH startup.

The startup PATCH replaces every variable, so the full environment is sent: the new
product's values, the customer's own values for variables they may edit (read from the
server, so a change made on the startup tab survives) and the slot count.
"""

from __future__ import annotations

from typing import Any

from builtin_plugins.pterodactyl import lookups, placement, product
from builtin_plugins.pterodactyl.client import PanelClient, egg_variables, server_environment
from builtin_plugins.pterodactyl.product import ProductConfig
from builtin_plugins.store.api import PackageRefused, ProvisionError


def _plan_like(new_product, plan):
    """The new product's plan with the same billing as the service's (as the store picks it)."""
    if plan is None:
        return None
    return next(
        (
            p
            for p in new_product.plans
            if p.kind == plan.kind
            and p.period_unit == plan.period_unit
            and p.period_count == plan.period_count
        ),
        plan,
    )


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
    current = server_environment(server)
    kept = {name: current[name] for name in old.editable_variables() if name in current}
    plan = _plan_like(new_product, service.plan)
    env = product.environment(
        new,
        egg_variables(egg),
        slots=service.slots,
        slot_names=product.slot_variables(new, plan),
        kept=kept,
    )
    problems = product.environment_problems(env, egg_variables(egg))
    if problems:
        raise ProvisionError(
            f"{new_product.name}'s settings do not fit the egg: " + " ".join(problems)
        )
    container = server.get("container") or {}
    egg_changed = egg_id != current_egg
    image = new.docker_image or (
        product.docker_image(new, egg) if egg_changed else container.get("image")
    )
    startup = (
        new.startup
        or (egg.get("startup") if egg_changed or old.startup else None)
        or container.get("startup_command")
    )
    client.app.update_server_build(
        server_id,
        limits=new.limits(),
        feature_limits=new.feature_limits(),
        oom_disabled=new.oom_disabled,
    )
    client.app.update_server_startup(
        server_id,
        environment=env,
        egg=egg_id,
        image=image,
        startup=startup,
        skip_scripts=new.skip_scripts,
    )
    if egg_changed:  # another game: the new egg's install script must run
        client.app.reinstall_server(server_id)
