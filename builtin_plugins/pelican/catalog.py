"""What the store's product form and checkout need from Pelican: settings checks against the
real eggs and nodes, the customer's checkout choices (egg, region, editable variables), and
whether the panel answers.

Eggs are top level in Pelican (``GET /eggs/{id}``); a product's tags must be carried by at
least one node. Egg and node lookups are cached for a minute, and a panel that does not
answer is not asked again for half a minute, so the product list and checkout stay quick
when the panel is away.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from builtin_plugins.panel_kit.api import (
    Lookups,
    creation,
    egg_variables,
    errors,
    product_config,
    readable_choices,
    rules,
)
from builtin_plugins.pelican import panel, product
from builtin_plugins.pelican.client import PelicanClient
from kernel import SettingSpec

LOOKUPS = Lookups()  # eggs and nodes kept a minute, a panel away left alone half a minute
cached = LOOKUPS.cached


def forget_cache() -> None:
    LOOKUPS.forget()


def egg(client: PelicanClient, egg_id: int) -> dict[str, Any]:
    """One egg with its variables (cached a minute); NotFound when the panel has none."""
    return cached((client.url, "egg", int(egg_id)), lambda: client.app.get_egg(egg_id))


def nodes(client: PelicanClient) -> list[dict[str, Any]]:
    return cached((client.url, "nodes"), client.app.list_nodes)


def _quick_client() -> PelicanClient | None:
    return LOOKUPS.quick_client(panel.load_settings(), panel.make_client)


def _asked(client: PelicanClient | None, ask: Callable[[PelicanClient], Any], default: Any) -> Any:
    """``ask(client)``, or ``default`` when the panel cannot be asked now (down: remembered
    for half a minute; refused: the connection test says why)."""
    if client is None:
        return default
    try:
        return ask(client)
    except errors.PanelUnreachable:
        LOOKUPS.mark_down(client.url)
        return default
    except errors.PanelError:
        return default


def reachability() -> str | None:
    """None when the application API answers, else the problem (the products list's health)."""
    settings = panel.load_settings()
    if not settings.configured:
        return "the Pelican panel URL and application key are not set"
    client = panel.make_client(settings, quick=True)
    try:
        client.app.t.request("GET", "/nodes", params={"per_page": 1})
    except errors.PanelError as exc:
        return errors.describe(exc)
    return None


def health() -> str | None:
    """The ``health_checks`` entry: the panel's reachability once it is configured (an
    enabled plugin nobody set up yet sells nothing, so it is not a failure)."""
    if not panel.load_settings().configured:
        return None
    return reachability()


def settings_problems(values: dict[str, Any]) -> list[str]:
    """Problems with a product's settings: their form first, then (when the panel answers)
    whether the eggs, variables, nodes and tags exist and fixed values pass the egg's rules."""
    try:
        config = product.parse(values)
    except product_config.ConfigError as exc:
        return [str(exc)]
    settings = panel.load_settings()
    if config.allocation_ip and not config.node_ids and settings.node_policy == "panel_deploy":
        return [
            "pin to IP or alias: the panel_deploy node policy lets the panel choose the "
            "allocation; name the nodes in the product or choose another policy"
        ]
    if not config.port_range and not config.node_ids and settings.node_policy == "panel_deploy":
        return [
            "port range: the panel_deploy node policy needs one (Pelican would create the "
            "server without any port)"
        ]
    return _asked(_quick_client(), lambda client: _panel_problems(client, config), [])


def _panel_problems(client: PelicanClient, config: product.ProductConfig) -> list[str]:
    problems: list[str] = []
    eggs: dict[int, dict[str, Any]] = {}
    for egg_id in config.egg_ids:
        try:
            eggs[egg_id] = egg(client, egg_id)
        except errors.NotFound:
            problems.append(f"the panel has no egg {egg_id}")
    problems += product_config.settings_variable_problems(config, eggs, egg_variables)
    listed = nodes(client)
    known = {int(n["id"]) for n in listed}
    missing = [str(i) for i in config.node_ids if i not in known]
    if missing:
        problems.append(f"the panel has no node {', '.join(missing)}")
    carried = {str(tag) for n in listed for tag in (n.get("tags") or ())}
    untagged = [tag for tag in config.tags if tag not in carried]
    if untagged:
        problems.append(f"no node carries the tag {', '.join(untagged)}")
    return problems


egg_for = creation.egg_for  # the kit's, under the plugin's name


def region_for(config: product.ProductConfig, options: dict) -> str:
    chosen = str((options or {}).get("region") or "")
    return chosen if config.choose_region and chosen in config.tags else ""


def checkout_fields(product_row) -> list[SettingSpec]:
    """The customer's choices: egg (when several), region (when offered) and each
    customer-editable variable, labelled and defaulted from the egg."""
    try:
        config = product.config_of(product_row)
    except product_config.ConfigError:
        return []
    eggs: dict[int, dict[str, Any]] = _asked(
        _quick_client(), lambda client: {i: egg(client, i) for i in config.egg_ids}, {}
    )
    fields: list[SettingSpec] = []
    if len(config.egg_ids) > 1:
        labels = tuple(f"{(eggs.get(i) or {}).get('name') or 'Egg'} (#{i})" for i in config.egg_ids)
        fields.append(
            SettingSpec(
                key="egg",
                type="choice",
                label="Game version",
                default=labels[0],
                choices=labels,
                choice_labels=readable_choices(labels),  # the egg's name, not its panel id
                required=True,
            )
        )
    if config.choose_region:
        fields.append(
            SettingSpec(
                key="region",
                type="choice",
                label="Region",
                default=config.tags[0],
                choices=config.tags,
                required=True,
            )
        )
    variables = {
        str(v.get("env_variable")): v for v in egg_variables(eggs.get(config.egg_id) or {})
    }
    for name in config.editable_variables():
        variable, conf = variables.get(name, {}), config.variables[name]
        if conf.slots:  # the plan's slot count fills it
            continue
        fields.append(
            SettingSpec(
                key=f"var_{name}",
                type="string",
                label=str(variable.get("name") or name),
                default=conf.value
                if conf.value is not None
                else str(variable.get("default_value") or ""),
                description=str(variable.get("description") or ""),
                required=rules.is_required(variable.get("rules") or ""),
            )
        )
    return fields


def checkout_problems(product_row, options: dict, *, plan=None, slots: int = 1) -> list[str]:
    """What the egg's rules say about a customer's checkout choices, before anything is
    charged (empty when they pass or the panel cannot be asked now: the create checks again
    and an order it refuses is refunded)."""
    try:
        config = product.config_of(product_row)
    except product_config.ConfigError:
        return []  # the product's own health problem, shown to the admin
    problems = []
    if config.choose_region and str((options or {}).get("region") or "") not in config.tags:
        problems.append(f"choose a region among {', '.join(config.tags)}")
    found = _asked(_quick_client(), lambda client: egg(client, egg_for(config, options)), None)
    if found is None:
        return problems
    variables = egg_variables(found)
    env = product_config.environment(
        config,
        variables,
        options=options or {},
        slots=slots,
        slot_names=product_config.slot_variables(config, plan),
    )
    return problems + product_config.environment_problems(env, variables)
