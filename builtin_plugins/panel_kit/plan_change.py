"""A change of plan: the new plan like the old one, and the startup a server takes with it.

Both panel plugins' ``packages`` call these when a customer moves a server to another
product: the new product's settings, the customer's own values for what they may edit, the
slot count. Published through ``product_config``.
"""

from __future__ import annotations

from typing import Any

from builtin_plugins.panel_kit.product_schema import ConfigError
from builtin_plugins.panel_kit.variable_settings import (
    environment,
    environment_problems,
    slot_variables,
)


def plan_like(new_product, plan):
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


def new_startup(
    old: Any, new: Any, server: dict[str, Any], egg: dict[str, Any], service, new_product
) -> dict[str, Any]:
    """The startup PATCH of a plan change (``environment``, ``egg``, ``image``, ``startup``):
    the new product's values, the customer's own values for variables they may edit (read
    from the server, so a change made on the startup tab survives) and the slot count.
    ConfigError naming the new product when the egg's rules refuse the result."""
    from builtin_plugins.panel_kit.application import egg_variables, server_environment
    from builtin_plugins.panel_kit.product_config import docker_image

    egg_id = int(egg["id"])
    current = server_environment(server)
    kept = {name: current[name] for name in old.editable_variables() if name in current}
    variables = egg_variables(egg)
    env = environment(
        new,
        variables,
        slots=service.slots,
        slot_names=slot_variables(new, plan_like(new_product, service.plan)),
        kept=kept,
    )
    problems = environment_problems(env, variables)
    if problems:
        raise ConfigError(
            f"{new_product.name}'s settings do not fit the egg: " + " ".join(problems)
        )
    container = server.get("container") or {}
    egg_changed = egg_id != int(server["egg"])
    image = new.docker_image or (docker_image(new, egg) if egg_changed else container.get("image"))
    startup = (
        new.startup
        or (egg.get("startup") if egg_changed or old.startup else None)
        or container.get("startup_command")
    )
    return {"environment": env, "egg": egg_id, "image": image, "startup": startup}
