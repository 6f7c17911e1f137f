"""The console tab: live state and usage, power actions, commands, the websocket."""

from __future__ import annotations

import re
import threading
import time
from typing import Any

from flask_babel import gettext as _

from builtin_plugins.panel_kit import errors, messages
from builtin_plugins.panel_kit.client_api import POWER_SIGNALS
from builtin_plugins.panel_kit.tabs.access import Access
from builtin_plugins.panel_kit.tabs.actions import (
    TabError,
    config,
    record,
    require,
    text_input,
    with_client,
)

POWER_PERMISSION = {
    "start": "control.start",
    "stop": "control.stop",
    "kill": "control.stop",
    "restart": "control.restart",
}
MAX_COMMAND = 2000
# Pelican's "missing": Wings did not answer (a 200, not an error: pelican_api.md §4), so the
# state is not known (not "offline") and the customer hears what Pterodactyl's 5xx tells them.
UNKNOWN_STATES = frozenset({"missing"})
RUNNING_STATES = frozenset({"running", "starting"})
# Console tokens reused for their life where the panel throttles the websocket endpoint
# (PanelTabs.console_token_seconds): (blueprint, identifier) -> (expires, answer).
_tokens: dict[tuple[str, str], tuple[float, dict[str, str]]] = {}
_tokens_lock = threading.Lock()


def live_status(access: Access) -> dict[str, Any]:
    """The server's state and usage for the console page (JSON-able; never raises)."""
    conf = None
    try:
        conf = config(access)
        stats = with_client(access, lambda c: c.client.resources(access.identifier))
    except TabError as exc:
        return {
            "ok": False,
            "state": exc.state or "unknown",
            "message": str(exc),
            "status": exc.status,
        }
    usage = stats.get("resources") or {}
    mib = 1024 * 1024
    state = str(stats.get("current_state") or "offline")
    if state in UNKNOWN_STATES and not stats.get("is_suspended"):
        said = messages.for_customer(errors.DaemonError(state))
        return {"ok": False, "state": "unknown", "message": said.text, "status": said.status}
    return {
        "ok": True,
        "state": "suspended" if stats.get("is_suspended") else state,
        "memory_bytes": int(usage.get("memory_bytes") or 0),
        "memory_limit_bytes": (conf.memory * mib) if conf and conf.memory else 0,
        "cpu_absolute": round(float(usage.get("cpu_absolute") or 0.0), 2),
        "cpu_limit": conf.cpu if conf else 0,
        "disk_bytes": int(usage.get("disk_bytes") or 0),
        "disk_limit_bytes": (conf.disk * mib) if conf and conf.disk else 0,
        "network_rx_bytes": int(usage.get("network_rx_bytes") or 0),
        "network_tx_bytes": int(usage.get("network_tx_bytes") or 0),
        "uptime_ms": int(usage.get("uptime") or 0),
    }


def console_credentials(access: Access) -> dict[str, str]:
    """A websocket token and the Wings socket URL for the live console (10 minutes).

    The token is signed for the client key's user, a root admin, so it allows every
    action on the socket: only viewers allowed the console and all power actions get one.
    """
    if not access.live_console:
        raise TabError(
            _(
                "The live console needs the console and power permissions; ask the "
                "server's owner for them."
            ),
            403,
        )
    ttl = access.panel.console_token_seconds
    key = (access.panel.blueprint, access.identifier)
    if ttl > 0:
        with _tokens_lock:
            cached = _tokens.get(key)
        if cached is not None and cached[0] > time.monotonic():
            return dict(cached[1])
    found = with_client(access, lambda c: c.client.websocket(access.identifier))
    if not found.get("token") or not found.get("socket"):
        raise TabError(_("The panel gave no console address; try again in a minute."), 502)
    if ttl > 0:
        now = time.monotonic()
        with _tokens_lock:
            for stale in [k for k, (expires, _found) in _tokens.items() if expires <= now]:
                del _tokens[stale]  # one entry per live server at most
            _tokens[key] = (now + ttl, dict(found))
    return found


def socket_origin(socket_url: str) -> str:
    """``wss://node:8080/api/servers/<uuid>/ws`` -> ``wss://node:8080`` (for the CSP)."""
    match = re.match(r"^(wss?://[^/\s'\";]+)", socket_url or "")
    return match.group(1) if match else ""


def power(access: Access, signal: str) -> None:
    signal = str(signal or "").strip().lower()
    if signal not in POWER_SIGNALS:
        raise TabError(_("Choose start, stop, restart or kill."))
    require(access, POWER_PERMISSION[signal])
    with_client(access, lambda c: c.client.power(access.identifier, signal))
    record(access, "power", signal=signal)


def send_command(access: Access, command: str) -> None:
    require(access, "control.console")
    text = text_input(command, _("The command"), limit=MAX_COMMAND)

    def send(client) -> None:
        if access.panel.command_needs_online:  # the panel would answer 204 and drop it
            state = str(client.client.resources(access.identifier).get("current_state") or "")
            if state not in RUNNING_STATES:
                raise TabError(_("The server must be running to accept console commands."), 409)
        client.client.send_command(access.identifier, text)

    with_client(access, send)
