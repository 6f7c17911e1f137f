"""Route-model binding as Pelican orders it (docs/reference/pelican_api.md §1.4 "Order of
checks (derived from the middleware configuration)").

Pelican binds path models **before** authenticating, so an unknown ``{server}`` (or user,
node, egg...) is a 404 even without a key. Client routes use scoped bindings: a backup,
database, schedule, allocation or subuser of another server is the same generic 404. Who may
see the server and the 409 state gate come after authentication (:func:`client_access`).
"""

from __future__ import annotations

from typing import Any

from simulators.pelican import roles
from simulators.pterodactyl import bindings as ptero
from simulators.pterodactyl import errors
from simulators.pterodactyl.routing import Ctx


def _child(items: Any, test: Any) -> Any:
    found = next((x for x in items if test(x)), None)
    if found is None:
        raise errors.not_found()
    return found


def bind_models(ctx: Ctx) -> None:
    """Every path model, or the generic 404; runs before the key is looked at."""
    if ctx.route.api == "application":
        ptero.bind_application(ctx)
        roles.bind_role(ctx)
        return
    s, p, b = ctx.state, ctx.params, ctx.bound
    if "server" not in p:
        return
    server = s.server_by_ref(p["server"])
    if server is None:
        raise errors.not_found()
    b["server"] = server
    mine = [x for x in s.backups.values() if x.server_id == server.id]
    if "backup" in p:
        b["backup"] = _child(mine, lambda x: x.uuid == p["backup"])
    if "database" in p:
        b["database"] = _child(
            s.databases.values(), lambda x: x.server_id == server.id and str(x.id) == p["database"]
        )
    if "schedule" in p:
        b["schedule"] = _child(
            s.schedules.values(), lambda x: x.server_id == server.id and str(x.id) == p["schedule"]
        )
    if "task" in p:
        b["task"] = _child(
            s.tasks.values(), lambda x: x.schedule_id == b["schedule"].id and str(x.id) == p["task"]
        )
    if "allocation" in p:
        b["allocation"] = _child(
            s.allocations.values(),
            lambda x: x.server_id == server.id and str(x.id) == p["allocation"],
        )
    if "user" in p:
        b["subuser"] = _child(
            s.subusers.values(),
            lambda x: (
                x.server_id == server.id
                and s.users.get(x.user_id) is not None
                and s.users[x.user_id].uuid == p["user"]
            ),
        )


def state_conflict(ctx: Ctx) -> str | None:
    """Pterodactyl's reasons, plus ``reinstall_failed`` (not installed in Pelican)."""
    server = ctx.bound["server"]
    reason = ptero.state_conflict(ctx.state, server)
    if reason is None and server.status == "reinstall_failed":
        return "installing"
    return reason


def client_access(ctx: Ctx) -> None:
    """After authentication: 404 to users who may not see the server, then the 409 gate
    (docs/reference/pelican_api.md §4.1 "Server state gate (409)")."""
    server = ctx.bound.get("server")
    if server is None:
        return
    user = ctx.user
    if (
        user.id != server.owner_id
        and not user.root_admin
        and ctx.state.subuser_of(server, user) is None
    ):
        raise errors.not_found(errors.CLIENT_SERVER_NOT_FOUND)
    reason = state_conflict(ctx)
    if reason is None or ctx.route.gate == "no":
        return
    if ctx.route.gate == "ws" and user.root_admin and reason not in ("suspended", "maintenance"):
        return  # admins may watch an installing, restoring or moving server's console
    raise errors.state_conflict(ptero.STATE_MESSAGES[reason])
