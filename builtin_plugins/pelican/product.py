"""A product's Pelican settings: the schema the store's product form shows, and parsing.

The egg variables, limits, ports and texts are parsed by the panel kit (shared with the
Pterodactyl plugin). What is Pelican's own: an egg is named alone (eggs are top level, there
are no nests), placement names node **tags** (Pelican has no locations), the OOM killer is
asked for (``oom_killer``, off by default in Pelican) and the IO weight may be 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from builtin_plugins.panel_kit.api import ConfigError, parse_ids, product_config
from builtin_plugins.pelican.panel import parse_tags
from kernel import SettingSpec

_spec = product_config.spec
# Pelican reserves more environment names than Pterodactyl (reference §5.3).
RESERVED_ENV = product_config.RESERVED_ENV | frozenset(
    {
        "P_SERVER_UUID",
        "P_SERVER_ALLOCATION_LIMIT",
        "MODIFIED_STARTUP",
        "INTERNAL_IP",
        "HOSTNAME",
        "TERM",
        "LANG",
        "PWD",
        "TZ",
        "TIMEZONE",
    }
)

SCHEMA: tuple[SettingSpec, ...] = (
    _spec("egg_id", "int", "Egg id", None, "The egg new servers are created with.", True),
    _spec(
        "extra_egg_ids",
        "string",
        "Other eggs customers may choose",
        "",
        "Comma-separated egg ids offered at checkout (any egg: Pelican has no nests); "
        "empty: only the egg above.",
    ),
    *product_config.EGG_SPECS,
    *product_config.build_specs(io_low=0),
    _spec("oom_killer", "bool", "Enable the OOM killer", False, "Pelican's default is off"),
    *product_config.FEATURE_SPECS,
    _spec(
        "tags",
        "string",
        "Node tags",
        "",
        "Comma-separated node tags: a node carrying one of them qualifies; empty: the "
        "plugin's default tags",
    ),
    _spec(
        "choose_region",
        "bool",
        "Customers choose the region",
        False,
        "Offer the tags above at checkout, one region a tag",
    ),
    *product_config.PLACEMENT_SPECS,
)


@dataclass(frozen=True, kw_only=True)
class ProductConfig(product_config.PanelProduct):
    """The kit's common fields (``PanelProduct``) and this panel's own."""

    oom_killer: bool = False
    tags: tuple[str, ...] = ()
    choose_region: bool = False


def parse(values: dict[str, Any] | None) -> ProductConfig:
    """Typed settings of a product; raises ConfigError with the first problem."""
    values = values or {}
    if "nest_id" in values and values.get("nest_id") not in (None, ""):
        raise ConfigError("Pelican has no nests: name the egg alone (remove the nest id)")
    egg_id = product_config.int_setting(values, "egg_id", 0, 1, label="Egg id")
    if not egg_id:
        raise ConfigError("choose the egg (its id in the panel)")
    try:
        extra = parse_ids(values.get("extra_egg_ids"), "Other eggs")
        nodes = parse_ids(values.get("node_ids"), "Nodes")
        tags = parse_tags(values.get("tags"), "Node tags")
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    choose = bool(values.get("choose_region", False))
    if choose and len(tags) < 2:
        raise ConfigError("customers can choose a region only among two or more node tags")
    return ProductConfig(
        egg_id=egg_id,
        extra_egg_ids=extra,
        oom_killer=bool(values.get("oom_killer", False)),
        tags=tags,
        choose_region=choose,
        node_ids=nodes,
        **product_config.common_fields(values, io_low=0, reserved=RESERVED_ENV),
    )


def config_of(product) -> ProductConfig:
    return parse(product.provisioner_settings or {})
