"""``pteroca demo --panel pelican``: fill the store with products built from Pelican's eggs.

The panel is whatever the plugin's settings name; in ``pteroca demo --panel pelican`` that is
the Pelican simulator, which the demo starts and points these settings at before this hook
runs (this production plugin never imports it). The catalog is the Pterodactyl demo's
(the panel kit's ``demo_catalog``), placed by node tag, with slugs of its own.
"""

from __future__ import annotations

from typing import Any

from kernel import settings_for

SLUG_PREFIX = "pelican-"


def seed(admin, customer) -> list[str]:
    """The ``demo_seed`` hook: the catalog, when a panel is configured."""
    if not settings_for("pelican").get("panel_url"):
        return []  # not the demo's panel: nothing to say
    try:
        made = seed_catalog()
    except KeyError as missing:  # a real panel without the demo's eggs
        return [f"Pelican catalog: the panel has no {missing} egg; no sample products added"]
    return [f"Pelican catalog: {made} products added (Minecraft, Source games)"] if made else []


def _settings(eggs: dict[str, int], egg: str, variables: str, overrides: dict) -> dict[str, Any]:
    from builtin_plugins.panel_kit.api import demo_catalog
    from builtin_plugins.pelican import product

    extra = overrides.pop("extra_eggs", ())
    own = {
        "egg_id": eggs[egg],
        "extra_egg_ids": ",".join(str(eggs[name]) for name in extra),
        "tags": "sim-eu, sim-us",
        "choose_region": True,
    }
    return demo_catalog.product_settings(product.SCHEMA, own, variables, overrides)


def seed_catalog() -> int:
    from builtin_plugins.panel_kit.api import demo_catalog
    from builtin_plugins.pelican import panel
    from builtin_plugins.store.api import Category, PricePlan, Product

    with panel.connect() as client:
        eggs = {str(e["name"]): int(e["id"]) for e in client.app.list_eggs()}
    products = demo_catalog.products(
        lambda egg, variables, overrides: _settings(eggs, egg, variables, overrides)
    )
    return demo_catalog.seed_products(
        (Category, PricePlan, Product), "pelican", products, slug_prefix=SLUG_PREFIX
    )
