"""What ``pteroca demo`` runs beside the plugins: a panel simulator and the Stripe simulator.

:class:`DemoServices` is registered by :mod:`kernel.demo` for the ``demo_seed`` call only,
ahead of the plugins' own implementations: when the demo's panel plugin (``pterodactyl`` by
default, ``pelican`` with ``pteroca demo --panel pelican``) is loaded and no other panel is
configured, it starts that panel's simulator in the demo's process and points the plugin's
settings at it, so the plugin's own ``demo_seed`` can fill the store from the panel's eggs.

The Stripe-shaped server (``simulators.stripe``, the one the tests use) is started the same way
when the stripe_payments plugin is on and has no keys of its own: the plugin's settings point at
it, and its hosted "Pay" page sends a signed webhook to ``BASE_URL``, so a top-up goes all the
way through on this machine.

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

from kernel import SettingError, hookimpl, plugin_manager, set_settings, settings_for

STATE_FILE = "demo-simulator.json"
DEFAULT_PORT = 8099
INSTALL_SECONDS = 5.0  # long enough to see "installing" in the demo
PANEL_PLUGIN = "pterodactyl"  # the default demo panel
# panel plugin -> (its label, the instance file keeping its simulator's port and keys, the
# simulator's usual port, settings pointing the plugin at its own seed data)
PANELS: dict[str, tuple[str, str, int, dict[str, str]]] = {
    "pterodactyl": ("Pterodactyl", STATE_FILE, DEFAULT_PORT, {"default_location": "1"}),
    "pelican": ("Pelican", "demo-pelican.json", 8098, {"default_tags": ""}),
}
STRIPE_PLUGIN = "stripe_payments"
STRIPE_STATE = "demo-stripe.json"

_running: dict[str, Any] = {}  # the simulator of this process (one demo per process)


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _simulator_class(panel: str):
    if panel == "pelican":
        from simulators.pelican import PelicanSimulator

        return PelicanSimulator
    from simulators.pterodactyl import Simulator

    return Simulator


def start_simulator(instance: Path, panel: str = PANEL_PLUGIN):
    """The demo's ``panel`` simulator, started once per process with the keys kept in the
    instance."""
    key = "sim" if panel == PANEL_PLUGIN else f"sim:{panel}"
    if key in _running:
        return _running[key]
    _label, state_file, default_port, _settings = PANELS[panel]
    path = instance / state_file
    saved = json.loads(path.read_text()) if path.exists() else {}
    port = int(saved.get("port") or default_port)
    sim = _simulator_class(panel)(
        port=port if _port_free(port) else 0,
        seed=True,
        install_seconds=INSTALL_SECONDS,
        application_key=saved.get("application_key"),
        client_key=saved.get("client_key"),
    )
    sim.start()
    state = {
        "port": int(sim.url.rsplit(":", 1)[1]),
        "application_key": sim.application_key,
        "client_key": sim.client_key,
    }
    if state != saved:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(state, out, indent=2)
    _running[key] = sim
    return sim


def start_stripe(instance: Path, webhook_url: str):
    """The demo's Stripe-shaped server (once per process), sending webhooks to ``webhook_url``."""
    from simulators.stripe import FakeStripe

    fake = _running.get("stripe")
    if fake is None:
        fake = _running["stripe"] = FakeStripe().start()
        state = {"url": fake.url}
        fd = os.open(instance / STRIPE_STATE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(state, out, indent=2)
    fake.webhook_url = webhook_url
    return fake


def stop_simulator() -> None:
    for key in list(_running):
        _running.pop(key).stop()


def _stripe_lines() -> list[str]:
    """Point the Stripe plugin at the simulator unless the admin gave it real keys."""
    if not plugin_manager().has_plugin(STRIPE_PLUGIN):
        return []
    try:
        current = settings_for(STRIPE_PLUGIN)
    except SettingError:
        return []
    instance = Path(current_app.instance_path)
    if current.get("secret_key") and not (instance / STRIPE_STATE).exists():
        return ["Stripe: using the configured account (no simulator)"]
    base = str(current_app.config.get("BASE_URL") or "").rstrip("/")
    fake = start_stripe(instance, f"{base}/payments/stripe/webhook")
    set_settings(
        STRIPE_PLUGIN,
        {
            "secret_key": fake.secret_key,
            "webhook_secret": fake.webhook_secret,
            "api_base": fake.url,
            "payment_methods": "card",
        },
    )
    return [f"Stripe simulator: {fake.url}  (top-ups pay on its page; webhooks to {base})"]


class DemoServices:
    """The demo's outside services, as a hook implementation that runs before the plugins'.
    ``panel``: the panel plugin the demo runs on (a key of PANELS)."""

    def __init__(self, panel: str = PANEL_PLUGIN) -> None:
        if panel not in PANELS:
            raise ValueError(f"unknown demo panel {panel!r}; one of {', '.join(PANELS)}")
        self.panel = panel

    @hookimpl(tryfirst=True)
    def demo_seed(self, admin, customer) -> list[str]:
        return _stripe_lines() + _panel_lines(self.panel)


def _panel_lines(panel: str = PANEL_PLUGIN) -> list[str]:
    """Point the panel plugin at its simulator unless a panel is configured."""
    label, state_file, _port, extra = PANELS[panel]
    if not plugin_manager().has_plugin(panel):
        return [f"{label}: the {panel} plugin is not enabled, so the demo has no panel"]
    try:
        current = settings_for(panel)
    except SettingError:
        return []
    instance = Path(current_app.instance_path)
    if current.get("panel_url") and not (instance / state_file).exists():
        return [f"{label}: using the configured panel {current['panel_url']} (no simulator)"]
    sim = start_simulator(instance, panel)
    set_settings(
        panel,
        {
            "panel_url": sim.url,
            "application_key": sim.application_key,
            "client_key": sim.client_key,
            **extra,
        },
    )
    return [f"{label} simulator: {sim.url}  (panel login admin@simulator.test / password)"]
