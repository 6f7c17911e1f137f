"""``/api/client`` as Pelican answers it (docs/reference/pelican_api.md §4 "Client API
(`/api/client`)"): Pterodactyl's routes and handlers, with Pelican's differences.

Different here: the flat permission list, resources that report ``missing`` instead of
failing, commands that Wings refuses still answering 204, the power check order, the
websocket token's claims and port, the description setting, and a primary allocation that
may be deleted. Files, backups, schedules and subusers keep Pterodactyl's handlers (the
subuser permission filter and the database id and permission name follow from the
simulator's settings and renderer).
"""

from __future__ import annotations

import hashlib
import time

from simulators.pelican.state import PERMISSIONS
from simulators.pterodactyl import client_api as ptero
from simulators.pterodactyl import errors, wings
from simulators.pterodactyl import state as st
from simulators.pterodactyl.routing import Ctx, Response, Router, no_content
from simulators.pterodactyl.transformers import item
from simulators.pterodactyl.validation import validate

PREFIX = ptero.PREFIX
S = ptero.S
ok = ptero.ok
UNREACHABLE = "ConnectionException"


def register(r: Router) -> None:
    ptero.register(r)
    for method, path, handler in (
        ("GET", PREFIX + "/permissions", permissions),
        ("GET", S + "/websocket", server_websocket),
        ("GET", S + "/resources", server_resources),
        ("POST", S + "/command", server_command),
        ("POST", S + "/power", server_power),
        ("POST", S + "/settings/rename", settings_rename),
        ("DELETE", S + "/network/allocations/{allocation}", allocations_delete),
        ("POST", S + "/backups", backups_store),
        ("PUT", S + "/startup/variable", startup_update),
    ):
        r.override(method, path, handler)
    r.add("POST", S + "/settings/description", settings_description, api="client")
    r.add("PUT", S + "/backups/{backup}/rename", backups_rename, api="client")


def permissions(ctx: Ctx) -> Response:
    """A flat list of keys (Pterodactyl: groups with descriptions)."""
    return ok(item("system_permissions", {"permissions": list(PERMISSIONS)}))


def server_websocket(ctx: Ctx) -> Response:
    """docs/reference/pelican_api.md §4.2 "Core endpoints": no ``user_id`` claim, a sha256
    ``jti``, a ``scope`` claim, and the node's ``daemon_connect`` port."""
    ctx.require(
        "websocket.connect", "You do not have permission to connect to this server's websocket."
    )
    s, user, server = ctx.state, ctx.user, ctx.bound["server"]
    node = s.nodes[server.node_id]
    port = getattr(node, "daemon_connect", node.daemon_listen)
    now = int(time.time())
    claims = {
        "iss": ctx.base_url(),
        "aud": [f"{node.scheme}://{node.fqdn}:{port}"],
        "jti": hashlib.sha256(f"{user.id}{server.uuid}".encode()).hexdigest(),
        "iat": now,
        "nbf": now - 300,
        "exp": now + int(ctx.sim.switch("websocket_token_seconds")),
        "server_uuid": server.uuid,
        "permissions": ctx.permissions(server),
        "user_uuid": user.uuid,
        "scope": "websocket",
        "unique_id": st.random_string(16),
    }
    scheme = "wss" if node.scheme == "https" else "ws"
    return ok(
        {
            "data": {
                "token": wings.sign_jwt(claims, node.daemon_token),
                "socket": f"{scheme}://{node.fqdn}:{port}/api/servers/{server.uuid}/ws",
            }
        }
    )


def server_resources(ctx: Ctx) -> Response:
    """A Wings failure is not an error: the state is ``missing`` with zeros."""
    server = ctx.bound["server"]
    if ctx.sim.wings_failure() is not None:
        return ok(
            item(
                "stats",
                {
                    "current_state": "missing",
                    "is_suspended": False,
                    "resources": {
                        "memory_bytes": 0,
                        "cpu_absolute": 0,
                        "disk_bytes": 0,
                        "network_rx_bytes": 0,
                        "network_tx_bytes": 0,
                        "uptime": 0,
                    },
                },
            )
        )
    return ok(ctx.client().stats(server))


def server_command(ctx: Ctx) -> Response:
    """Wings' answer is not checked: an offline server, or a Wings error, still gives 204;
    only an unreachable Wings is a 500."""
    ctx.require("control.console")
    validate(ctx.data, {"command": "required|string|min:1"})
    failure = ctx.sim.wings_failure()
    if failure is not None and failure.code == UNREACHABLE:
        raise failure
    server = ctx.bound["server"]
    if failure is None and server.power_state == "running":
        wings.run_command(ctx.state, server, ctx.data["command"])
    ptero.record(ctx, "server:console.command", {"command": ctx.data["command"]})
    return no_content()


def server_power(ctx: Ctx) -> Response:
    """An unknown signal is checked against ``websocket.connect``, then fails validation
    (a subuser gets 422 where Pterodactyl answered 403)."""
    server = ctx.bound["server"]
    signal = ctx.data.get("signal")
    permission = wings.POWER_PERMISSION.get(signal) if isinstance(signal, str) else None
    ctx.require(permission or "websocket.connect")
    validate(ctx.data, {"signal": "required|string|in:start,stop,restart,kill"})
    ptero.call_wings(ctx)
    ctx.state.power(server, signal)
    ptero.record(ctx, f"server:power.{signal}")
    return no_content()


def settings_rename(ctx: Ctx) -> Response:
    """Only the name: a ``description`` sent here is ignored."""
    ctx.require("settings.rename")
    server = ctx.bound["server"]
    validate(ctx.data, {"name": "required|string|min:1|max:255"})
    old, server.name = server.name, ctx.data["name"]
    ptero.record(ctx, "server:settings.rename", {"old": old, "new": server.name})
    return no_content()


def settings_description(ctx: Ctx) -> Response:
    ctx.require("settings.description")
    validate(ctx.data, {"description": "nullable|string"})
    server = ctx.bound["server"]
    server.description = ctx.data.get("description") or ""
    ptero.record(ctx, "server:settings.description", {"new": server.description})
    return no_content()


def allocations_delete(ctx: Ctx) -> Response:
    """The primary allocation is not protected (Pterodactyl refused to delete it)."""
    ctx.require("allocation.delete")
    alloc, server = ctx.bound["allocation"], ctx.bound["server"]
    if not server.allocation_limit:
        raise errors.display(
            "You cannot delete allocations for this server: no allocation limit is set."
        )
    alloc.server_id, alloc.notes = None, None  # the server keeps pointing at it
    ptero.record(ctx, "server:allocation.delete", {"allocation": f"{alloc.ip}:{alloc.port}"})
    return no_content()


def backups_store(ctx: Ctx) -> Response:
    """``is_locked`` counts only for users who may delete backups."""
    if not ctx.can(ctx.bound["server"], "backup.delete") and isinstance(ctx.req.body, dict):
        ctx.req.body.pop("is_locked", None)
    return ptero.backups_store(ctx)


def backups_rename(ctx: Ctx) -> Response:
    ctx.require("backup.delete")
    validate(ctx.data, {"name": "required|string|max:255"})
    backup = ctx.bound["backup"]
    old, backup.name = backup.name, ctx.data["name"]
    ptero.record(ctx, "server:backup.rename", {"old_name": old, "new_name": backup.name})
    return ok(ctx.client().backup(backup))


def startup_update(ctx: Ctx) -> Response:
    """An unknown variable is the same 400 as a hidden one (Pterodactyl: a 500)."""
    ctx.require("startup.update")
    server, key = ctx.bound["server"], ctx.data.get("key")
    if isinstance(key, str) and not any(
        v.env_variable == key for v in ctx.state.egg_vars(server.egg_id)
    ):
        raise errors.bad_request("The environment variable you are trying to edit does not exist.")
    return ptero.startup_update(ctx)
