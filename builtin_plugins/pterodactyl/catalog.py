"""What the store's product form and checkout need from the panel: settings checks against
the real egg, the customer's checkout choices, and whether the panel answers.

Egg and location lookups are cached for a minute, and a panel that does not answer is
not asked again for half a minute, so the product list and checkout stay quick when the
panel is away (the health column says so instead).
"""

from __future__ import annotations

import re
from typing import Any

from builtin_plugins.panel_kit.api import errors, product_config, rules
from builtin_plugins.pterodactyl import lookups, panel, product
from builtin_plugins.pterodactyl.client import PanelClient, egg_variables
from kernel import SettingSpec

CHOICE_SUFFIX = re.compile(r" \(#\d+\)$")  # what egg_label and location_label append


def _quick_client() -> PanelClient | None:
    return lookups.LOOKUPS.quick_client(panel.load_settings(), panel.make_client)


def _mark_down(client: PanelClient) -> None:
    lookups.LOOKUPS.mark_down(client.url)


def reachability() -> str | None:
    """None when the application API answers, else the problem (for the products list)."""
    settings = panel.load_settings()
    if not settings.configured:
        return "the panel URL and application key are not set"
    with panel.make_client(settings, quick=True) as client:
        try:
            client.app.t.request("GET", "/locations", params={"per_page": 1})
        except errors.PanelError as exc:
            if isinstance(exc, errors.PanelUnreachable):
                _mark_down(client)
            return errors.describe(exc)
    return None


def settings_problems(values: dict[str, Any]) -> list[str]:
    """Problems with a product's settings: their form first, then (when the panel answers)
    whether the nest, eggs, variables, nodes and locations exist and the values pass the
    egg's rules."""
    try:
        config = product.parse(values)
    except product.ConfigError as exc:
        return [str(exc)]
    if (
        config.allocation_ip
        and not config.node_ids
        and panel.load_settings().node_policy == "panel_deploy"
    ):
        return [
            "pin to IP or alias: the panel_deploy node policy lets the panel choose the "
            "allocation; name the nodes in the product or choose another policy"
        ]
    client = _quick_client()
    if client is None:
        return []
    with client:
        try:
            return _panel_problems(client, config)
        except errors.PanelUnreachable:
            _mark_down(client)
            return []
        except errors.PanelError:
            return []  # auth or permission trouble: the connection test says what


def _panel_problems(client: PanelClient, config: product.ProductConfig) -> list[str]:
    problems: list[str] = []
    eggs: dict[int, dict[str, Any]] = {}
    for egg_id in config.egg_ids:
        try:
            eggs[egg_id] = lookups.egg_with_variables(client, config.nest_id, egg_id)
        except errors.NotFound:
            problems.append(f"egg {egg_id} is not in nest {config.nest_id}")
    problems += product_config.settings_variable_problems(config, eggs, egg_variables)
    if config.node_ids:
        listed = lookups.cached((client.url, "nodes"), client.app.list_nodes)
        nodes = {int(n["id"]) for n in listed}
        missing = [str(i) for i in config.node_ids if i not in nodes]
        if missing:
            problems.append(f"the panel has no node {', '.join(missing)}")
    if config.location_ids:
        found = {
            int(x["id"])
            for x in lookups.cached((client.url, "locations"), client.app.list_locations)
        }
        missing = [str(i) for i in config.location_ids if i not in found]
        if missing:
            problems.append(f"the panel has no location {', '.join(missing)}")
    return problems


def egg_label(egg: dict[str, Any] | None, egg_id: int) -> str:
    return f"{(egg or {}).get('name') or 'Egg'} (#{egg_id})"


def location_label(location: dict[str, Any]) -> str:
    name = location.get("long") or location.get("short") or "Location"
    return f"{name} (#{location['id']})"


def readable(labels: tuple[str, ...]) -> tuple[str, ...]:
    """Labels without their ``(#id)``, unless two would read the same (then the id stays)."""
    names = tuple(CHOICE_SUFFIX.sub("", label) for label in labels)
    return tuple(
        label if names.count(name) > 1 else name for label, name in zip(labels, names, strict=True)
    )


def checkout_fields(product_row) -> list[SettingSpec]:
    """The customer's choices: egg (when several), location (when offered) and each
    customer-editable variable, labelled and defaulted from the egg."""
    try:
        config = product.config_of(product_row)
    except product.ConfigError:
        return []
    eggs: dict[int, dict[str, Any]] = {}
    locations: list[dict[str, Any]] = []
    client = _quick_client()
    if client is not None:
        with client:
            try:
                for egg_id in config.egg_ids:
                    eggs[egg_id] = lookups.egg_with_variables(client, config.nest_id, egg_id)
                if config.choose_location and len(config.location_ids) > 1:
                    locations = [
                        x
                        for x in lookups.cached(
                            (client.url, "locations"), client.app.list_locations
                        )
                        if int(x["id"]) in config.location_ids
                    ]
            except errors.PanelUnreachable:
                _mark_down(client)
            except errors.PanelError:
                pass
    fields: list[SettingSpec] = []
    if len(config.egg_ids) > 1:
        labels = tuple(egg_label(eggs.get(i), i) for i in config.egg_ids)
        fields.append(
            SettingSpec(
                key="egg",
                type="choice",
                label="Game version",
                default=labels[0],
                choices=labels,
                choice_labels=readable(labels),
                required=True,
            )
        )
    if config.choose_location and len(config.location_ids) > 1:
        labels = tuple(location_label(x) for x in locations) or tuple(
            f"Location (#{i})" for i in config.location_ids
        )
        fields.append(
            SettingSpec(
                key="location",
                type="choice",
                label="Location",
                default=labels[0],
                choices=labels,
                choice_labels=readable(labels),
                required=True,
            )
        )
    default_egg = eggs.get(config.egg_id) or {}
    variables = {str(v.get("env_variable")): v for v in egg_variables(default_egg)}
    for name in config.editable_variables():
        variable = variables.get(name, {})
        conf = config.variables[name]
        if conf.slots:  # the plan's slot count fills it
            continue
        default = conf.value if conf.value is not None else str(variable.get("default_value") or "")
        fields.append(
            SettingSpec(
                key=f"var_{name}",
                type="string",
                label=str(variable.get("name") or name),
                default=default,
                description=str(variable.get("description") or ""),
                required=rules.is_required(variable.get("rules") or ""),
            )
        )
    return fields


def checkout_problems(product_row, options: dict, *, plan=None, slots: int = 1) -> list[str]:
    """What the egg's rules say about a customer's checkout choices, before anything is charged.

    Empty when they pass, or when the panel cannot be asked now (the create checks again and
    an order it refuses is refunded).
    """
    from builtin_plugins.pterodactyl.client import egg_variables
    from builtin_plugins.pterodactyl.provisioner import choice_id

    try:
        config = product.config_of(product_row)
    except product.ConfigError:
        return []  # the product's own health problem, shown to the admin, not the customer
    chosen = choice_id((options or {}).get("egg"))
    egg_id = chosen if chosen in config.egg_ids else config.egg_id
    client = _quick_client()
    if client is None:
        return []
    with client:
        try:
            egg = lookups.egg_with_variables(client, config.nest_id, egg_id)
        except errors.PanelUnreachable:
            _mark_down(client)
            return []
        except errors.PanelError:
            return []
    variables = egg_variables(egg)
    env = product.environment(
        config,
        variables,
        options=options or {},
        slots=slots,
        slot_names=product.slot_variables(config, plan),
    )
    return product.environment_problems(env, variables)
