"""The console tab: live state and usage, power actions, commands, the websocket."""

from __future__ import annotations

import re
from typing import Any

from flask_babel import gettext as _

from builtin_plugins.pterodactyl.client_api import POWER_SIGNALS
from builtin_plugins.pterodactyl.tabs.access import Access
from builtin_plugins.pterodactyl.tabs.actions import (
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


def live_status(access: Access) -> dict[str, Any]:
    """The server's state and usage for the console page (JSON-able; never raises)."""
    conf = None
    try:
        conf = config(access)
        stats = with_client(lambda c: c.client.resources(access.identifier))
    except TabError as exc:
        return {
            "ok": False,
            "state": exc.state or "unknown",
            "message": str(exc),
            "status": exc.status,
        }
    usage = stats.get("resources") or {}
    mib = 1024 * 1024
    return {
        "ok": True,
        "state": "suspended"
        if stats.get("is_suspended")
        else str(stats.get("current_state") or "offline"),
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
    found = with_client(lambda c: c.client.websocket(access.identifier))
    if not found.get("token") or not found.get("socket"):
        raise TabError(_("The panel gave no console address; try again in a minute."), 502)
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
    with_client(lambda c: c.client.power(access.identifier, signal))
    record(access, "power", signal=signal)


def send_command(access: Access, command: str) -> None:
    require(access, "control.console")
    text = text_input(command, _("The command"), limit=MAX_COMMAND)
    with_client(lambda c: c.client.send_command(access.identifier, text))
