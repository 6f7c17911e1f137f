"""The demo catalog both panel plugins seed (``pteroca demo``, ``pteroca demo --panel
pelican``): two categories and four products of the simulators' eggs.

Each plugin passes the store's models (the kit does not import the store) and a function
turning an egg name, an egg variables setting and overrides into its own product settings
(Pterodactyl names a nest and locations, Pelican node tags).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kernel import db

CATEGORIES = (
    ("minecraft", "Minecraft", "Paper and Vanilla servers, ready in a minute.", 20),
    ("source-games", "Source games", "Garry's Mod, billed by the hour it runs.", 10),
)
MC_VARIABLES = (
    "MINECRAFT_VERSION=latest | visible, editable\nBUILD_NUMBER=latest | visible\n"
    "MAX_PLAYERS=20 | visible, editable"
)

Settings = Callable[[str, str, dict[str, Any]], dict[str, Any]]


def product_settings(
    schema: Any, own: dict[str, Any], variables: str, overrides: dict[str, Any]
) -> dict[str, Any]:
    """A demo product's settings: the product form's defaults (``schema``, the plugin's
    ``SCHEMA``), the plugin's ``own`` values (egg, placement), the egg ``variables`` and what
    every demo product has (a database, two ports, two backups, started once installed),
    then the product's ``overrides``."""
    values = {spec.key: spec.default for spec in schema}
    values.update(
        own,
        variables=variables,
        databases=1,
        allocations=2,
        backups=2,
        start_on_completion=True,
    )
    values.update(overrides)
    return values


def products(settings: Settings) -> list[tuple]:
    """``(slug, name, category, priority, settings, plans)`` of the demo products; ``settings``
    raises KeyError naming an egg the panel lacks."""
    vanilla = ("Vanilla Minecraft",)
    return [
        (
            "paper-2gb",
            "Paper 2 GB",
            "minecraft",
            30,
            settings("Paper", MC_VARIABLES, {"extra_eggs": vanilla, "memory": 2048, "disk": 10240}),
            [("fixed", "days", 30, 500, 1, 1, ""), ("fixed", "days", 7, 150, 1, 1, "")],
        ),
        (
            "paper-4gb",
            "Paper 4 GB",
            "minecraft",
            20,
            settings("Paper", MC_VARIABLES, {"extra_eggs": vanilla, "memory": 4096, "disk": 20480}),
            [("fixed", "days", 30, 900, 1, 1, ""), ("fixed", "days", 7, 250, 1, 1, "")],
        ),
        (
            "minecraft-slots",
            "Minecraft by the slot",
            "minecraft",
            10,
            settings(
                "Paper",
                "MINECRAFT_VERSION=latest | visible, editable\nMAX_PLAYERS | slots",
                {"memory": 3072, "disk": 15360},
            ),
            [("slot", "days", 30, 25, 10, 100, "MAX_PLAYERS")],
        ),
        (
            "garrys-mod",
            "Garry's Mod",
            "source-games",
            10,
            settings(
                "Garrys Mod",
                "GAMEMODE=sandbox | visible, editable\n"
                "SRCDS_MAP=gm_flatgrass | visible, editable\nMAX_PLAYERS=32 | visible",
                {"memory": 2048, "disk": 20480, "port_range": "27015-27030"},
            ),
            [("on_demand", "hours", 1, 5, 1, 1, "")],
        ),
    ]


def seed_products(models: tuple, provisioner: str, rows: list[tuple], *, slug_prefix="") -> int:
    """Categories and products, made once (by slug); returns how many products were added.
    ``models``: the store's ``(Category, PricePlan, Product)``."""
    category_model, plan_model, product_model = models
    categories = {}
    for slug, name, description, priority in CATEGORIES:
        category = db.session.scalar(db.select(category_model).where(category_model.slug == slug))
        if category is None:
            category = category_model(
                name=name,
                slug=slug,
                description=description,
                image_url="",
                priority=priority,
                featured=slug == "minecraft",
            )
            db.session.add(category)
        categories[slug] = category
    made = 0
    for slug, name, category, priority, settings, plans in rows:
        slug = f"{slug_prefix}{slug}"
        if db.session.scalar(db.select(product_model).where(product_model.slug == slug)):
            continue
        row = product_model(
            name=name,
            slug=slug,
            provisioner=provisioner,
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
                plan_model(
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
