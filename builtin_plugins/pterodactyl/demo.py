"""``pteroca demo``: fill the store with products built from the configured panel's eggs.

The panel is whatever the plugin's settings name; in ``pteroca demo`` that is the Pterodactyl
simulator, which the demo starts and points these settings at before this hook runs (the
simulator ships beside pteroca in ``simulators/``; this production plugin never imports it).
"""

from __future__ import annotations

from typing import Any

from kernel import db, settings_for


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
    from builtin_plugins.pterodactyl import product

    values = {spec.key: spec.default for spec in product.SCHEMA}
    values.update(
        nest_id=nest,
        egg_id=egg,
        variables=variables,
        location_ids="1,2",
        choose_location=True,
        databases=1,
        allocations=2,
        backups=2,
        start_on_completion=True,
    )
    values.update(overrides)
    return values


def seed_catalog() -> int:
    """Categories and products, made once (by slug); returns how many products were added."""
    from builtin_plugins.store.api import Category, PricePlan, Product

    eggs = _eggs()
    paper, vanilla, gmod = eggs["Paper"], eggs["Vanilla Minecraft"], eggs["Garrys Mod"]
    categories = {}
    for slug, name, description, priority in (
        ("minecraft", "Minecraft", "Paper and Vanilla servers, ready in a minute.", 20),
        ("source-games", "Source games", "Garry's Mod, billed by the hour it runs.", 10),
    ):
        category = db.session.scalar(db.select(Category).where(Category.slug == slug))
        if category is None:
            category = Category(
                name=name,
                slug=slug,
                description=description,
                image_url="",
                priority=priority,
                featured=slug == "minecraft",
            )
            db.session.add(category)
        categories[slug] = category
    mc_vars = (
        "MINECRAFT_VERSION=latest | visible, editable\nBUILD_NUMBER=latest | visible\n"
        "MAX_PLAYERS=20 | visible, editable"
    )
    products = [
        (
            "paper-2gb",
            "Paper 2 GB",
            "minecraft",
            30,
            _settings(*paper, mc_vars, extra_egg_ids=str(vanilla[1]), memory=2048, disk=10240),
            [("fixed", "days", 30, 500, 1, 1, ""), ("fixed", "days", 7, 150, 1, 1, "")],
        ),
        (
            "paper-4gb",
            "Paper 4 GB",
            "minecraft",
            20,
            _settings(*paper, mc_vars, extra_egg_ids=str(vanilla[1]), memory=4096, disk=20480),
            [("fixed", "days", 30, 900, 1, 1, ""), ("fixed", "days", 7, 250, 1, 1, "")],
        ),
        (
            "minecraft-slots",
            "Minecraft by the slot",
            "minecraft",
            10,
            _settings(
                *paper,
                "MINECRAFT_VERSION=latest | visible, editable\nMAX_PLAYERS | slots",
                memory=3072,
                disk=15360,
            ),
            [("slot", "days", 30, 25, 10, 100, "MAX_PLAYERS")],
        ),
        (
            "garrys-mod",
            "Garry's Mod",
            "source-games",
            10,
            _settings(
                *gmod,
                "GAMEMODE=sandbox | visible, editable\n"
                "SRCDS_MAP=gm_flatgrass | visible, editable\nMAX_PLAYERS=32 | visible",
                memory=2048,
                disk=20480,
                port_range="27015-27030",
            ),
            [("on_demand", "hours", 1, 5, 1, 1, "")],
        ),
    ]
    made = 0
    for slug, name, category, priority, settings, plans in products:
        if db.session.scalar(db.select(Product).where(Product.slug == slug)) is not None:
            continue
        row = Product(
            name=name,
            slug=slug,
            provisioner="pterodactyl",
            stock=None,
            per_customer_limit=None,
            allow_auto_renew=True,
            active=True,
            featured=priority >= 30,
            priority=priority,
            category=categories[category],
            description=f"{name} on the simulated panel: {settings['memory']} MiB "
            f"of memory, {settings['disk'] // 1024} GB of disk.",
            images=[],
            resources={"memory_mb": settings["memory"], "disk_mb": settings["disk"]},
            provisioner_settings=settings,
        )
        for kind, unit, count, price, low, high, variable in plans:
            row.plans.append(
                PricePlan(
                    kind=kind,
                    label="",
                    period_unit=unit,
                    period_count=count,
                    price=price,
                    min_slots=low,
                    max_slots=high,
                    slot_variable=variable,
                )
            )
        db.session.add(row)
        made += 1
    db.session.commit()
    return made
