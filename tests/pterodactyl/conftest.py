"""The pterodactyl plugin against the simulator over real HTTP.

``sim`` is a seeded simulator per test. ``ptero_app`` is an app with the store and the
pterodactyl plugin enabled (scanned once per session against the local OSV fake; each
test gets a copy of that instance) and configured for ``sim``. Panel clients built by
the plugin record their waits in ``sleeps`` instead of sleeping.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kernel.extensions import db
from tests import panel_instances

PLUGIN = "pterodactyl"


@pytest.fixture(scope="session")
def ptero_template(tmp_path_factory, request) -> Path:
    """An instance with store + pterodactyl enabled (the scan gate passed), to copy per test."""
    return panel_instances.make_template(tmp_path_factory, request, "ptero-template", (PLUGIN,))


@pytest.fixture
def sim():
    from simulators.pterodactyl import Simulator

    simulator = Simulator(seed=True, install_seconds=0, power_seconds=0, backup_seconds=0)
    simulator.start()
    yield simulator
    simulator.stop()


@pytest.fixture
def clock():
    """The virtual clock of plugin-built panel clients' request budgets: their waits move it."""
    from builtin_plugins.panel_kit.api import VirtualClock

    return VirtualClock()


@pytest.fixture
def sleeps(monkeypatch, clock) -> Iterator[list[float]]:
    """Every wait a plugin-built panel client asks for (nothing really sleeps: the budget's
    virtual clock moves instead)."""
    from builtin_plugins.pterodactyl import lookups, panel

    waited: list[float] = []

    def sleep(seconds: float) -> None:
        waited.append(seconds)
        clock.sleep(seconds)

    monkeypatch.setattr(panel, "CLIENT_OPTIONS", {"sleep": sleep, "clock": clock})
    lookups.forget_cache()
    yield waited
    panel.forget_clients()


@pytest.fixture
def panel(sim, sleeps):
    """A PanelClient for ``sim`` (the admin's keys), sharing ``sleeps``."""
    from builtin_plugins.pterodactyl.client import PanelClient

    with PanelClient(sim.url, sim.application_key, sim.client_key, sleep=sleeps.append) as client:
        yield client


def configure(app, **values) -> None:
    """Store plugin settings (in the current app context when it is ``app``'s: one session)."""
    panel_instances.configure(app, PLUGIN, **values)


def sim_settings(sim) -> dict:
    return {
        "panel_url": sim.url,
        "application_key": sim.application_key,
        "client_key": sim.client_key,
        "default_location": "sim-eu",
    }


@pytest.fixture
def ptero_app(ptero_template, tmp_path, sim, sleeps):
    """Store + pterodactyl enabled, configured for ``sim``."""
    yield from panel_instances.instance_app(ptero_template, tmp_path, PLUGIN, sim_settings(sim))


@pytest.fixture
def ctx(ptero_app):
    with ptero_app.app_context():
        yield ptero_app
        db.session.remove()


# --- builders -----------------------------------------------------------------------------


def ids(panel) -> dict:
    """Ids of the simulator's seed data by name (so tests do not hard-code them)."""
    nests = {n["name"]: n["id"] for n in panel.app.list_nests()}
    eggs = {e["name"]: e["id"] for e in panel.app.list_eggs(nests["Minecraft"])}
    locations = {x["short"]: x["id"] for x in panel.app.list_locations()}
    nodes = {n["name"]: n["id"] for n in panel.app.list_nodes()}
    return {
        "nest": nests["Minecraft"],
        "paper": eggs["Paper"],
        "vanilla": eggs["Vanilla Minecraft"],
        "eu": locations["sim-eu"],
        "us": locations["sim-us"],
        "nodes": nodes,
    }


def paper_settings(panel, **overrides) -> dict:
    seed = ids(panel)
    settings = {
        "nest_id": seed["nest"],
        "egg_id": seed["paper"],
        "extra_egg_ids": "",
        "docker_image": "",
        "startup": "",
        "variables": "MINECRAFT_VERSION=1.20.4 | visible, editable\n"
        "BUILD_NUMBER=latest | visible\nMAX_PLAYERS | slots",
        "memory": 2048,
        "swap": 0,
        "disk": 10240,
        "io": 500,
        "cpu": 100,
        "threads": "",
        "oom_disabled": True,
        "databases": 1,
        "allocations": 2,
        "backups": 2,
        "location_ids": str(seed["eu"]),
        "choose_location": False,
        "node_ids": "",
        "port_range": "25565-25600",
        "dedicated_ip": False,
        "start_on_completion": False,
        "skip_scripts": False,
    }
    settings.update(overrides)
    return settings


def panel_product(settings: dict, *, slug="paper-small", **fields):
    """A store product created on the panel by this plugin with ``settings`` (see
    ``paper_settings``); ``make_product``'s other fields."""
    from builtin_plugins.store.testing import make_product

    return make_product(slug, provisioner=PLUGIN, settings=settings, **fields)


def panel_customer(email="buyer@example.com", *, name="Alice Buyer", balance=10_000):
    """A customer with money enough for a few servers (this suite's usual buyer)."""
    from kernel.testing import make_customer

    return make_customer(email, balance, name=name)


# --- convergence ----------------------------------------------------------------------------


def settle(rounds: int = 12, retry_stuck: bool = False) -> dict[str, int]:
    """Run the reconciler until nothing is pending: every backoff is taken as passed (the
    ``store.converge`` cron task would run it later). ``retry_stuck``: staff press Retry on
    servers that ran out of attempts. Returns the outcome counts."""
    from builtin_plugins.store import reconciler
    from builtin_plugins.store.models import Service
    from kernel import now as utcnow  # the store's reconciler runs on the kernel's clock

    totals: dict[str, int] = {}
    for _ in range(rounds):
        if retry_stuck:
            for service in db.session.scalars(
                db.select(Service).where(Service.sync_status == "stuck")
            ).all():
                reconciler.retry(service, actor="test")
        db.session.execute(
            db.update(Service)
            .where(Service.sync_status == "pending")
            .values(sync_next_at=utcnow(), sync_claimed_until=None)
        )
        db.session.commit()
        done = reconciler.run_due(grace=0)
        for kind, count in done.items():
            totals[kind] = totals.get(kind, 0) + count
        pending = db.session.scalar(
            db.select(db.func.count(Service.id)).where(Service.sync_status == "pending")
        )
        if not pending:
            break
    return totals


def panel_view(sim) -> dict[str, dict]:
    """The simulator's servers by external id: ``{external_id: {"id", "status", ...}}``."""
    return {s["external_id"]: s for s in sim.snapshot()["servers"] if s.get("external_id")}


def mismatches(sim, service_ids=None) -> list[str]:
    """What differs between the store and the panel for ``service_ids`` (all by default):
    every live service has exactly its server, suspended as it should be; every ended one
    has none; every service is in sync."""
    from builtin_plugins.pterodactyl.panel import external_id
    from builtin_plugins.store.models import Service

    view = panel_view(sim)
    query = db.select(Service)
    if service_ids is not None:
        query = query.where(Service.id.in_(list(service_ids)))
    out = []
    for service in db.session.scalars(query):
        server = view.get(external_id(service))
        if service.sync_status != "ok":
            out.append(f"#{service.id} sync {service.sync_status}: {service.sync_error}")
        if service.state in ("active", "suspended"):
            if server is None:
                out.append(f"#{service.id} {service.state} without a panel server")
            elif (server["status"] == "suspended") != (service.state == "suspended"):
                out.append(f"#{service.id} {service.state} but the panel says {server['status']}")
            elif server["name"] != service.name:
                out.append(f"#{service.id} named {service.name!r}, {server['name']!r} in the panel")
        elif service.state in ("terminated", "provisioning_failed") and server is not None:
            out.append(f"#{service.id} {service.state} but its panel server exists")
        elif service.state == "provisioning":
            out.append(f"#{service.id} still provisioning")
    return out


def seed_fleet(sim, product, user, count: int) -> list[int]:
    """``count`` active, in-sync services of ``user``, seeded in ``sim`` and linked; their ids
    (the plugin's test builder, which the benchmarks use too)."""
    from builtin_plugins.pterodactyl.testing import seed_fleet as seed

    return seed(sim, product, [user], count).services
