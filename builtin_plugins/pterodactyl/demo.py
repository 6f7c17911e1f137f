"""``pteroca demo``: fill the store with products built from the configured panel's eggs.

The panel is whatever the plugin's settings name; in ``pteroca demo`` that is the Pterodactyl
simulator, which the demo starts and points these settings at before this hook runs (the
simulator ships beside pteroca in ``simulators/``; this production plugin never imports it).
"""

from __future__ import annotations

from typing import Any

from kernel import settings_for


def seed(admin, customer) -> list[str]:
    """The ``demo_seed`` hook: the catalog, when a panel is configured. Returns lines to print."""
    if not settings_for("pterodactyl").get("panel_url"):
        return [
            "Pterodactyl: no panel configured (set one on the plugin's Configure page); "
            "the store catalog is left empty"
        ]
    try:
        made = seed_catalog()
    except KeyError as missing:  # a real panel without the demo's eggs
        return [f"store catalog: the panel has no {missing} egg; no sample products added"]
    return [f"store catalog: {made} products added (Minecraft, Source games)"] if made else []


def _eggs() -> dict[str, tuple[int, int]]:
    """Egg name -> (nest id, egg id), read from the panel."""
    from builtin_plugins.pterodactyl import panel

    out = {}
    with panel.connect() as client:
        for nest in client.app.list_nests():
            for egg in client.app.list_eggs(int(nest["id"])):
                out[str(egg["name"])] = (int(nest["id"]), int(egg["id"]))
    return out


def _settings(nest: int, egg: int, variables: str, **overrides) -> dict[str, Any]:
    from builtin_plugins.panel_kit.api import demo_catalog
    from builtin_plugins.pterodactyl import product

    own = {"nest_id": nest, "egg_id": egg, "location_ids": "1,2", "choose_location": True}
    return demo_catalog.product_settings(product.SCHEMA, own, variables, overrides)


def seed_catalog() -> int:
    """The panel kit's demo catalog on this panel's eggs; returns how many products were added."""
    from builtin_plugins.panel_kit.api import demo_catalog
    from builtin_plugins.store.api import Category, PricePlan, Product

    eggs = _eggs()

    def settings(egg: str, variables: str, overrides: dict[str, Any]) -> dict[str, Any]:
        extra = overrides.pop("extra_eggs", ())
        return _settings(
            *eggs[egg],
            variables,
            extra_egg_ids=",".join(str(eggs[name][1]) for name in extra),
            **overrides,
        )

    return demo_catalog.seed_products(
        (Category, PricePlan, Product), "pterodactyl", demo_catalog.products(settings)
    )
