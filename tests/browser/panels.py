"""The panel a browser journey sells on: the store's journeys run once a panel kind.

The store is panel-neutral (issue 23): its customer and admin journeys take the ``panel``
fixture (``tests/browser/conftest.py``), parametrized over :data:`KINDS`, and keep their steps
the same whichever panel serves them. A :class:`Panel` holds what differs: the plugin that
provisions, its running simulator, the instance template with that plugin enabled, the plugin's
settings for the simulator and a Paper product's settings in that panel's terms (Pterodactyl:
nest, egg and location; Pelican: the egg alone and node tags).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kernel.extensions import db
from kernel.testing import build_app

KINDS = ("pterodactyl", "pelican")
# What the journeys' simulators are told: long enough to see "Installing", short enough not
# to wait; tokens live 62 s and Wings warns 60 s before their end (the console refreshes them).
TIMINGS = {"install_seconds": 5, "power_seconds": 1, "backup_seconds": 0}


@dataclass
class Panel:
    """One panel kind for a journey: its plugin, simulator and instance template."""

    kind: str
    sim: Any  # simulators.pterodactyl.Simulator or simulators.pelican.PelicanSimulator
    template: Path

    @property
    def plugin(self) -> str:
        return self.kind  # each panel's provisioner plugin is named after it

    @property
    def label(self) -> str:
        """The provisioner's name in the admin's product form."""
        return {"pterodactyl": "Pterodactyl panel", "pelican": "Pelican panel"}[self.kind]

    def plugin_settings(self) -> dict[str, Any]:
        """The plugin's settings pointing at this panel's simulator."""
        if self.kind == "pterodactyl":
            from tests.pterodactyl.conftest import sim_settings
        else:
            from tests.pelican_plugin.conftest import sim_settings
        return sim_settings(self.sim)

    def configure(self, app) -> None:
        from tests.pelican_plugin.conftest import configure

        configure(app, self.plugin, **self.plugin_settings())

    def client(self):
        """An API client of this panel for the simulator's admin keys (a context manager)."""
        if self.kind == "pterodactyl":
            from builtin_plugins.pterodactyl.client import PanelClient as Client
        else:
            from builtin_plugins.pelican.client import PelicanClient as Client
        return Client(self.sim.url, self.sim.application_key, self.sim.client_key)

    def paper_settings(self, **overrides) -> dict[str, Any]:
        """A Paper server's product settings, in this panel's own terms."""
        if self.kind == "pterodactyl":
            from tests.pterodactyl.conftest import paper_settings
        else:
            from tests.pelican_plugin.conftest import paper_settings
        with self.client() as client:
            return paper_settings(client, **overrides)

    def paper_egg(self) -> int:
        return int(self.paper_settings()["egg_id"])

    def placement(self) -> dict[str, str]:
        """The product form's placement field (``ps_<key>``) and its value for the EU nodes."""
        settings = self.paper_settings()
        key = "location_ids" if self.kind == "pterodactyl" else "tags"
        return {key: str(settings[key])}

    def choice_settings(self, **overrides) -> dict[str, Any]:
        """Paper with Vanilla as a second egg, and the EU and US regions (Pterodactyl:
        locations, Pelican: node tags) offered at checkout."""
        with self.client() as client:
            if self.kind == "pterodactyl":
                from tests.pterodactyl.conftest import ids, paper_settings

                seed = ids(client)
                regions = {"location_ids": f"{seed['eu']},{seed['us']}", "choose_location": True}
            else:
                from tests.pelican_plugin.conftest import ids, paper_settings

                seed = ids(client)
                regions = {"tags": "sim-eu,sim-us", "choose_region": True}
            return paper_settings(
                client, extra_egg_ids=str(seed["vanilla"]), **regions, **overrides
            )

    @property
    def region_field(self) -> str:
        """The checkout's field for the region (``opt-<key>``)."""
        return "location" if self.kind == "pterodactyl" else "region"

    def region_of(self, server: dict[str, Any]) -> str:
        """The region (``sim-eu``, ``sim-us``) of the node a simulator server is on."""
        with self.sim.state.lock:
            node = self.sim.state.nodes[server["node"]]
            if self.kind == "pelican":
                [tag] = node.tags
                return tag
            return self.sim.state.locations[node.location_id].short

    def product(self, *, slug: str, settings: dict[str, Any] | None = None, **fields) -> int:
        """A store product on this panel (in an app context); ``make_product``'s fields."""
        from builtin_plugins.store.testing import make_product

        settings = self.paper_settings() if settings is None else settings
        return make_product(slug, provisioner=self.plugin, settings=settings, **fields)

    def servers(self) -> list[dict[str, Any]]:
        """The simulator's servers (id, name, external_id, status, memory, ...)."""
        return self.sim.snapshot()["servers"]

    def server_named(self, name: str) -> dict[str, Any]:
        found = [s for s in self.servers() if s["name"] == name]
        assert len(found) == 1, (name, self.servers())
        return found[0]

    def created(self) -> list[dict[str, Any]]:
        """The server creations the simulator answered (its request log)."""
        return [
            r
            for r in self.sim.requests
            if r["method"] == "POST" and r["path"].rstrip("/") == "/api/application/servers"
        ]


def start_simulator(kind: str):
    """A seeded, started simulator of ``kind`` with the journeys' timings."""
    if kind == "pterodactyl":
        from simulators.pterodactyl import Simulator
    else:
        from simulators.pelican import PelicanSimulator as Simulator
    simulator = Simulator(seed=True, **TIMINGS)
    simulator.start()
    simulator.set_switches(websocket_token_seconds=62)
    return simulator


def panel_app(template: Path, instance: Path, panels: list[Panel], **config):
    """An app on a copy of ``template``, each of ``panels``' plugins configured for its
    simulator. SQLite: the PostgreSQL pass leaves tests/browser out (the topology journey,
    tests/topology/test_journey_browser.py, is the browser on PostgreSQL)."""
    shutil.copytree(template, instance, dirs_exist_ok=True)
    app = build_app(instance, WTF_CSRF_ENABLED=True, **config)
    for panel in panels:
        assert panel.plugin in app.extensions["pteroca"].loaded, app.extensions["pteroca"].problems
        panel.configure(app)
    with app.app_context():
        db.session.remove()
    return app
