"""``/api/client``: the servers a user can reach, account, and every server tab's endpoints."""

from __future__ import annotations

import posixpath
import re
import secrets
import time
from datetime import UTC, datetime
from typing import Any

from simulators.pterodactyl import errors, wings
from simulators.pterodactyl import state as st
from simulators.pterodactyl.application_api import create_database
from simulators.pterodactyl.common import (
    apply_filters,
    apply_sort,
    like,
    partial,
    unique,
)
from simulators.pterodactyl.common import wings as call_wings
from simulators.pterodactyl.routing import (
    Ctx,
    Response,
    Router,
    accepted,
    no_content,
)
from simulators.pterodactyl.transformers import collection, item, paginate
from simulators.pterodactyl.validation import Rule, to_bool, validate

PREFIX = "/api/client"
S = PREFIX + "/servers/{server}"
MAX_FILE_VIEW = 4 * 1024 * 1024
AUTO_ALLOCATION_RANGE = (25565, 28000)
REQUIRED_STRING = "required|string"
IPV4_PORT = re.compile(r"^(\d{1,3}(\.\d{1,3}){0,3})?(:\d{1,5})?$")


def register(r: Router) -> None:
    def add(method: str, path: str, handler: Any, gate: str = "yes") -> None:
        r.add(method, path, handler, api="client", gate=gate)

    add("GET", PREFIX, servers_index)
    add("GET", PREFIX + "/permissions", permissions)
    add("GET", PREFIX + "/account", account)
    add("PUT", PREFIX + "/account/email", account_email)
    add("PUT", PREFIX + "/account/password", account_password)
    add("GET", PREFIX + "/account/api-keys", api_keys_index)
    add("POST", PREFIX + "/account/api-keys", api_keys_store)
    add("DELETE", PREFIX + "/account/api-keys/{identifier}", api_keys_delete)
    add("GET", PREFIX + "/account/ssh-keys", ssh_keys_index)
    add("POST", PREFIX + "/account/ssh-keys", ssh_keys_store)
    add("POST", PREFIX + "/account/ssh-keys/remove", ssh_keys_remove)
    add("GET", PREFIX + "/account/activity", account_activity)

    add("GET", S, server_view, gate="no")
    add("GET", S + "/websocket", server_websocket, gate="ws")
    add("GET", S + "/resources", server_resources)
    add("GET", S + "/activity", server_activity)
    add("POST", S + "/command", server_command)
    add("POST", S + "/power", server_power)

    add("GET", S + "/databases", databases_index)
    add("POST", S + "/databases", databases_store)
    add("POST", S + "/databases/{database}/rotate-password", databases_rotate)
    add("DELETE", S + "/databases/{database}", databases_delete)

    add("GET", S + "/files/list", files_list)
    add("GET", S + "/files/contents", files_contents)
    add("GET", S + "/files/download", files_download)
    add("PUT", S + "/files/rename", files_rename)
    add("POST", S + "/files/copy", files_copy)
    add("POST", S + "/files/write", files_write)
    add("POST", S + "/files/compress", files_compress)
    add("POST", S + "/files/decompress", files_decompress)
    add("POST", S + "/files/delete", files_delete)
    add("POST", S + "/files/create-folder", files_create_folder)
    add("POST", S + "/files/chmod", files_chmod)
    add("POST", S + "/files/pull", files_pull)
    add("GET", S + "/files/upload", files_upload)

    add("GET", S + "/schedules", schedules_index)
    add("POST", S + "/schedules", schedules_store)
    add("GET", S + "/schedules/{schedule}", schedules_view)
    add("POST", S + "/schedules/{schedule}", schedules_update)
    add("POST", S + "/schedules/{schedule}/execute", schedules_execute)
    add("DELETE", S + "/schedules/{schedule}", schedules_delete)
    add("POST", S + "/schedules/{schedule}/tasks", tasks_store)
    add("POST", S + "/schedules/{schedule}/tasks/{task}", tasks_update)
    add("DELETE", S + "/schedules/{schedule}/tasks/{task}", tasks_delete)

    add("GET", S + "/network/allocations", allocations_index)
    add("POST", S + "/network/allocations", allocations_store)
    add("POST", S + "/network/allocations/{allocation}", allocations_update)
    add("POST", S + "/network/allocations/{allocation}/primary", allocations_primary)
    add("DELETE", S + "/network/allocations/{allocation}", allocations_delete)

    add("GET", S + "/users", subusers_index)
    add("POST", S + "/users", subusers_store)
    add("GET", S + "/users/{user}", subusers_view)
    add("POST", S + "/users/{user}", subusers_update)
    add("DELETE", S + "/users/{user}", subusers_delete)

    add("GET", S + "/backups", backups_index)
    add("POST", S + "/backups", backups_store)
    add("GET", S + "/backups/{backup}", backups_view)
    add("GET", S + "/backups/{backup}/download", backups_download)
    add("POST", S + "/backups/{backup}/lock", backups_lock)
    add("POST", S + "/backups/{backup}/restore", backups_restore)
    add("DELETE", S + "/backups/{backup}", backups_delete)

    add("GET", S + "/startup", startup_index)
    add("PUT", S + "/startup/variable", startup_update)

    add("POST", S + "/settings/rename", settings_rename)
    add("POST", S + "/settings/reinstall", settings_reinstall)
    add("PUT", S + "/settings/docker-image", settings_docker_image)


def ok(body: Any, status: int = 200) -> Response:
    return Response(status, body)


def record(
    ctx: Ctx, event: str, properties: dict[str, Any] | None = None, server: st.Server | None = None
) -> None:
    ctx.state.record(
        event,
        ctx.user,
        server or ctx.bound.get("server"),
        properties,
        is_api=True,
        ip=ctx.req.remote_ip,
    )


# --- the server list, permissions, account ----------------------------------------------------


def _multi_field(server_allocs: Any) -> Any:
    def test(server: st.Server, values: list[str]) -> bool:
        for value in values:
            if IPV4_PORT.match(value) and (":" in value or value.count(".") == 3):
                ip, _, port = value.partition(":")
                for alloc in server_allocs(server):
                    if (not ip or alloc.ip.startswith(ip)) and (
                        not port or str(alloc.port) == port
                    ):
                        return True
            elif (
                server.uuid.startswith(value)
                or server.identifier == value
                or server.external_id == value
                or like(server.name, value)
            ):
                return True
        return False

    return test


def servers_index(ctx: Ctx) -> Response:
    s, user = ctx.state, ctx.user
    everything = list(s.servers.values())
    accessible = [
        x for x in everything if x.owner_id == user.id or s.subuser_of(x, user) is not None
    ]
    kind = ctx.req.query.get("type")
    if kind in ("admin", "admin-all"):
        if not user.root_admin:
            servers: list[st.Server] = []
        elif kind == "admin-all":
            servers = everything
        else:
            ids = {x.id for x in accessible}
            servers = [x for x in everything if x.id not in ids]
    elif kind == "owner":
        servers = [x for x in everything if x.owner_id == user.id]
    else:
        servers = accessible
    servers = apply_filters(
        ctx,
        servers,
        {
            "uuid": partial(lambda x: x.uuid),
            "name": partial(lambda x: x.name),
            "description": partial(lambda x: x.description),
            "external_id": partial(lambda x: x.external_id),
            "*": _multi_field(s.server_allocations),
        },
    )
    servers = sorted(servers, key=lambda x: x.id)
    inc = ctx.includes()
    renderer = ctx.client()
    return ok(
        paginate(
            servers,
            lambda x: renderer.server(x, inc),
            ctx.page(default=50, maximum=100, client=True),
        )
    )


def permissions(ctx: Ctx) -> Response:
    return ok(item("system_permissions", {"permissions": st.PERMISSIONS}))


def account(ctx: Ctx) -> Response:
    return ok(ctx.client().account(ctx.user))


def account_email(ctx: Ctx) -> Response:
    s, data, user = ctx.state, ctx.data, ctx.user
    validate(
        data,
        {
            "email": [
                "required",
                "email",
                f"between:1,{ctx.sim.string_max}",
                unique(
                    lambda v: any(
                        u.email.lower() == str(v).lower() and u.id != user.id
                        for u in s.users.values()
                    )
                ),
            ],
            "password": REQUIRED_STRING,
        },
    )
    if not user.check_password(data["password"]):
        raise errors.display(
            "The password provided was invalid for this account.",
            "InvalidPasswordProvidedException",
        )
    user.email = data["email"]
    return no_content()


def account_password(ctx: Ctx) -> Response:
    data, user = ctx.data, ctx.user
    validate(
        data,
        {
            "current_password": REQUIRED_STRING,
            "password": [
                "required",
                "string",
                "min:8",
                Rule(
                    "confirmed",
                    lambda v: v == data.get("password_confirmation"),
                    "The {attribute} confirmation does not match.",
                ),
            ],
        },
    )
    if not user.check_password(data["current_password"]):
        raise errors.display(
            "The password provided was invalid for this account.",
            "InvalidPasswordProvidedException",
        )
    user.set_password(data["password"])
    return no_content()


def api_keys_index(ctx: Ctx) -> Response:
    keys = sorted(
        (
            k
            for k in ctx.state.api_keys.values()
            if k.user_id == ctx.user.id and k.key_type == st.ACCOUNT_KEY
        ),
        key=lambda k: k.id,
    )
    return ok(collection([ctx.client().api_key(k) for k in keys]))


def api_keys_store(ctx: Ctx) -> Response:
    s, data, user = ctx.state, ctx.data, ctx.user
    validate(
        data,
        {"description": "required|string|min:4", "allowed_ips": "array", "allowed_ips.*": "ip"},
    )
    count = sum(
        1 for k in s.api_keys.values() if k.user_id == user.id and k.key_type == st.ACCOUNT_KEY
    )
    if count >= 25:
        raise errors.display("You have reached the account limit for number of API keys.")
    key = st.add_key(
        s,
        user,
        st.ACCOUNT_KEY,
        memo=data["description"],
        allowed_ips=[str(ip) for ip in data.get("allowed_ips") or []],
    )
    record(ctx, "user:api-key.create", {"identifier": key.identifier})
    body = ctx.client().api_key(key)
    body["meta"] = {"secret_token": key.token}
    return ok(body)


def api_keys_delete(ctx: Ctx) -> Response:
    s = ctx.state
    key = s.api_keys.get(ctx.params["identifier"])
    if key is None or key.user_id != ctx.user.id or key.key_type != st.ACCOUNT_KEY:
        raise errors.not_found()
    del s.api_keys[key.identifier]
    return no_content()


def ssh_keys_index(ctx: Ctx) -> Response:
    keys = sorted(
        (k for k in ctx.state.ssh_keys.values() if k.user_id == ctx.user.id), key=lambda k: k.id
    )
    return ok(collection([ctx.client().ssh_key(k) for k in keys]))


def ssh_keys_store(ctx: Ctx) -> Response:
    import base64
    import hashlib

    s, data = ctx.state, ctx.data
    validate(data, {"name": "required|string", "public_key": "required|string"})
    parts = str(data["public_key"]).split()
    try:
        blob = base64.b64decode(parts[1], validate=True) if len(parts) >= 2 else b""
    except ValueError:
        blob = b""
    if not blob or not parts[0].startswith(("ssh-", "ecdsa-")):
        raise errors.display("The public key provided is not valid.")
    fingerprint = "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    if any(k.fingerprint == fingerprint and k.user_id == ctx.user.id for k in s.ssh_keys.values()):
        raise errors.display("The public key provided already exists on your account.")
    key = st.SshKey(
        s.next_id("ssh_keys"), ctx.user.id, data["name"], data["public_key"], fingerprint
    )
    s.ssh_keys[key.id] = key
    return ok(ctx.client().ssh_key(key))


def ssh_keys_remove(ctx: Ctx) -> Response:
    s, data = ctx.state, ctx.data
    validate(data, {"fingerprint": "required|string"})
    for key_id in [
        k
        for k, v in s.ssh_keys.items()
        if v.user_id == ctx.user.id and v.fingerprint == data["fingerprint"]
    ]:
        del s.ssh_keys[key_id]
    return no_content()


def _activity(ctx: Ctx, entries: list[st.Activity]) -> Response:
    entries = apply_filters(ctx, entries, {"event": partial(lambda a: a.event)})
    entries = apply_sort(
        ctx, entries, {"timestamp": lambda a: (a.timestamp, a.id)}, default="-timestamp"
    )
    inc = ctx.includes()
    renderer = ctx.client()
    return ok(
        paginate(
            entries,
            lambda a: renderer.activity(a, inc),
            ctx.page(default=25, maximum=100, client=True, zero=25),
        )
    )


def account_activity(ctx: Ctx) -> Response:
    return _activity(ctx, [a for a in ctx.state.activity.values() if a.actor_id == ctx.user.id])


# --- one server -------------------------------------------------------------------------------


def server_view(ctx: Ctx) -> Response:
    server = ctx.bound["server"]
    body = ctx.client().server(server, ctx.includes())
    perms = ctx.permissions(server)
    body["meta"] = {"is_server_owner": server.owner_id == ctx.user.id, "user_permissions": perms}
    return ok(body)


def server_websocket(ctx: Ctx) -> Response:
    ctx.require(
        "websocket.connect", "You do not have permission to connect to this server's websocket."
    )
    return ok(wings.websocket_credentials(ctx, ctx.bound["server"]))


def server_resources(ctx: Ctx) -> Response:
    call_wings(ctx)
    return ok(ctx.client().stats(ctx.bound["server"]))


def server_activity(ctx: Ctx) -> Response:
    ctx.require("activity.read")
    server = ctx.bound["server"]
    return _activity(ctx, [a for a in ctx.state.activity.values() if a.server_id == server.id])


def server_command(ctx: Ctx) -> Response:
    ctx.require("control.console")
    validate(ctx.data, {"command": "required|string|min:1"})
    call_wings(ctx)
    server = ctx.bound["server"]
    if server.power_state != "running":
        raise errors.ApiError(
            502, "HttpException", "Server must be online in order to send commands."
        )
    wings.run_command(ctx.state, server, ctx.data["command"])
    record(ctx, "server:console.command", {"command": ctx.data["command"]})
    return no_content()


def server_power(ctx: Ctx) -> Response:
    server = ctx.bound["server"]
    signal = ctx.data.get("signal")
    permission = wings.POWER_PERMISSION.get(signal) if isinstance(signal, str) else None
    if permission is None:
        if "*" not in ctx.permissions(server):
            raise errors.forbidden()
    else:
        ctx.require(permission)
    validate(ctx.data, {"signal": "required|string|in:start,stop,restart,kill"})
    call_wings(ctx)
    ctx.state.power(server, signal)
    record(ctx, f"server:power.{signal}")
    return no_content()


# --- databases --------------------------------------------------------------------------------


def databases_index(ctx: Ctx) -> Response:
    ctx.require("database.read")
    server = ctx.bound["server"]
    with_password = "password" in ctx.includes()
    dbs = sorted(
        (d for d in ctx.state.databases.values() if d.server_id == server.id), key=lambda d: d.id
    )
    renderer = ctx.client()
    return ok(collection([renderer.database(d, server, with_password) for d in dbs]))


def databases_store(ctx: Ctx) -> Response:
    ctx.require("database.create")
    s, data, server = ctx.state, ctx.data, ctx.bound["server"]
    validate(
        data,
        {
            "database": [
                "required",
                "alpha_dash",
                "min:3",
                "max:48",
                unique(
                    lambda v: any(d.database == f"s{server.id}_{v}" for d in s.databases.values())
                ),
            ],
            "remote": ["required", "string", r"regex:/^[\w\-\/.%:]+$/"],
        },
    )
    count = sum(1 for d in s.databases.values() if d.server_id == server.id)
    if server.database_limit is not None and count >= server.database_limit:
        raise errors.display(
            "Operation aborted: creating a new database would put this server "
            "over the defined limit.",
            "TooManyDatabasesException",
        )
    hosts = sorted(s.database_hosts.values(), key=lambda h: (h.node_id != server.node_id, h.id))
    if not hosts:
        raise errors.display(
            "No database host was found that meets the requirements for this server.",
            "NoSuitableDatabaseHostException",
        )
    db = create_database(s, server, data["database"], data["remote"], hosts[0].id)
    record(ctx, "server:database.create", {"name": db.database})
    return ok(ctx.client().database(db, server, True))


def databases_rotate(ctx: Ctx) -> Response:
    ctx.require("database.update")
    db = ctx.bound["database"]
    db.password = st.random_string(24)
    record(ctx, "server:database.rotate-password", {"name": db.database})
    return ok(ctx.client().database(db, ctx.bound["server"], True))


def databases_delete(ctx: Ctx) -> Response:
    ctx.require("database.delete")
    db = ctx.bound["database"]
    ctx.state.databases.pop(db.id, None)
    record(ctx, "server:database.delete", {"name": db.database})
    return no_content()


# --- files --------------------------------------------------------------------------------


def _path(*parts: Any) -> str:
    joined = posixpath.join("/", *[str(p or "") for p in parts])
    return posixpath.normpath(joined).replace("//", "/")


def _wings_404() -> errors.ApiError:
    return errors.ApiError(
        404,
        "DaemonConnectionException",
        "An error occurred on the remote host: The requested resource was "
        "not found on the system.. (request id: "
        f"{secrets.token_hex(4)})",
    )


def _ensure_dirs(server: st.Server, path: str) -> None:
    parent = posixpath.dirname(path)
    while parent not in ("/", ""):
        server.files.setdefault(parent, st.FileEntry(is_dir=True, mode=0o755))
        parent = posixpath.dirname(parent)


def _file_route(ctx: Ctx, permission: str) -> st.Server:
    ctx.require(permission)
    call_wings(ctx)
    return ctx.bound["server"]


def files_list(ctx: Ctx) -> Response:
    server = _file_route(ctx, "file.read")
    directory = _path(ctx.req.query.get("directory") or "/")
    if directory != "/" and not (directory in server.files and server.files[directory].is_dir):
        raise _wings_404()
    entries = [
        (posixpath.basename(p), e)
        for p, e in server.files.items()
        if posixpath.dirname(p) == directory and p != "/"
    ]
    entries.sort(key=lambda x: (not x[1].is_dir, x[0]))
    renderer = ctx.client()
    return ok(collection([renderer.file(n, e) for n, e in entries]))


def files_contents(ctx: Ctx) -> Response:
    server = _file_route(ctx, "file.read-content")
    entry = server.files.get(_path(ctx.req.query.get("file")))
    if entry is None or entry.is_dir:
        raise _wings_404()
    if len(entry.content) > MAX_FILE_VIEW:
        raise errors.display(
            "The file you are attempting to open is too large to view in the file editor.",
            "FileSizeTooLargeException",
        )
    return Response(200, entry.content, content_type="text/plain")


def files_download(ctx: Ctx) -> Response:
    server = _file_route(ctx, "file.read")
    path = _path(ctx.req.query.get("file"))
    if path not in server.files or server.files[path].is_dir:
        raise _wings_404()
    url = wings.signed_url(ctx, server, "/download/file", {"file_path": path})
    return ok(item("signed_url", {"url": url}))


def files_upload(ctx: Ctx) -> Response:
    server = _file_route(ctx, "file.create")
    url = wings.signed_url(ctx, server, "/upload/file", {"user_uuid": ctx.user.uuid})
    return ok(item("signed_url", {"url": url}))


def files_write(ctx: Ctx) -> Response:
    server = _file_route(ctx, "file.create")
    path = _path(ctx.req.query.get("file"))
    if path == "/":
        raise errors.display("A file path is required.", "BadRequestHttpException")
    _ensure_dirs(server, path)
    entry = server.files.get(path) or st.FileEntry()
    entry.content, entry.modified_at = ctx.req.raw_body, time.time()
    server.files[path] = entry
    record(ctx, "server:file.write", {"file": path})
    return no_content()


def files_create_folder(ctx: Ctx) -> Response:
    server = _file_route(ctx, "file.create")
    validate(ctx.data, {"root": "sometimes|nullable|string", "name": "required|string"})
    path = _path(ctx.data.get("root"), ctx.data["name"])
    _ensure_dirs(server, path)
    server.files.setdefault(path, st.FileEntry(is_dir=True, mode=0o755))
    return no_content()


def files_delete(ctx: Ctx) -> Response:
    server = _file_route(ctx, "file.delete")
    validate(ctx.data, {"root": "required|string", "files": "required|array", "files.*": "string"})
    for name in ctx.data["files"]:
        target = _path(ctx.data["root"], name)
        for path in [p for p in server.files if p == target or p.startswith(target + "/")]:
            del server.files[path]
    record(ctx, "server:file.delete", {"directory": ctx.data["root"], "files": ctx.data["files"]})
    return no_content()


def files_rename(ctx: Ctx) -> Response:
    server = _file_route(ctx, "file.update")
    validate(
        ctx.data,
        {
            "root": "required|string",
            "files": "required|array",
            "files.*.from": "required|string",
            "files.*.to": "required|string",
        },
    )
    for move in ctx.data["files"]:
        src, dst = _path(ctx.data["root"], move["from"]), _path(ctx.data["root"], move["to"])
        if src not in server.files:
            raise _wings_404()
        for path in [p for p in list(server.files) if p == src or p.startswith(src + "/")]:
            server.files[dst + path[len(src) :]] = server.files.pop(path)
        _ensure_dirs(server, dst)
    return no_content()


def files_copy(ctx: Ctx) -> Response:
    server = _file_route(ctx, "file.create")
    validate(ctx.data, {"location": "required|string"})
    src = _path(ctx.data["location"])
    entry = server.files.get(src)
    if entry is None or entry.is_dir:
        raise _wings_404()
    base, ext = posixpath.splitext(src)
    target = f"{base} copy{ext}"
    n = 1
    while target in server.files:
        n += 1
        target = f"{base} copy {n}{ext}"
    server.files[target] = st.FileEntry(entry.content, mode=entry.mode)
    return no_content()


def files_compress(ctx: Ctx) -> Response:
    server = _file_route(ctx, "file.archive")
    validate(ctx.data, {"root": "sometimes|nullable|string", "files": "required|array"})
    stamp = datetime.now(UTC).strftime("%Y-%m-%d_%H%M%S")
    name = f"archive-{stamp}.tar.gz"
    path = _path(ctx.data.get("root"), name)
    server.files[path] = st.FileEntry(b"\x1f\x8b simulated archive")
    return ok(ctx.client().file(name, server.files[path]))


def files_decompress(ctx: Ctx) -> Response:
    _file_route(ctx, "file.create")
    validate(ctx.data, {"root": "sometimes|nullable|string", "file": "required|string"})
    return no_content()


def files_chmod(ctx: Ctx) -> Response:
    server = _file_route(ctx, "file.update")
    validate(
        ctx.data,
        {
            "root": "required|string",
            "files": "required|array",
            "files.*.file": "required|string",
            "files.*.mode": "required|regex:/^[0-7]{3}$/",
        },
    )
    for change in ctx.data["files"]:
        entry = server.files.get(_path(ctx.data["root"], change["file"]))
        if entry is not None:
            entry.mode = int(str(change["mode"]), 8)
    return no_content()


def files_pull(ctx: Ctx) -> Response:
    server = _file_route(ctx, "file.create")
    validate(
        ctx.data,
        {
            "url": "required|string|url",
            "directory": "nullable|string",
            "filename": "nullable|string",
        },
    )
    name = ctx.data.get("filename") or posixpath.basename(ctx.data["url"].split("?")[0])
    path = _path(ctx.data.get("directory"), name or "download")
    _ensure_dirs(server, path)
    server.files[path] = st.FileEntry(f"pulled from {ctx.data['url']}\n".encode())
    return no_content()


# --- schedules --------------------------------------------------------------------------------

CRON_FIELDS = ("minute", "hour", "day_of_month", "month", "day_of_week")


def _next_run(sched: st.Schedule) -> float:
    from croniter import croniter

    expr = " ".join(str(getattr(sched, f)) for f in CRON_FIELDS)
    return croniter(expr, datetime.now(UTC)).get_next(datetime).timestamp()


def _schedule_input(ctx: Ctx) -> dict[str, Any]:
    data = ctx.data
    validate(
        data,
        {
            "name": "required|string|min:1",
            "is_active": "filled|boolean",
            "only_when_online": "filled|boolean",
            "minute": "required|string",
            "hour": "required|string",
            "day_of_month": "required|string",
            "day_of_week": "required|string",
        },
    )
    from croniter import croniter

    expr = " ".join(str(data.get(f) or "") for f in CRON_FIELDS)
    if any(data.get(f) in (None, "") for f in CRON_FIELDS) or not croniter.is_valid(expr):
        raise errors.display("The cron data provided does not evaluate to a valid expression.")
    return data


def schedules_index(ctx: Ctx) -> Response:
    ctx.require("schedule.read")
    server = ctx.bound["server"]
    scheds = sorted(
        (x for x in ctx.state.schedules.values() if x.server_id == server.id), key=lambda x: x.id
    )
    renderer = ctx.client()
    return ok(collection([renderer.schedule(x) for x in scheds]))


def schedules_store(ctx: Ctx) -> Response:
    ctx.require("schedule.create")
    data = _schedule_input(ctx)
    s, server = ctx.state, ctx.bound["server"]
    sched = st.Schedule(
        s.next_id("schedules"),
        server.id,
        data["name"],
        str(data["minute"]),
        str(data["hour"]),
        str(data["day_of_month"]),
        str(data["month"]),
        str(data["day_of_week"]),
        is_active=to_bool(data.get("is_active", True)),
        only_when_online=to_bool(data.get("only_when_online", False)),
    )
    sched.next_run_at = _next_run(sched)
    s.schedules[sched.id] = sched
    record(ctx, "server:schedule.create", {"name": sched.name})
    return ok(ctx.client().schedule(sched))


def schedules_view(ctx: Ctx) -> Response:
    ctx.require("schedule.read")
    return ok(ctx.client().schedule(ctx.bound["schedule"]))


def schedules_update(ctx: Ctx) -> Response:
    ctx.require("schedule.update")
    data = _schedule_input(ctx)
    sched = ctx.bound["schedule"]
    sched.name = data["name"]
    for name in CRON_FIELDS:
        setattr(sched, name, str(data[name]))
    if data.get("is_active") is not None:
        sched.is_active = to_bool(data["is_active"])
        if not sched.is_active:
            sched.is_processing = False
    if data.get("only_when_online") is not None:
        sched.only_when_online = to_bool(data["only_when_online"])
    sched.next_run_at = _next_run(sched)
    sched.updated_at = time.time()
    record(ctx, "server:schedule.update", {"name": sched.name})
    return ok(ctx.client().schedule(sched))


def schedules_execute(ctx: Ctx) -> Response:
    ctx.require("schedule.update")
    s, sched, server = ctx.state, ctx.bound["schedule"], ctx.bound["server"]
    if not sched.is_active:
        raise errors.bad_request(
            "Cannot trigger schedule exection for a schedule that is not currently active."
        )
    if not (sched.only_when_online and server.power_state != "running"):
        tasks = sorted(
            (t for t in s.tasks.values() if t.schedule_id == sched.id),
            key=lambda t: (t.sequence_id, t.id),
        )
        for task in tasks:
            if task.action == "power" and task.payload in wings.POWER_PERMISSION:
                s.power(server, task.payload)
            elif task.action == "command" and server.power_state == "running":
                wings.run_command(s, server, task.payload)
            elif task.action == "backup":
                _new_backup(s, server, None, [], False)
    sched.last_run_at = time.time()
    sched.next_run_at = _next_run(sched)
    record(ctx, "server:schedule.execute", {"name": sched.name})
    return accepted()


def schedules_delete(ctx: Ctx) -> Response:
    ctx.require("schedule.delete")
    s, sched = ctx.state, ctx.bound["schedule"]
    for task_id in [k for k, t in s.tasks.items() if t.schedule_id == sched.id]:
        del s.tasks[task_id]
    del s.schedules[sched.id]
    record(ctx, "server:schedule.delete", {"name": sched.name})
    return no_content()


def _task_input(ctx: Ctx) -> dict[str, Any]:
    data = ctx.data
    validate(
        data,
        {
            "action": "required|in:command,power,backup",
            "payload": "required_unless:action,backup|string",
            "time_offset": "required|numeric|min:0|max:900",
            "sequence_id": "sometimes|numeric|min:1",
            "continue_on_failure": "sometimes|boolean",
        },
    )
    if data["action"] == "backup" and not ctx.bound["server"].backup_limit:
        raise errors.http_forbidden(
            "A backup task cannot be created when the server's backup limit is set to 0."
        )
    return data


def _resequence(s: st.State, sched: st.Schedule) -> None:
    tasks = sorted(
        (t for t in s.tasks.values() if t.schedule_id == sched.id),
        key=lambda t: (t.sequence_id, t.id),
    )
    for n, task in enumerate(tasks, start=1):
        task.sequence_id = n


def tasks_store(ctx: Ctx) -> Response:
    ctx.require("schedule.update")
    s, sched = ctx.state, ctx.bound["schedule"]
    existing = [t for t in s.tasks.values() if t.schedule_id == sched.id]
    if len(existing) >= 10:
        raise errors.display(
            "Schedules may not have more than 10 tasks associated with them. "
            "Creating this task would put this schedule over the limit.",
            "ServiceLimitExceededException",
        )
    data = _task_input(ctx)
    last = max((t.sequence_id for t in existing), default=0)
    sequence = int(float(data["sequence_id"])) if data.get("sequence_id") else last + 1
    for task in existing:
        if task.sequence_id >= sequence:
            task.sequence_id += 1
    task = st.Task(
        s.next_id("tasks"),
        sched.id,
        sequence,
        data["action"],
        data.get("payload") or "",
        int(float(data["time_offset"])),
        continue_on_failure=to_bool(data.get("continue_on_failure", False)),
    )
    s.tasks[task.id] = task
    _resequence(s, sched)
    record(ctx, "server:task.create", {"name": sched.name, "action": task.action})
    return ok(ctx.client().task(task))


def tasks_update(ctx: Ctx) -> Response:
    ctx.require("schedule.update")
    data = _task_input(ctx)
    task = ctx.bound["task"]
    task.action, task.payload = data["action"], data.get("payload") or ""
    task.time_offset = int(float(data["time_offset"]))
    if data.get("sequence_id"):
        task.sequence_id = int(float(data["sequence_id"]))
    if "continue_on_failure" in data:
        task.continue_on_failure = to_bool(data["continue_on_failure"])
    task.updated_at = time.time()
    _resequence(ctx.state, ctx.bound["schedule"])
    return ok(ctx.client().task(task))


def tasks_delete(ctx: Ctx) -> Response:
    ctx.require("schedule.update")
    s = ctx.state
    del s.tasks[ctx.bound["task"].id]
    _resequence(s, ctx.bound["schedule"])
    return no_content()


# --- network allocations ----------------------------------------------------------------------


def allocations_index(ctx: Ctx) -> Response:
    ctx.require("allocation.read")
    server = ctx.bound["server"]
    renderer = ctx.client()
    return ok(
        collection([renderer.allocation(a, server) for a in ctx.state.server_allocations(server)])
    )


def allocations_store(ctx: Ctx) -> Response:
    ctx.require("allocation.create")
    s, server = ctx.state, ctx.bound["server"]
    if not ctx.sim.switch("auto_allocation"):
        raise errors.display(
            "Server auto-allocation is not enabled for this instance.",
            "AutoAllocationNotEnabledException",
        )
    count = len(s.server_allocations(server))
    if server.allocation_limit is None or count >= server.allocation_limit:
        raise errors.display(
            "Cannot assign additional allocations to this server: limit has been reached."
        )
    primary = s.allocations[server.allocation_id]
    low, high = AUTO_ALLOCATION_RANGE
    free = sorted(
        (
            a
            for a in s.allocations.values()
            if a.node_id == server.node_id
            and a.ip == primary.ip
            and s.is_free(a)
            and low <= a.port <= high
        ),
        key=lambda a: a.port,
    )
    if free:
        alloc = free[0]
    else:
        used = {
            a.port
            for a in s.allocations.values()
            if a.node_id == server.node_id and a.ip == primary.ip
        }
        ports = [p for p in range(low, high + 1) if p not in used]
        if not ports or s.no_allocations:
            raise errors.display(
                "Cannot assign additional allocation: no more space available on node.",
                "NoAutoAllocationSpaceAvailableException",
            )
        alloc_id = s.next_id("allocations")
        alloc = st.Allocation(alloc_id, server.node_id, primary.ip, ports[0], primary.ip_alias)
        s.allocations[alloc_id] = alloc
    alloc.server_id, alloc.notes = server.id, None
    record(ctx, "server:allocation.create", {"allocation": f"{alloc.ip}:{alloc.port}"})
    return ok(ctx.client().allocation(alloc, server))


def allocations_update(ctx: Ctx) -> Response:
    ctx.require("allocation.update")
    validate(ctx.data, {"notes": "present|nullable|string|max:256"})
    alloc = ctx.bound["allocation"]
    alloc.notes = ctx.data.get("notes")
    record(ctx, "server:allocation.notes", {"allocation": f"{alloc.ip}:{alloc.port}"})
    return ok(ctx.client().allocation(alloc, ctx.bound["server"]))


def allocations_primary(ctx: Ctx) -> Response:
    ctx.require("allocation.update")
    alloc, server = ctx.bound["allocation"], ctx.bound["server"]
    server.allocation_id = alloc.id
    record(ctx, "server:allocation.primary", {"allocation": f"{alloc.ip}:{alloc.port}"})
    return ok(ctx.client().allocation(alloc, server))


def allocations_delete(ctx: Ctx) -> Response:
    ctx.require("allocation.delete")
    alloc, server = ctx.bound["allocation"], ctx.bound["server"]
    if not server.allocation_limit:
        raise errors.display(
            "You cannot delete allocations for this server: no allocation limit is set."
        )
    if alloc.id == server.allocation_id:
        raise errors.display("You cannot delete the primary allocation for this server.")
    alloc.server_id, alloc.notes = None, None
    record(ctx, "server:allocation.delete", {"allocation": f"{alloc.ip}:{alloc.port}"})
    return no_content()


# --- subusers --------------------------------------------------------------------------------


def _permission_list(ctx: Ctx) -> list[str]:
    server = ctx.bound["server"]
    wanted = [p for p in ctx.data.get("permissions") or [] if p in ctx.sim.permission_keys]
    mine = ctx.permissions(server)
    if "*" not in mine and any(p not in mine for p in wanted):
        if ctx.sim.refuse_ungranted_permissions:
            raise errors.http_forbidden(
                "Cannot assign permissions to a subuser that your "
                "account does not actively possess."
            )
        wanted = [p for p in wanted if p in mine]  # Pelican drops them silently
    out = list(dict.fromkeys(wanted + ["websocket.connect"]))
    return out


def subusers_index(ctx: Ctx) -> Response:
    ctx.require("user.read")
    server = ctx.bound["server"]
    subs = sorted(
        (x for x in ctx.state.subusers.values() if x.server_id == server.id), key=lambda x: x.id
    )
    renderer = ctx.client()
    return ok(collection([renderer.subuser(x) for x in subs]))


def subusers_store(ctx: Ctx) -> Response:
    ctx.require("user.create")
    s, data, server = ctx.state, ctx.data, ctx.bound["server"]
    validate(
        data,
        {
            "email": f"required|email|between:1,{ctx.sim.string_max}",
            "permissions": "required|array",
            "permissions.*": "string",
        },
    )
    perms = _permission_list(ctx)
    email = str(data["email"])
    user = next((u for u in s.users.values() if u.email.lower() == email.lower()), None)
    if user is not None:
        if user.id == server.owner_id:
            raise errors.display(
                "Cannot add the server owner as a subuser for this server.",
                "UserIsServerOwnerException",
            )
        if s.subuser_of(server, user) is not None:
            raise errors.display(
                "A user with that email address is already assigned as a subuser for this server.",
                "ServerSubuserExistsException",
            )
    else:
        base = re.sub(r"[^\w.-]+", "", email.split("@")[0])[:64] or "user"
        username = f"{base}_{st.random_string(6).lower()}".lower()
        user = st.User(s.next_id("users"), username, email, "Server", "Subuser")
        user.set_password(secrets.token_urlsafe(24))
        s.users[user.id] = user
    sub = st.Subuser(s.next_id("subusers"), user.id, server.id, perms)
    s.subusers[sub.id] = sub
    record(ctx, "server:subuser.create", {"email": email, "permissions": perms})
    return ok(ctx.client().subuser(sub))


def subusers_view(ctx: Ctx) -> Response:
    ctx.require("user.read")
    return ok(ctx.client().subuser(ctx.bound["subuser"]))


def subusers_update(ctx: Ctx) -> Response:
    ctx.require("user.update")
    validate(ctx.data, {"permissions": "required|array", "permissions.*": "string"})
    sub = ctx.bound["subuser"]
    if sub.user_id == ctx.user.id:
        raise errors.http_forbidden("You cannot edit permissions for your own subuser account.")
    sub.permissions = _permission_list(ctx)
    sub.updated_at = time.time()
    record(
        ctx,
        "server:subuser.update",
        {"email": ctx.state.users[sub.user_id].email, "permissions": sub.permissions},
    )
    return ok(ctx.client().subuser(sub))


def subusers_delete(ctx: Ctx) -> Response:
    ctx.require("user.delete")
    sub = ctx.bound["subuser"]
    if sub.user_id == ctx.user.id:
        raise errors.http_forbidden("You cannot delete your own subuser account.")
    del ctx.state.subusers[sub.id]
    record(ctx, "server:subuser.delete", {"email": ctx.state.users[sub.user_id].email})
    return no_content()


# --- backups --------------------------------------------------------------------------------


def backups_index(ctx: Ctx) -> Response:
    ctx.require("backup.read")
    server = ctx.bound["server"]
    backups = sorted(
        (b for b in ctx.state.backups.values() if b.server_id == server.id), key=lambda b: b.id
    )
    non_failed = sum(1 for b in backups if b.is_successful or b.completed_at is None)
    renderer = ctx.client()
    return ok(
        paginate(
            backups,
            renderer.backup,
            ctx.page(default=20, maximum=50, client=True, zero=20),
            meta={"backup_count": non_failed},
        )
    )


def _new_backup(
    s: st.State, server: st.Server, name: str | None, ignored: list[str], locked: bool
) -> st.Backup:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
    backup = st.Backup(
        s.next_id("backups"),
        server.id,
        (name or "").strip() or f"Backup at {stamp}",
        ignored,
        is_locked=locked,
    )
    backup.done_at = time.time() + s.timings.backup_seconds
    s.backups[backup.id] = backup
    s.backup_throttle[server.id].append(time.time())
    return backup


def backups_store(ctx: Ctx) -> Response:
    ctx.require("backup.create")
    s, data, server = ctx.state, ctx.data, ctx.bound["server"]
    validate(
        data,
        {
            "name": f"nullable|string|max:{ctx.sim.string_max}",
            "is_locked": "nullable|boolean",
            "ignored": "nullable|string",
        },
    )
    limit, period = ctx.sim.switch("backup_throttle")
    now = time.time()
    recent = [t for t in s.backup_throttle[server.id] if t >= now - period]
    s.backup_throttle[server.id] = recent
    if period > 0 and len(recent) >= limit:
        wait = max(1, int(recent[0] + period - now))
        raise errors.ApiError(
            429,
            "TooManyRequestsHttpException",
            f"Only {limit} backups may be generated within a {period} second span of time.",
            headers={"Retry-After": str(wait)},
        )
    existing = [
        b
        for b in s.backups.values()
        if b.server_id == server.id and (b.is_successful or b.completed_at is None)
    ]
    if not server.backup_limit or len(existing) >= server.backup_limit:
        raise errors.display(
            "Cannot create a new backup, this server has reached its limit of "
            f"{server.backup_limit or 0} backups.",
            "TooManyBackupsException",
        )
    call_wings(ctx)
    ignored = [line for line in str(data.get("ignored") or "").splitlines() if line.strip()]
    backup = _new_backup(
        s, server, data.get("name"), ignored, to_bool(data.get("is_locked") or False)
    )
    record(ctx, "server:backup.start", {"name": backup.name, "locked": backup.is_locked})
    return ok(ctx.client().backup(backup))


def backups_view(ctx: Ctx) -> Response:
    ctx.require("backup.read")
    return ok(ctx.client().backup(ctx.bound["backup"]))


def backups_download(ctx: Ctx) -> Response:
    ctx.require("backup.download")
    backup, server = ctx.bound["backup"], ctx.bound["server"]
    url = wings.signed_url(ctx, server, "/download/backup", {"backup_uuid": backup.uuid})
    record(ctx, "server:backup.download", {"name": backup.name})
    return ok(item("signed_url", {"url": url}))


def backups_lock(ctx: Ctx) -> Response:
    ctx.require("backup.delete")
    backup = ctx.bound["backup"]
    backup.is_locked = not backup.is_locked
    record(
        ctx, "server:backup." + ("lock" if backup.is_locked else "unlock"), {"name": backup.name}
    )
    return ok(ctx.client().backup(backup))


def backups_restore(ctx: Ctx) -> Response:
    ctx.require("backup.restore")
    validate(ctx.data, {"truncate": "required|boolean"})
    s, backup, server = ctx.state, ctx.bound["backup"], ctx.bound["server"]
    if server.status is not None:
        raise errors.bad_request(
            "This server is not currently in a state that allows for a backup to be restored."
        )
    if not backup.is_successful:
        raise errors.bad_request(
            "This backup cannot be restored at this time: not completed or failed."
        )
    call_wings(ctx)
    s.power(server, "kill")
    server.status = "restoring_backup"
    server.restore_done_at = time.time() + s.timings.backup_seconds
    record(
        ctx,
        "server:backup.restore",
        {"name": backup.name, "truncate": to_bool(ctx.data["truncate"])},
    )
    return no_content()


def backups_delete(ctx: Ctx) -> Response:
    ctx.require("backup.delete")
    backup = ctx.bound["backup"]
    if backup.is_locked and backup.completed_at is not None:
        raise errors.display(
            "Cannot delete a backup that is marked as locked.", "BackupLockedException"
        )
    call_wings(ctx)
    del ctx.state.backups[backup.id]
    record(ctx, "server:backup.delete", {"name": backup.name})
    return no_content()


# --- startup and settings ---------------------------------------------------------------------


def _startup_meta(s: st.State, server: st.Server) -> dict[str, Any]:
    egg = s.eggs.get(server.egg_id)
    return {
        "startup_command": s.invocation(server, client=True),
        "docker_images": dict(egg.docker_images) if egg else {},
        "raw_startup_command": server.startup,
    }


def startup_index(ctx: Ctx) -> Response:
    ctx.require("startup.read")
    s, server = ctx.state, ctx.bound["server"]
    renderer = ctx.client()
    body = collection(
        [renderer.variable(server, v) for v in s.egg_vars(server.egg_id) if v.user_viewable]
    )
    body["meta"] = _startup_meta(s, server)
    return ok(body)


def startup_update(ctx: Ctx) -> Response:
    ctx.require("startup.update")
    s, data, server = ctx.state, ctx.data, ctx.bound["server"]
    validate(data, {"key": "required|string", "value": "present"})
    var = next((v for v in s.egg_vars(server.egg_id) if v.env_variable == data["key"]), None)
    if var is None:
        # v1.11.8 checks for a missing variable only after using it: a 500.
        raise errors.server_error("ErrorException")
    if not var.user_viewable:
        raise errors.bad_request("The environment variable you are trying to edit does not exist.")
    if not var.user_editable:
        raise errors.bad_request("The environment variable you are trying to edit is read-only.")
    validate(data, {"value": var.rules}, {"value": var.name})
    original = server.variables.get(var.id, var.default_value)
    value = data.get("value")
    server.variables[var.id] = "" if value is None else str(value)
    record(
        ctx,
        "server:startup.edit",
        {"variable": var.env_variable, "old": original, "new": server.variables[var.id]},
    )
    body = ctx.client().variable(server, var)
    body["meta"] = _startup_meta(s, server)
    return ok(body)


def settings_rename(ctx: Ctx) -> Response:
    ctx.require("settings.rename")
    data, server = ctx.data, ctx.bound["server"]
    validate(data, {"name": "required|string|min:1|max:191", "description": "nullable|string"})
    old = server.name
    server.name = data["name"]
    if "description" in data:
        server.description = data.get("description") or ""
    record(ctx, "server:settings.rename", {"old": old, "new": server.name})
    return no_content()


def settings_reinstall(ctx: Ctx) -> Response:
    ctx.require("settings.reinstall")
    call_wings(ctx)
    ctx.state.start_install(ctx.bound["server"], reinstall=True)
    record(ctx, "server:reinstall")
    return accepted()


def settings_docker_image(ctx: Ctx) -> Response:
    ctx.require("startup.docker-image")
    s, data, server = ctx.state, ctx.data, ctx.bound["server"]
    egg = s.eggs[server.egg_id]
    images = list(egg.docker_images.values())
    validate(
        data,
        {
            "docker_image": [
                "required",
                "string",
                f"max:{ctx.sim.string_max}",
                Rule("in", lambda v: v in images),
            ]
        },
    )
    if server.image not in images:
        raise errors.bad_request(
            "This server's Docker image has been manually set by an "
            "administrator and cannot be updated."
        )
    old = server.image
    server.image = data["docker_image"]
    record(ctx, "server:startup.image", {"old": old, "new": server.image})
    return no_content()
