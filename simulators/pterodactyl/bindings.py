"""Route-model binding: path parameters -> objects, with the panel's 404s and the 409 gate."""

from __future__ import annotations

from typing import Any

from simulators.pterodactyl import errors
from simulators.pterodactyl import state as st
from simulators.pterodactyl.routing import Ctx


def as_id(value: str) -> int | None:
    return int(value) if value.isdigit() else None


def _get(table: dict[int, Any], value: str) -> Any:
    found = table.get(as_id(value)) if as_id(value) is not None else None
    if found is None:
        raise errors.not_found()
    return found


def bind_application(ctx: Ctx) -> None:
    s, p, b = ctx.state, ctx.params, ctx.bound
    for name, table in (
        ("user", s.users),
        ("server", s.servers),
        ("node", s.nodes),
        ("location", s.locations),
        ("nest", s.nests),
    ):
        if name in p:
            b[name] = _get(table, p[name])
    if "egg" in p:
        egg = _get(s.eggs, p["egg"])
        if "nest" in b and egg.nest_id != b["nest"].id:
            raise errors.not_found()
        b["egg"] = egg
    if "allocation" in p:
        alloc = _get(s.allocations, p["allocation"])
        if "node" in b and alloc.node_id != b["node"].id:
            raise errors.not_found()
        b["allocation"] = alloc
    if "database" in p:
        db = _get(s.databases, p["database"])
        if "server" in b and db.server_id != b["server"].id:
            raise errors.not_found()
        b["database"] = db


STATE_MESSAGES = {
    "suspended": "This server is currently suspended and the functionality requested is "
    "unavailable.",
    "maintenance": "The node of this server is currently under maintenance and the "
    "functionality requested is unavailable.",
    "installing": "This server has not yet completed its installation process, please try "
    "again later.",
    "restoring": "This server is currently restoring from a backup, please try again later.",
    "transfer": "This server is currently being transferred to a new machine, please try "
    "again later.",
}


def state_conflict(s: st.State, server: st.Server) -> str | None:
    """The first reason the server is in conflict, or None
    (docs/reference/pterodactyl_api.md §4.1 "Server state gate (409)")."""
    node = s.nodes.get(server.node_id)
    if server.status == "suspended":
        return "suspended"
    if node is not None and node.maintenance_mode:
        return "maintenance"
    if server.status in ("installing", "install_failed"):
        return "installing"
    if server.status == "restoring_backup":
        return "restoring"
    if server.transferring:
        return "transfer"
    return None


def bind_client(ctx: Ctx) -> None:
    s, p, b = ctx.state, ctx.params, ctx.bound
    if "server" not in p:
        return
    server = s.server_by_ref(p["server"])
    if server is None:
        raise errors.not_found()
    user = ctx.user
    if user.id != server.owner_id and not user.root_admin and s.subuser_of(server, user) is None:
        raise errors.not_found(errors.CLIENT_SERVER_NOT_FOUND)
    b["server"] = server
    reason = state_conflict(s, server)
    if reason is not None and ctx.route.gate != "no":
        allowed_ws = (
            ctx.route.gate == "ws"
            and user.root_admin
            and reason in ("installing", "restoring", "transfer")
        )
        if not allowed_ws:
            raise errors.state_conflict(STATE_MESSAGES[reason])
    # child resources
    if "backup" in p:
        backup = next((x for x in s.backups.values() if x.uuid == p["backup"]), None)
        if backup is None:
            raise errors.not_found()
        if backup.server_id != server.id:
            raise errors.not_found(errors.CHILD_NOT_FOUND)
        b["backup"] = backup
    if "database" in p:
        db = next((x for x in s.databases.values() if x.hashid == p["database"]), None)
        if db is None:
            raise errors.not_found()
        if db.server_id != server.id:
            raise errors.not_found(errors.CHILD_NOT_FOUND)
        b["database"] = db
    if "schedule" in p:
        sched = _get(s.schedules, p["schedule"])
        if sched.server_id != server.id:
            raise errors.not_found(errors.CHILD_NOT_FOUND)
        b["schedule"] = sched
    if "task" in p:
        task = _get(s.tasks, p["task"])
        if task.schedule_id != b["schedule"].id:
            raise errors.not_found(errors.CHILD_NOT_FOUND)
        b["task"] = task
    if "allocation" in p:
        alloc = _get(s.allocations, p["allocation"])
        if alloc.server_id != server.id:
            raise errors.not_found(errors.CHILD_NOT_FOUND)
        b["allocation"] = alloc
    if "user" in p:
        sub = next(
            (
                x
                for x in s.subusers.values()
                if x.server_id == server.id
                and s.users.get(x.user_id)
                and s.users[x.user_id].uuid == p["user"]
            ),
            None,
        )
        if sub is None:
            raise errors.not_found()
        b["subuser"] = sub
