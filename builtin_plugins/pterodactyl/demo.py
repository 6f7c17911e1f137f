"""``pteroca demo``: start the simulator in the demo's process, point the plugin at it and fill
the store with products built from the simulator's eggs.

The simulator's port and keys are kept in ``<instance>/demo-simulator.json`` so the plugin's
settings stay right across restarts. The simulator keeps its servers in memory: servers bought
in an earlier run are gone from it after a restart (the reconcile task flags them).
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

from flask import current_app

from kernel.extensions import db
from kernel.plugins.settings import set_settings, settings_for

STATE_FILE = "demo-simulator.json"
DEFAULT_PORT = 8099
INSTALL_SECONDS = 5.0  # long enough to see "installing" in the demo

_running: dict[str, Any] = {}  # the simulator of this process (one demo per process)


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def start_simulator(instance: Path):
    """The demo simulator, started once per process with the keys kept in the instance."""
    from simulators.pterodactyl import Simulator

    if "sim" in _running:
        return _running["sim"]
    path = instance / STATE_FILE
    saved = json.loads(path.read_text()) if path.exists() else {}
    port = int(saved.get("port") or DEFAULT_PORT)
    sim = Simulator(port=port if _port_free(port) else 0, seed=True,
                    install_seconds=INSTALL_SECONDS,
                    application_key=saved.get("application_key"), client_key=saved.get("client_key"))
    sim.start()
    state = {"port": int(sim.url.rsplit(":", 1)[1]), "application_key": sim.application_key,
             "client_key": sim.client_key}
    if state != saved:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(state, out, indent=2)
    _running["sim"] = sim
    return sim


def stop_simulator() -> None:
    sim = _running.pop("sim", None)
    if sim is not None:
        sim.stop()


def seed(admin, customer) -> list[str]:
    """The ``demo_seed`` hook: simulator, settings, catalog. Returns the lines to print."""
    manifest = current_app.extensions["pteroca"].discovered["pterodactyl"].manifest
    current = settings_for("pterodactyl")
    instance = Path(current_app.instance_path)
    saved = instance / STATE_FILE
    if current.get("panel_url") and not saved.exists():
        return [f"Pterodactyl: using the configured panel {current['panel_url']} (no simulator)"]
    sim = start_simulator(instance)
    set_settings(manifest, {"panel_url": sim.url, "application_key": sim.application_key,
                            "client_key": sim.client_key, "default_location": "1"})
    made = seed_catalog()
    lines = [f"Pterodactyl simulator: {sim.url}  (panel login admin@simulator.test / password)"]
    if made:
        lines.append(f"store catalog: {made} products added (Minecraft, Source games)")
    return lines


def _eggs() -> dict[str, tuple[int, int]]:
    """Egg name -> (nest id, egg id), read from the panel."""
    from builtin_plugins.pterodactyl import services

    out = {}
    with services.panel() as client:
        for nest in client.app.list_nests():
            for egg in client.app.list_eggs(int(nest["id"])):
                out[str(egg["name"])] = (int(nest["id"]), int(egg["id"]))
    return out


def _settings(nest: int, egg: int, variables: str, **overrides) -> dict[str, Any]:
    from builtin_plugins.pterodactyl import product

    values = {spec.key: spec.default for spec in product.SCHEMA}
    values.update(nest_id=nest, egg_id=egg, variables=variables, location_ids="1,2",
                  choose_location=True, databases=1, allocations=2, backups=2,
                  start_on_completion=True)
    values.update(overrides)
    return values


def seed_catalog() -> int:
    """Categories and products, made once (by slug); returns how many products were added."""
    from builtin_plugins.store.models import Category, PricePlan, Product

    eggs = _eggs()
    paper, vanilla, gmod = eggs["Paper"], eggs["Vanilla Minecraft"], eggs["Garrys Mod"]
    categories = {}
    for slug, name, description, priority in (
            ("minecraft", "Minecraft", "Paper and Vanilla servers, ready in a minute.", 20),
            ("source-games", "Source games", "Garry's Mod, billed by the hour it runs.", 10)):
        category = db.session.scalar(db.select(Category).where(Category.slug == slug))
        if category is None:
            category = Category(name=name, slug=slug, description=description, image_url="",
                                priority=priority, featured=slug == "minecraft")
            db.session.add(category)
        categories[slug] = category
    mc_vars = ("MINECRAFT_VERSION=latest | visible, editable\nBUILD_NUMBER=latest | visible\n"
               "MAX_PLAYERS=20 | visible, editable")
    products = [
        ("paper-2gb", "Paper 2 GB", "minecraft", 30,
         _settings(*paper, mc_vars, extra_egg_ids=str(vanilla[1]), memory=2048, disk=10240),
         [("fixed", "days", 30, 500, 1, 1, ""), ("fixed", "days", 7, 150, 1, 1, "")]),
        ("paper-4gb", "Paper 4 GB", "minecraft", 20,
         _settings(*paper, mc_vars, extra_egg_ids=str(vanilla[1]), memory=4096, disk=20480),
         [("fixed", "days", 30, 900, 1, 1, ""), ("fixed", "days", 7, 250, 1, 1, "")]),
        ("minecraft-slots", "Minecraft by the slot", "minecraft", 10,
         _settings(*paper, "MINECRAFT_VERSION=latest | visible, editable\nMAX_PLAYERS | slots",
                   memory=3072, disk=15360),
         [("slot", "days", 30, 25, 10, 100, "MAX_PLAYERS")]),
        ("garrys-mod", "Garry's Mod", "source-games", 10,
         _settings(*gmod, "GAMEMODE=sandbox | visible, editable\n"
                          "SRCDS_MAP=gm_flatgrass | visible, editable\nMAX_PLAYERS=32 | visible",
                   memory=2048, disk=20480, port_range="27015-27030"),
         [("on_demand", "hours", 1, 5, 1, 1, "")]),
    ]
    made = 0
    for slug, name, category, priority, settings, plans in products:
        if db.session.scalar(db.select(Product).where(Product.slug == slug)) is not None:
            continue
        row = Product(name=name, slug=slug, provisioner="pterodactyl", stock=None,
                      per_customer_limit=None, allow_auto_renew=True, active=True,
                      featured=priority >= 30, priority=priority, category=categories[category],
                      description=f"{name} on the simulated panel: {settings['memory']} MiB "
                                  f"of memory, {settings['disk'] // 1024} GB of disk.",
                      images=[], resources={"memory_mb": settings["memory"],
                                            "disk_mb": settings["disk"]},
                      provisioner_settings=settings)
        for kind, unit, count, price, low, high, variable in plans:
            row.plans.append(PricePlan(kind=kind, label="", period_unit=unit, period_count=count,
                                       price=price, min_slots=low, max_slots=high,
                                       slot_variable=variable))
        db.session.add(row)
        made += 1
    db.session.commit()
    return made
