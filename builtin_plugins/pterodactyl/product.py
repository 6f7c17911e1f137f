"""A product's Pterodactyl settings: the schema the store's product form shows, and parsing.

The egg variables setting (one ``NAME=value | flags`` a line), limits and port ranges are
parsed by the panel kit's ``product_config``, shared with the Pelican plugin; this module
holds what is Pterodactyl's own: nests, locations and the form's fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from builtin_plugins.panel_kit.api import (  # noqa: F401 - the plugin's names for them
    ConfigError,
    VariableConfig,
    docker_image,
    environment,
    environment_problems,
    parse_ids,
    parse_ports,
    parse_variables,
    port_allowed,
    product_config,
    slot_variables,
    suggested_variables,
)
from kernel import SettingSpec

_int = product_config.int_setting


_spec = product_config.spec


SCHEMA: tuple[SettingSpec, ...] = (
    _spec("nest_id", "int", "Nest id", None, "The panel nest holding the egg.", True),
    _spec("egg_id", "int", "Egg id", None, "The egg new servers are created with.", True),
    _spec(
        "extra_egg_ids",
        "string",
        "Other eggs customers may choose",
        "",
        "Comma-separated egg ids of the same nest offered at checkout; empty: only the egg above.",
    ),
    *product_config.EGG_SPECS,
    *product_config.build_specs(io_low=10),
    _spec("oom_disabled", "bool", "Disable the OOM killer", True),
    *product_config.FEATURE_SPECS,
    _spec(
        "location_ids",
        "string",
        "Locations",
        "",
        "Comma-separated location ids; empty: the plugin's default location",
    ),
    _spec(
        "choose_location",
        "bool",
        "Customers choose the location",
        False,
        "Offer the locations above at checkout",
    ),
    *product_config.PLACEMENT_SPECS,
)


@dataclass(frozen=True, kw_only=True)
class ProductConfig(product_config.PanelProduct):
    """The kit's common fields (``PanelProduct``) and this panel's own."""

    nest_id: int
    oom_disabled: bool = True
    location_ids: tuple[int, ...] = ()
    choose_location: bool = False


def _ids(values: dict[str, Any], key: str, label: str) -> tuple[int, ...]:
    try:
        return parse_ids(values.get(key), label)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def parse(values: dict[str, Any] | None) -> ProductConfig:
    """Typed settings of a product; raises ConfigError with the first problem."""
    values = values or {}
    nest_id = _int(values, "nest_id", 0, 1, label="Nest id")
    egg_id = _int(values, "egg_id", 0, 1, label="Egg id")
    if not nest_id or not egg_id:
        raise ConfigError("choose the nest and egg (their ids in the panel)")
    return ProductConfig(
        nest_id=nest_id,
        egg_id=egg_id,
        extra_egg_ids=_ids(values, "extra_egg_ids", "Other eggs"),
        oom_disabled=bool(values.get("oom_disabled", True)),
        location_ids=_ids(values, "location_ids", "Locations"),
        choose_location=bool(values.get("choose_location", False)),
        node_ids=_ids(values, "node_ids", "Nodes"),
        **product_config.common_fields(values, io_low=10),
    )


def config_of(product) -> ProductConfig:
    return parse(product.provisioner_settings or {})
