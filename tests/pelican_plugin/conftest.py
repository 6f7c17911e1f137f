"""The pelican plugin against the Pelican simulator over real HTTP.

``sim`` is a seeded Pelican simulator (one per module, reset before each test). ``pel_app``
is an app with the store, the panel kit, the pelican plugin and the pterodactyl plugin
enabled (scanned once per session; each test gets a copy of that instance), the pelican
plugin configured for ``sim``. Clients built by the plugin record their waits in ``sleeps``
instead of sleeping.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kernel.extensions import db
from tests import panel_instances

PLUGIN = "pelican"


@pytest.fixture(scope="session")
def pelican_template(tmp_path_factory, request) -> Path:
    """An instance with store + pelican + pterodactyl enabled, copied per test."""
    return panel_instances.make_template(
        tmp_path_factory, request, "pelican-template", (PLUGIN, "pterodactyl")
    )


@pytest.fixture(scope="module")
def running_pelican():
    from simulators.pelican import PelicanSimulator

    with PelicanSimulator(install_seconds=0, power_seconds=0, backup_seconds=0) as sim:
        yield sim


@pytest.fixture
def sim(running_pelican):
    running_pelican.reset()
    running_pelican.set_switches(install_seconds=0, power_seconds=0, backup_seconds=0)
    return running_pelican


@pytest.fixture
def clock():
    """The virtual clock of plugin-built clients' request budgets: their waits move it."""
    from builtin_plugins.panel_kit.api import VirtualClock

    return VirtualClock()


@pytest.fixture
def sleeps(monkeypatch, clock) -> Iterator[list[float]]:
    """Every wait a plugin-built client asks for (nothing really sleeps: the budget's virtual
    clock moves instead)."""
    from builtin_plugins.panel_kit.api import THROTTLE
    from builtin_plugins.pelican import catalog, panel

    waited: list[float] = []

    def sleep(seconds: float) -> None:
        waited.append(seconds)
        clock.sleep(seconds)

    monkeypatch.setattr(panel, "CLIENT_OPTIONS", {"sleep": sleep, "clock": clock})
    catalog.forget_cache()
    THROTTLE.forget()
    yield waited
    panel.forget_clients()
    THROTTLE.forget()


@pytest.fixture
def panel(sim, sleeps):
    """A PelicanClient for ``sim`` (the Root Admin's keys), sharing ``sleeps``."""
    from builtin_plugins.pelican.client import PelicanClient

    with PelicanClient(sim.url, sim.application_key, sim.client_key, sleep=sleeps.append) as c:
        yield c


def configure(app, plugin: str = PLUGIN, **values) -> None:
    """Store a plugin's settings (in the current app context when it is ``app``'s)."""
    panel_instances.configure(app, plugin, **values)


def sim_settings(sim) -> dict:
    return {
        "panel_url": sim.url,
        "application_key": sim.application_key,
        "client_key": sim.client_key,
    }


@pytest.fixture
def pel_app(pelican_template, tmp_path, sim, sleeps):
    """Store + pelican (+ pterodactyl) enabled, pelican configured for ``sim``."""
    yield from panel_instances.instance_app(pelican_template, tmp_path, PLUGIN, sim_settings(sim))


@pytest.fixture
def ctx(pel_app):
    with pel_app.app_context():
        yield pel_app
        db.session.remove()


# --- builders -----------------------------------------------------------------------------


def ids(panel) -> dict:
    """Ids of the simulator's seed data by name."""
    eggs = {e["name"]: e["id"] for e in panel.app.list_eggs()}
    nodes = {n["name"]: n for n in panel.app.list_nodes()}
    return {
        "paper": eggs["Paper"],
        "vanilla": eggs["Vanilla Minecraft"],
        "gmod": eggs["Garrys Mod"],
        "nodes": {name: n["id"] for name, n in nodes.items()},
        "tags": {name: n.get("tags") or [] for name, n in nodes.items()},
    }


def paper_settings(panel, **overrides) -> dict:
    seed = ids(panel)
    settings = {
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
        "oom_killer": False,
        "databases": 1,
        "allocations": 2,
        "backups": 2,
        "tags": "sim-eu",
        "choose_region": False,
        "node_ids": "",
        "port_range": "25565-25600",
        "dedicated_ip": False,
        "start_on_completion": False,
        "skip_scripts": False,
    }
    settings.update(overrides)
    return settings


def pelican_product(settings: dict, *, slug="pel-paper", **fields):
    from builtin_plugins.store.testing import make_product

    return make_product(slug, provisioner=PLUGIN, settings=settings, **fields)


def customer(email="buyer@example.com", *, name="Alice Buyer", balance=10_000):
    from kernel.testing import make_customer

    return make_customer(email, balance, name=name)


def settle(rounds: int = 12) -> dict[str, int]:
    """Run the store's reconciler until nothing is pending (every backoff taken as passed)."""
    from builtin_plugins.store import reconciler
    from builtin_plugins.store.models import Service
    from kernel import now as utcnow

    totals: dict[str, int] = {}
    for _ in range(rounds):
        db.session.execute(
            db.update(Service)
            .where(Service.sync_status == "pending")
            .values(sync_next_at=utcnow(), sync_claimed_until=None)
        )
        db.session.commit()
        for kind, count in reconciler.run_due(grace=0).items():
            totals[kind] = totals.get(kind, 0) + count
        if not db.session.scalar(
            db.select(db.func.count(Service.id)).where(Service.sync_status == "pending")
        ):
            break
    return totals


@pytest.fixture
def sent(monkeypatch) -> list[dict]:
    """Every request the plugin sends (the simulator's log has no bodies): method, path
    (with the API prefix) and JSON body."""
    from builtin_plugins.panel_kit.api import Transport

    seen: list[dict] = []
    real = Transport.request

    def request(self, method, path, **kwargs):
        seen.append(
            {"method": method.upper(), "path": self.prefix + path, "body": kwargs.get("json")}
        )
        return real(self, method, path, **kwargs)

    monkeypatch.setattr(Transport, "request", request)
    return seen
