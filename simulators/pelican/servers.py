"""Server writes whose outcome depends on Wings, as Pelican does them
(docs/reference/pelican_api.md §7.7 "Timeouts, retries and Wings faults").

Pelican has no ``DaemonConnectionException``: every Wings failure is a 500, either
``ConnectionException`` (Wings unreachable) or ``RequestException`` (Wings answered an
error), and what has already changed when it comes differs per operation:

| operation          | unreachable                   | error response            |
| suspend/unsuspend  | 500, new status kept          | 500, new status kept      |
| reinstall          | 500, rolled back              | 500, rolled back          |
| build              | 200 (only logged)             | 500 after saving          |
| delete             | 500, nothing deleted          | ignored: deleted, 204     |
"""

from __future__ import annotations

from typing import Any

from simulators.pterodactyl import application_api as ptero
from simulators.pterodactyl import errors
from simulators.pterodactyl import state as st
from simulators.pterodactyl.common import delete_server_rows, int_or_none
from simulators.pterodactyl.routing import Ctx, Response, no_content
from simulators.pterodactyl.validation import to_bool, validate

UNREACHABLE = "ConnectionException"


IO_RULE = "between:0,1000"  # Pterodactyl: 10-1000
FEATURE_LIMIT_RULES = ptero.FEATURE_LIMIT_RULES


def limit_rules(prefix: str = "limits.", required: str = "required") -> dict[str, str]:
    """``Server::$validationRules`` for the limits: io 0-1000 (Pterodactyl: 10-1000)."""
    return ptero.limit_rules(prefix, required, io=IO_RULE)


def _build_rules(server: st.Server, s: st.State) -> dict[str, Any]:
    """Pterodactyl's build rules with an optional allocation and Pelican's ``oom_killer``."""
    return ptero.build_rules(server, s, allocation="nullable", oom="oom_killer", io=IO_RULE)


def servers_build(ctx: Ctx) -> Response:
    """docs/reference/pelican_api.md §3.2.3 "Update build: `PATCH /servers/{id}/build`"."""
    s, data, server = ctx.state, ctx.data, ctx.bound["server"]
    validate(data, _build_rules(server, s))
    if "allocation" not in data:  # the request reads the key unconditionally
        raise errors.server_error("ErrorException")
    values = data["limits"] if isinstance(data.get("limits"), dict) else data
    wanted = int_or_none(data["allocation"])
    add = [int(a) for a in data.get("add_allocations") or []]
    remove = [int(a) for a in data.get("remove_allocations") or []]
    snapshot = {a.id: (a.server_id, a.notes) for a in s.allocations.values()}
    try:
        for a in sorted(s.allocations.values(), key=lambda a: a.id):
            if a.id in add and a.node_id == server.node_id and s.is_free(a):
                a.server_id, a.notes = server.id, None
        dropping = set(remove) - set(add)
        if server.allocation_id in dropping:  # the primary goes: pick a replacement
            rest = [a.id for a in s.server_allocations(server) if a.id not in remove]
            wanted = rest[0] if rest else (add[0] if add else None)
        for a in s.allocations.values():
            if a.server_id == server.id and a.id in dropping:
                a.server_id, a.notes = None, None
        if wanted is not None and wanted != server.allocation_id:
            target = s.allocations.get(wanted)
            if target is None or target.server_id != server.id:
                raise errors.not_found()  # findOrFail on the server's allocations
    except errors.ApiError:
        for alloc_id, (owner, notes) in snapshot.items():
            s.allocations[alloc_id].server_id, s.allocations[alloc_id].notes = owner, notes
        raise
    server.allocation_id = wanted
    for name in ("memory", "swap", "disk", "io", "cpu"):
        if values.get(name) is not None:
            setattr(server, name, int(float(values[name])))
    if "threads" in values:
        server.threads = values.get("threads")
    if data.get("oom_killer") is not None:
        server.oom_disabled = not to_bool(data["oom_killer"])
    fl = data["feature_limits"]
    server.database_limit = int_or_none(fl.get("databases"))
    server.allocation_limit = int_or_none(fl.get("allocations"))
    server.backup_limit = int_or_none(fl.get("backups")) or 0
    server.updated_at = st.now()
    failure = ctx.sim.wings_failure()
    if failure is not None and failure.code != UNREACHABLE:
        raise failure  # saved, but the sync's error surfaces
    return Response(200, ctx.app().server(server, ctx.includes()))


def _toggle_suspension(ctx: Ctx, suspend: bool) -> Response:
    server = ctx.bound["server"]
    if (server.status == "suspended") == suspend:
        return no_content()  # idempotent, and Wings is not called
    if server.transferring:
        raise errors.ApiError(
            409,
            "ConflictHttpException",
            "Cannot toggle suspension status on a server that is currently being transferred.",
        )
    server.status = "suspended" if suspend else None  # saved before Wings is told
    server.updated_at = st.now()
    failure = ctx.sim.wings_failure()
    if failure is not None:
        raise failure  # no rollback
    if suspend:
        ctx.state.power(server, "kill")
    return no_content()


def servers_suspend(ctx: Ctx) -> Response:
    return _toggle_suspension(ctx, True)


def servers_unsuspend(ctx: Ctx) -> Response:
    return _toggle_suspension(ctx, False)


def servers_reinstall(ctx: Ctx) -> Response:
    failure = ctx.sim.wings_failure()
    if failure is not None:
        raise failure  # one transaction with the Wings call: rolled back
    ctx.state.start_install(ctx.bound["server"], reinstall=True)
    return no_content()


def servers_delete(ctx: Ctx) -> Response:
    failure = ctx.sim.wings_failure()
    if failure is not None and failure.code == UNREACHABLE:
        raise failure  # nothing deleted; DELETE .../force goes ahead anyway
    delete_server_rows(ctx.state, ctx.bound["server"])  # a Wings error answer is ignored
    return no_content()
