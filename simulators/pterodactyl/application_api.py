"""``/api/application``: users, servers, nests and eggs, nodes and allocations, locations."""

from __future__ import annotations

import ipaddress
import re
import secrets
import uuid as uuidlib
from collections.abc import Callable
from typing import Any

from simulators.pterodactyl import errors
from simulators.pterodactyl import state as st
from simulators.pterodactyl.common import (
    apply_filters,
    apply_sort,
    delete_server_rows,
    exact,
    exists,
    filter_values,
    int_or_none,
    partial,
    unique,
    username_rule,
    validate_variables,
    wings,
)
from simulators.pterodactyl.routing import Ctx, Response, Router, no_content
from simulators.pterodactyl.transformers import collection, paginate
from simulators.pterodactyl.validation import to_bool, validate

R, W = st.READ, st.WRITE
PREFIX = "/api/application"
IMAGE_RULE = r"regex:/^~?[\w\.\/\-:@ ]*$/"
PORT_RANGE_RE = re.compile(r"^(\d{4,5})-(\d{4,5})$")
RANGE_LIMIT = 1000


def register(r: Router) -> None:
    def add(method: str, path: str, handler: Any, acl: tuple[str, int]) -> None:
        r.add(method, PREFIX + path, handler, api="application", acl=acl)

    add("GET", "/users", users_index, ("users", R))
    add("GET", "/users/external/{external_id}", users_external, ("users", R))
    add("GET", "/users/{user}", users_view, ("users", R))
    add("POST", "/users", users_store, ("users", W))
    add("PATCH", "/users/{user}", users_update, ("users", W))
    add("DELETE", "/users/{user}", users_delete, ("users", W))

    add("GET", "/servers", servers_index, ("servers", R))
    add("GET", "/servers/external/{external_id}", servers_external, ("servers", R))
    add("GET", "/servers/{server}", servers_view, ("servers", R))
    add("POST", "/servers", servers_store, ("servers", W))
    add("PATCH", "/servers/{server}/details", servers_details, ("servers", W))
    add("PATCH", "/servers/{server}/build", servers_build, ("servers", W))
    add("PATCH", "/servers/{server}/startup", servers_startup, ("servers", W))
    add("POST", "/servers/{server}/suspend", servers_suspend, ("servers", W))
    add("POST", "/servers/{server}/unsuspend", servers_unsuspend, ("servers", W))
    add("POST", "/servers/{server}/reinstall", servers_reinstall, ("servers", W))
    add("DELETE", "/servers/{server}", servers_delete, ("servers", W))
    add("DELETE", "/servers/{server}/force", servers_delete_force, ("servers", W))
    add("GET", "/servers/{server}/databases", databases_index, ("server_databases", R))
    add("GET", "/servers/{server}/databases/{database}", databases_view, ("server_databases", R))
    add("POST", "/servers/{server}/databases", databases_store, ("server_databases", W))
    add(
        "POST",
        "/servers/{server}/databases/{database}/reset-password",
        databases_reset_password,
        ("server_databases", W),
    )
    add(
        "DELETE",
        "/servers/{server}/databases/{database}",
        databases_delete,
        ("server_databases", W),
    )

    add("GET", "/nests", nests_index, ("nests", R))
    add("GET", "/nests/{nest}", nests_view, ("nests", R))
    add("GET", "/nests/{nest}/eggs", eggs_index, ("eggs", R))
    add("GET", "/nests/{nest}/eggs/{egg}", eggs_view, ("eggs", R))

    add("GET", "/nodes", nodes_index, ("nodes", R))
    add("GET", "/nodes/deployable", nodes_deployable, ("nodes", R))
    add("GET", "/nodes/{node}", nodes_view, ("nodes", R))
    add("GET", "/nodes/{node}/configuration", nodes_configuration, ("nodes", R))
    add("POST", "/nodes", nodes_store, ("nodes", W))
    add("PATCH", "/nodes/{node}", nodes_update, ("nodes", W))
    add("DELETE", "/nodes/{node}", nodes_delete, ("nodes", W))
    add("GET", "/nodes/{node}/allocations", allocations_index, ("allocations", R))
    add("POST", "/nodes/{node}/allocations", allocations_store, ("allocations", W))
    add("DELETE", "/nodes/{node}/allocations/{allocation}", allocations_delete, ("allocations", W))

    add("GET", "/locations", locations_index, ("locations", R))
    add("GET", "/locations/{location}", locations_view, ("locations", R))
    add("POST", "/locations", locations_store, ("locations", W))
    add("PATCH", "/locations/{location}", locations_update, ("locations", W))
    add("DELETE", "/locations/{location}", locations_delete, ("locations", W))


def ok(body: Any, status: int = 200) -> Response:
    return Response(status, body)


# --- users --------------------------------------------------------------------------------

USER_ATTRIBUTES = {
    "external_id": "Third Party Identifier",
    "password": "password".title(),
    "root_admin": "Root Administrator Status",
}
OPTIONAL_STRING = "sometimes|nullable|string"
OPTIONAL_BOOLEAN = "sometimes|nullable|boolean"


def users_index(ctx: Ctx) -> Response:
    users = apply_filters(
        ctx,
        ctx.state.users.values(),
        {
            "email": partial(lambda u: u.email),
            "uuid": partial(lambda u: u.uuid),
            "username": partial(lambda u: u.username),
            "external_id": partial(lambda u: u.external_id),
        },
    )
    users = apply_sort(ctx, users, {"id": lambda u: u.id, "uuid": lambda u: u.uuid})
    inc = ctx.includes()
    return ok(paginate(users, lambda u: ctx.app().user(u, inc), ctx.page()))


def users_view(ctx: Ctx) -> Response:
    return ok(ctx.app().user(ctx.bound["user"], ctx.includes()))


def users_external(ctx: Ctx) -> Response:
    ext = ctx.params["external_id"]
    found = next((u for u in ctx.state.users.values() if u.external_id == ext), None)
    if found is None:
        raise errors.not_found()
    return ok(ctx.app().user(found, ctx.includes()))


def _user_rules(s: st.State, ignore: st.User | None) -> dict[str, Any]:
    others = [u for u in s.users.values() if ignore is None or u.id != ignore.id]
    return {
        "email": [
            "required",
            "email",
            "between:1,191",
            unique(
                lambda v: isinstance(v, str) and any(u.email.lower() == v.lower() for u in others)
            ),
        ],
        "external_id": [
            "sometimes",
            "nullable",
            "string",
            "max:191",
            unique(lambda v: any(u.external_id == v for u in others)),
        ],
        "username": [
            "required",
            "between:1,191",
            unique(lambda v: any(u.username == str(v).lower() for u in others)),
            username_rule(),
        ],
        "password": OPTIONAL_STRING,
        "root_admin": "boolean",
        "language": "string|in:en",
        "first_name": "required|string|between:1,191",
        "last_name": "required|string|between:1,191",
    }


def users_store(ctx: Ctx) -> Response:
    s, data = ctx.state, ctx.data
    validate(data, _user_rules(s, None), USER_ATTRIBUTES)
    user = st.User(
        s.next_id("users"),
        str(data["username"]).lower(),
        data["email"],
        data["first_name"],
        data["last_name"],
        external_id=data.get("external_id"),
        language=data.get("language") or "en",
        root_admin=to_bool(data.get("root_admin", False)),
    )
    user.set_password(data.get("password") or secrets.token_urlsafe(24))
    s.users[user.id] = user
    body = ctx.app().user(user, ctx.includes())
    body["meta"] = {"resource": ctx.url(f"{PREFIX}/users/{user.id}")}
    return ok(body, 201)


def users_update(ctx: Ctx) -> Response:
    s, data, user = ctx.state, ctx.data, ctx.bound["user"]
    validate(data, _user_rules(s, user), USER_ATTRIBUTES)
    user.email = data["email"]
    user.username = str(data["username"]).lower()
    user.first_name, user.last_name = data["first_name"], data["last_name"]
    if "external_id" in data:
        user.external_id = data["external_id"]
    if "root_admin" in data and data["root_admin"] is not None:
        user.root_admin = to_bool(data["root_admin"])
    if data.get("language"):
        user.language = data["language"]
    if data.get("password"):
        user.set_password(data["password"])
    user.updated_at = st.now()
    return ok(ctx.app().user(user, ctx.includes()))


def users_delete(ctx: Ctx) -> Response:
    s, user = ctx.state, ctx.bound["user"]
    if any(x.owner_id == user.id for x in s.servers.values()):
        raise errors.display(
            "Cannot delete a user with active servers attached to their "
            "account. Please delete their servers before continuing."
        )
    for key in [k for k, v in s.subusers.items() if v.user_id == user.id]:
        del s.subusers[key]
    for ident in [k for k, v in s.api_keys.items() if v.user_id == user.id]:
        del s.api_keys[ident]
    del s.users[user.id]
    return no_content()


# --- servers --------------------------------------------------------------------------------


def index_handler(uuid_short: str = "uuidShort") -> Callable[[Ctx], Response]:
    """``GET /servers`` for a panel whose short-uuid filter is ``filter[<uuid_short>]``."""

    def servers_index(ctx: Ctx) -> Response:
        return _servers_index(ctx, uuid_short)

    return servers_index


def _servers_index(ctx: Ctx, uuid_short: str) -> Response:
    servers = apply_filters(
        ctx,
        ctx.state.servers.values(),
        {
            "uuid": partial(lambda x: x.uuid),
            uuid_short: partial(lambda x: x.identifier),
            "name": partial(lambda x: x.name),
            "description": partial(lambda x: x.description),
            "image": partial(lambda x: x.image),
            "external_id": partial(lambda x: x.external_id),
        },
    )
    servers = apply_sort(ctx, servers, {"id": lambda x: x.id, "uuid": lambda x: x.uuid})
    inc = ctx.includes()
    return ok(paginate(servers, lambda x: ctx.app().server(x, inc), ctx.page()))


servers_index = index_handler()


def servers_view(ctx: Ctx) -> Response:
    return ok(ctx.app().server(ctx.bound["server"], ctx.includes()))


def servers_external(ctx: Ctx) -> Response:
    ext = ctx.params["external_id"]
    found = next((x for x in ctx.state.servers.values() if x.external_id == ext), None)
    if found is None:
        raise errors.not_found()
    return ok(ctx.app().server(found, ctx.includes()))


def free_allocation(ctx: Ctx) -> Any:
    """The rule: the value names an allocation no server uses."""

    def check(value: Any) -> bool:
        alloc = ctx.state.allocations.get(int_or_none(value) or -1)
        return alloc is not None and ctx.state.is_free(alloc)

    return exists(check)


# The rule tables below are shared with the Pelican simulator, which passes its own values
# where Pelican's rules differ (simulators/pelican/servers.py).
IO_RULE = "between:10,1000"  # Pelican: 0-1000
NAME_MAX = 191  # Pelican: 255
FEATURE_LIMIT_RULES = {
    "feature_limits": "required|array",
    "feature_limits.databases": "present|nullable|integer|min:0",
    "feature_limits.allocations": "sometimes|nullable|integer|min:0",
    "feature_limits.backups": "present|nullable|integer|min:0",
}


def limit_rules(
    prefix: str = "limits.", required: str = "required", io: str = IO_RULE
) -> dict[str, str]:
    """``Server::$validationRules`` for the limits, under ``prefix``."""
    return {
        f"{prefix}memory": f"{required}|numeric|min:0",
        f"{prefix}swap": f"{required}|numeric|min:-1",
        f"{prefix}disk": f"{required}|numeric|min:0",
        f"{prefix}io": f"{required}|numeric|{io}",
        f"{prefix}threads": "nullable|regex:/^[0-9-,]+$/",
        f"{prefix}cpu": f"{required}|numeric|min:0",
    }


def build_rules(
    server: st.Server,
    s: st.State,
    *,
    allocation: str = "required",
    oom: str = "oom_disabled",
    io: str = IO_RULE,
) -> dict[str, Any]:
    """The rules of ``PATCH /servers/{id}/build``: the limits nested under ``limits`` or, the
    legacy form, at the top level; ``allocation`` is how the default allocation must be given,
    ``oom`` the name of the OOM flag."""
    return {
        "allocation": [
            allocation,
            "bail",
            unique(
                lambda v: any(
                    x.allocation_id == int_or_none(v) and x.id != server.id
                    for x in s.servers.values()
                )
            ),
            exists(lambda v: int_or_none(v) in s.allocations),
        ],
        oom: "sometimes|boolean",
        "limits": "sometimes|array",
        **limit_rules(required="required_with:limits", io=io),
        **limit_rules("", required="required_without:limits", io=io),
        "add_allocations": "bail|array",
        "add_allocations.*": "integer",
        "remove_allocations": "bail|array",
        "remove_allocations.*": "integer",
        **FEATURE_LIMIT_RULES,
    }


def servers_store(ctx: Ctx) -> Response:
    s, data, sim = ctx.state, ctx.data, ctx.sim
    deploy = data.get("deploy")
    rules: dict[str, Any] = {
        "external_id": [
            "sometimes",
            "nullable",
            "string",
            "between:1,191",
            unique(lambda v: any(x.external_id == v for x in s.servers.values())),
        ],
        "name": "required|string|min:1|max:191",
        "description": "nullable|string",
        "user": ["required", "integer", exists(lambda v: int_or_none(v) in s.users)],
        "egg": ["required", exists(lambda v: int_or_none(v) in s.eggs)],
        "docker_image": ["required", "string", "max:191", IMAGE_RULE],
        "startup": "required|string",
        "environment": "present|array",
        "skip_scripts": "sometimes|boolean",
        "oom_disabled": "sometimes|boolean",
        "limits": "required|array",
        **limit_rules(),
        **FEATURE_LIMIT_RULES,
        "deploy": "sometimes|required|array",
        "deploy.locations": "present|array" if isinstance(deploy, dict) else "array",
        "deploy.locations.*": "integer|min:1",
        "deploy.dedicated_ip": "required_with:deploy,boolean",
        "deploy.port_range": "present|array" if isinstance(deploy, dict) else "array",
        "deploy.port_range.*": "string",
        "start_on_completion": "sometimes|boolean",
    }
    if not deploy:
        rules["allocation.default"] = ["required", "integer", "bail", free_allocation(ctx)]
        rules["allocation.additional.*"] = ["integer", free_allocation(ctx)]
    validate(data, rules)

    limits = data["limits"]
    memory, disk = int(float(limits["memory"])), int(float(limits["disk"]))
    egg = s.eggs[int(data["egg"])]
    if deploy:
        alloc = _deploy(ctx, deploy, memory, disk)
        additional: list[st.Allocation] = []
    else:
        alloc = s.allocations[int(data["allocation"]["default"])]
        extra = (data.get("allocation") or {}).get("additional") or []
        additional = [
            s.allocations[int(a)]
            for a in extra
            if int(a) != alloc.id and s.is_free(s.allocations[int(a)])
        ]
    values = validate_variables(s, egg.id, data.get("environment"))

    server_uuid = str(uuidlib.uuid4())
    while s.server_by_ref(server_uuid[:8]) is not None:
        server_uuid = str(uuidlib.uuid4())
    fl = data["feature_limits"]
    server = st.Server(
        id=s.next_id("servers"),
        uuid=server_uuid,
        name=data["name"],
        owner_id=int(data["user"]),
        node_id=alloc.node_id,
        allocation_id=alloc.id,
        nest_id=egg.nest_id,
        egg_id=egg.id,
        startup=data["startup"],
        image=data["docker_image"],
        memory=memory,
        swap=int(float(limits["swap"])),
        disk=disk,
        io=int(float(limits["io"])),
        cpu=int(float(limits["cpu"])),
        threads=limits.get("threads"),
        oom_disabled=to_bool(data.get("oom_disabled", True)),
        external_id=data.get("external_id"),
        description=data.get("description") or "",
        skip_scripts=to_bool(data.get("skip_scripts", False)),
        database_limit=int_or_none(fl.get("databases")) or 0,
        allocation_limit=int_or_none(fl.get("allocations")) or 0,
        backup_limit=int_or_none(fl.get("backups")) or 0,
        variables=values,
        start_on_completion=to_bool(data.get("start_on_completion", False)),
    )
    s.servers[server.id] = server
    for a in [alloc, *additional]:
        a.server_id = server.id
    s.start_install(server)
    try:
        wings(ctx)
    except errors.ApiError:
        delete_server_rows(s, server)  # the panel force-deletes what it just created
        raise
    ctx.bound["delay"] = sim.take_create_delay()
    return ok(ctx.app().server(server, ctx.includes()), 201)


def viable_nodes(s: st.State, memory: int, disk: int, locations: list[int]) -> list[st.Node]:
    out = []
    for node in sorted(s.nodes.values(), key=lambda n: n.id):
        if not node.public or (locations and node.location_id not in locations):
            continue
        servers = s.node_servers(node.id)
        mem_cap = node.memory * (1 + node.memory_overallocate / 100)
        disk_cap = node.disk * (1 + node.disk_overallocate / 100)
        if (
            sum(x.memory for x in servers) + memory <= mem_cap
            and sum(x.disk for x in servers) + disk <= disk_cap
        ):
            out.append(node)
    return out


def _deploy(ctx: Ctx, deploy: dict[str, Any], memory: int, disk: int) -> st.Allocation:
    s = ctx.state
    locations = [int(x) for x in deploy.get("locations") or []]
    nodes = viable_nodes(s, memory, disk, locations)
    if not nodes:
        raise errors.display(
            "No nodes satisfying the requirements specified for automatic "
            "deployment could be found.",
            "NoViableNodeException",
        )
    return deploy_allocation(ctx, deploy, nodes)


def deploy_allocation(ctx: Ctx, deploy: dict[str, Any], nodes: list[st.Node]) -> st.Allocation:
    """A random free allocation on ``nodes`` within ``deploy.port_range`` (any port when it
    is empty), on an IP no server uses with ``dedicated_ip``; 400 when there is none."""
    s = ctx.state
    ports: set[int] = set()
    for item in deploy.get("port_range") or []:
        text = str(item)
        if text.isdigit():
            ports.add(int(text))
        match = PORT_RANGE_RE.match(text)
        if match:
            start, end = int(match.group(1)), int(match.group(2))
            if end - start > RANGE_LIMIT:
                raise errors.display(
                    "Adding more than 1000 ports in a single range at once is not supported."
                )
            ports.update(range(start, end + 1))
    node_ids = {n.id for n in nodes}
    candidates = [
        a
        for a in s.allocations.values()
        if a.node_id in node_ids and s.is_free(a) and (not ports or a.port in ports)
    ]
    if to_bool(deploy.get("dedicated_ip", False)):
        used = {(a.node_id, a.ip) for a in s.allocations.values() if a.server_id is not None}
        candidates = [a for a in candidates if (a.node_id, a.ip) not in used]
    if not candidates:
        raise errors.display(
            "No allocations satisfying the requirements for automatic deployment were found.",
            "NoViableAllocationException",
        )
    return s.rng.choice(sorted(candidates, key=lambda a: a.id))


def details_handler(name_max: int = NAME_MAX) -> Callable[[Ctx], Response]:
    """``PATCH /servers/{id}/details`` for a panel whose name and external id are at most
    ``name_max`` characters long."""

    def servers_details(ctx: Ctx) -> Response:
        return _servers_details(ctx, name_max)

    return servers_details


def _servers_details(ctx: Ctx, name_max: int) -> Response:
    s, data, server = ctx.state, ctx.data, ctx.bound["server"]
    validate(
        data,
        {
            "external_id": [
                "sometimes",
                "nullable",
                "string",
                f"between:1,{name_max}",
                unique(
                    lambda v: any(
                        x.external_id == v and x.id != server.id for x in s.servers.values()
                    )
                ),
            ],
            "name": f"required|string|min:1|max:{name_max}",
            "user": ["required", "integer", exists(lambda v: int_or_none(v) in s.users)],
            "description": "nullable|string",
        },
        {"user": "User ID", "name": "Server Name"},
    )
    server.name = data["name"]
    server.owner_id = int(data["user"])
    server.external_id = data.get("external_id")  # omitted -> null
    server.description = data.get("description") or ""  # omitted -> ""
    server.updated_at = st.now()
    return ok(ctx.app().server(server, ctx.includes()))


servers_details = details_handler()


def servers_build(ctx: Ctx) -> Response:
    s, data, server = ctx.state, ctx.data, ctx.bound["server"]
    has_limits = "limits" in data
    validate(data, build_rules(server, s))
    values = dict(data["limits"]) if has_limits and isinstance(data["limits"], dict) else data
    default_id = int(data["allocation"])
    add = [int(a) for a in data.get("add_allocations") or []]
    remove = [int(a) for a in data.get("remove_allocations") or []]

    snapshot = {
        a.id: (a.server_id, a.notes) for a in s.allocations.values() if a.node_id == server.node_id
    }
    try:
        fresh = None
        if add:
            adding = [
                a
                for a in sorted(s.allocations.values(), key=lambda a: a.id)
                if a.id in add and a.node_id == server.node_id and s.is_free(a)
            ]
            fresh = adding[0].id if adding else None
            for a in adding:
                a.server_id, a.notes = server.id, None
        if remove:
            for alloc_id in remove:
                if alloc_id == default_id:
                    if fresh is None:
                        raise errors.display(
                            "You are attempting to delete the default "
                            "allocation for this server but there is no "
                            "fallback allocation to use."
                        )
                    default_id = fresh
            for a in s.allocations.values():
                if (
                    a.node_id == server.node_id
                    and a.server_id == server.id
                    and a.id in set(remove) - set(add)
                ):
                    a.server_id, a.notes = None, None
        target = s.allocations.get(default_id)
        if default_id != server.allocation_id and (target is None or target.server_id != server.id):
            raise errors.display(
                "The requested default allocation is not currently assigned to this server."
            )
    except errors.ApiError:
        for alloc_id, (server_id, notes) in snapshot.items():
            s.allocations[alloc_id].server_id, s.allocations[alloc_id].notes = server_id, notes
        raise
    server.allocation_id = default_id
    for name in ("memory", "swap", "disk", "io", "cpu"):
        if values.get(name) is not None:
            setattr(server, name, int(float(values[name])))
    if "threads" in values:
        server.threads = values.get("threads")
    oom = data.get("oom_disabled", values.get("oom_disabled") if has_limits else None)
    if oom is not None:
        server.oom_disabled = to_bool(oom)
    fl = data["feature_limits"]
    server.database_limit = int_or_none(fl.get("databases"))  # null -> no limit
    server.allocation_limit = int_or_none(fl.get("allocations"))  # omitted/null -> null
    server.backup_limit = int_or_none(fl.get("backups")) or 0
    server.updated_at = st.now()
    # The panel then asks Wings to sync; a failure there is only logged (still 200).
    return ok(ctx.app().server(server, ctx.includes()))


def servers_startup(ctx: Ctx) -> Response:
    s, data, server = ctx.state, ctx.data, ctx.bound["server"]
    validate(
        data,
        {
            "startup": "required|string",
            "environment": "present|array",
            "egg": ["required", exists(lambda v: int_or_none(v) in s.eggs)],
            "image": ["required", "string", "max:191"],
            "skip_scripts": "present|boolean",
        },
    )
    egg = s.eggs[int(data["egg"])]
    env = data.get("environment")
    if env:  # every variable of the (new) egg is re-validated; omitted ones become ""
        values = validate_variables(s, egg.id, env)
        server.variables.update(values)
    server.egg_id, server.nest_id = egg.id, egg.nest_id
    server.startup = data["startup"]
    server.image = data["image"]
    server.skip_scripts = to_bool(data["skip_scripts"])
    server.updated_at = st.now()
    return ok(ctx.app().server(server, ctx.includes()))


def _toggle_suspension(ctx: Ctx, suspend: bool) -> Response:
    server = ctx.bound["server"]
    if (server.status == "suspended") == suspend:
        return no_content()  # idempotent
    if server.transferring:
        raise errors.ApiError(
            409,
            "ConflictHttpException",
            "Cannot toggle suspension status on a server that is currently being transferred.",
        )
    previous = server.status
    server.status = "suspended" if suspend else None
    try:
        wings(ctx)
    except errors.ApiError:
        server.status = previous  # rolled back
        raise
    if suspend:
        ctx.state.power(server, "kill")
    server.updated_at = st.now()
    return no_content()


def servers_suspend(ctx: Ctx) -> Response:
    return _toggle_suspension(ctx, True)


def servers_unsuspend(ctx: Ctx) -> Response:
    return _toggle_suspension(ctx, False)


def servers_reinstall(ctx: Ctx) -> Response:
    wings(ctx)
    ctx.state.start_install(ctx.bound["server"], reinstall=True)
    return no_content()


def servers_delete(ctx: Ctx) -> Response:
    wings(ctx)  # Wings must accept the delete (or not know the server)
    delete_server_rows(ctx.state, ctx.bound["server"])
    return no_content()


def servers_delete_force(ctx: Ctx) -> Response:
    """Force delete: Wings and database-host errors are ignored."""
    delete_server_rows(ctx.state, ctx.bound["server"])
    return no_content()


# --- server databases -------------------------------------------------------------------------


def databases_index(ctx: Ctx) -> Response:
    server, inc = ctx.bound["server"], ctx.includes()
    dbs = sorted(
        (d for d in ctx.state.databases.values() if d.server_id == server.id), key=lambda d: d.id
    )
    return ok(collection([ctx.app().database(d, inc) for d in dbs]))


def databases_view(ctx: Ctx) -> Response:
    return ok(ctx.app().database(ctx.bound["database"], ctx.includes()))


def create_database(
    s: st.State, server: st.Server, name: str, remote: str, host_id: int
) -> st.Database:
    db = st.Database(
        s.next_id("databases"),
        server.id,
        host_id,
        f"s{server.id}_{name}",
        f"u{server.id}_{st.random_string(10)}",
        remote,
        st.random_string(24),
        max_connections=0,
    )
    s.databases[db.id] = db
    return db


def databases_store(ctx: Ctx) -> Response:
    s, data, server = ctx.state, ctx.data, ctx.bound["server"]
    validate(
        data,
        {
            "database": [
                "required",
                "alpha_dash",
                "min:1",
                "max:48",
                unique(
                    lambda v: any(d.database == f"s{server.id}_{v}" for d in s.databases.values())
                ),
            ],
            "remote": ["required", "string", "regex:/^[0-9%.]{1,15}$/"],
            "host": ["required", "integer", exists(lambda v: int_or_none(v) in s.database_hosts)],
        },
    )
    db = create_database(s, server, data["database"], data["remote"], int(data["host"]))
    body = ctx.app().database(db, ctx.includes())
    body["meta"] = {"resource": ctx.url(f"{PREFIX}/servers/{server.id}/databases/{db.id}")}
    return ok(body, 201)


def databases_reset_password(ctx: Ctx) -> Response:
    ctx.bound["database"].password = st.random_string(24)
    return no_content()


def databases_delete(ctx: Ctx) -> Response:
    ctx.state.databases.pop(ctx.bound["database"].id, None)
    return no_content()


# --- nests and eggs ---------------------------------------------------------------------------


def nests_index(ctx: Ctx) -> Response:
    nests = sorted(ctx.state.nests.values(), key=lambda n: n.id)
    inc = ctx.includes()
    return ok(paginate(nests, lambda n: ctx.app().nest(n, inc), ctx.page()))


def nests_view(ctx: Ctx) -> Response:
    return ok(ctx.app().nest(ctx.bound["nest"], ctx.includes()))


def eggs_index(ctx: Ctx) -> Response:
    nest, inc = ctx.bound["nest"], ctx.includes()
    eggs = sorted((e for e in ctx.state.eggs.values() if e.nest_id == nest.id), key=lambda e: e.id)
    return ok(collection([ctx.app().egg(e, inc) for e in eggs]))  # not paginated


def eggs_view(ctx: Ctx) -> Response:
    return ok(ctx.app().egg(ctx.bound["egg"], ctx.includes()))


# --- nodes and allocations --------------------------------------------------------------------


NODE_SORTS: dict[str, Callable[[st.Node], Any]] = {
    "id": lambda n: n.id,
    "uuid": lambda n: n.uuid,
    "memory": lambda n: n.memory,
    "disk": lambda n: n.disk,
}


def nodes_index_handler(
    sorts: dict[str, Callable[[st.Node], Any]] = NODE_SORTS,
) -> Callable[[Ctx], Response]:
    """``GET /nodes`` for a panel that sorts nodes by ``sorts`` (Pelican adds ``cpu``)."""

    def nodes_index(ctx: Ctx) -> Response:
        return _nodes_index(ctx, sorts)

    return nodes_index


def _nodes_index(ctx: Ctx, sorts: dict[str, Callable[[st.Node], Any]]) -> Response:
    nodes = apply_filters(
        ctx,
        ctx.state.nodes.values(),
        {
            "uuid": partial(lambda n: n.uuid),
            "name": partial(lambda n: n.name),
            "fqdn": partial(lambda n: n.fqdn),
            "daemon_token_id": partial(lambda n: n.daemon_token_id),
        },
    )
    nodes = apply_sort(ctx, nodes, sorts)
    inc = ctx.includes()
    return ok(paginate(nodes, lambda n: ctx.app().node(n, inc), ctx.page()))


nodes_index = nodes_index_handler()


def nodes_view(ctx: Ctx) -> Response:
    return ok(ctx.app().node(ctx.bound["node"], ctx.includes()))


def nodes_deployable(ctx: Ctx) -> Response:
    q = ctx.req.query
    validate(
        q,
        {
            "page": "integer",
            "memory": "required|integer|min:0",
            "disk": "required|integer|min:0",
            "location_ids": "array",
            "location_ids.*": "integer",
        },
    )
    locations = [int(x) for x in (q.get("location_ids") or [])]
    nodes = viable_nodes(ctx.state, int(q["memory"]), int(q["disk"]), locations)
    if not nodes:
        raise errors.display(
            "No nodes satisfying the requirements specified for automatic "
            "deployment could be found.",
            "NoViableNodeException",
        )
    inc = ctx.includes()
    if "page" in q:
        return ok(paginate(nodes, lambda n: ctx.app().node(n, inc), ctx.page()))
    return ok(collection([ctx.app().node(n, inc) for n in nodes]))


def nodes_configuration(ctx: Ctx) -> Response:
    node = ctx.bound["node"]
    return ok(
        {
            "debug": False,
            "uuid": node.uuid,
            "token_id": node.daemon_token_id,
            "token": node.daemon_token,
            "api": {
                "host": str(ipaddress.IPv4Address(0)),  # every interface
                "port": node.daemon_listen,
                "ssl": {
                    "enabled": node.scheme == "https",
                    "cert": f"/etc/letsencrypt/live/{node.fqdn}/fullchain.pem",
                    "key": f"/etc/letsencrypt/live/{node.fqdn}/privkey.pem",
                },
                "upload_limit": node.upload_size,
            },
            "system": {"data": node.daemon_base, "sftp": {"bind_port": node.daemon_sftp}},
            "allowed_mounts": [],
            "remote": ctx.base_url(),
        }
    )


def _node_rules(s: st.State) -> dict[str, Any]:
    return {
        "name": r"required|regex:/^([\w .-]{1,100})$/",
        "description": "string|nullable",
        "location_id": ["required", exists(lambda v: int_or_none(v) in s.locations)],
        "public": "boolean",
        "fqdn": "required|string",
        "scheme": "required|in:http,https",
        "behind_proxy": "boolean",
        "memory": "required|numeric|min:1",
        "memory_overallocate": "required|numeric|min:-1",
        "disk": "required|numeric|min:1",
        "disk_overallocate": "required|numeric|min:-1",
        "daemon_base": r"sometimes|required|regex:/^([\/][\d\w.\-\/]+)$/",
        "daemon_sftp": "required|numeric|between:1,65535",
        "daemon_listen": "required|numeric|between:1,65535",
        "maintenance_mode": "boolean",
        "upload_size": "integer|between:1,1024",
    }


def _apply_node(node: st.Node, data: dict[str, Any]) -> None:
    node.name, node.fqdn, node.scheme = data["name"], data["fqdn"], data["scheme"]
    node.location_id = int(data["location_id"])
    if "description" in data:
        node.description = data["description"]
    for name in ("public", "behind_proxy", "maintenance_mode"):
        if data.get(name) is not None:
            setattr(node, name, to_bool(data[name]))
    for name in (
        "memory",
        "memory_overallocate",
        "disk",
        "disk_overallocate",
        "daemon_sftp",
        "daemon_listen",
        "upload_size",
    ):
        if data.get(name) is not None:
            setattr(node, name, int(float(data[name])))
    if data.get("daemon_base"):
        node.daemon_base = data["daemon_base"]
    node.updated_at = st.now()


def nodes_store(ctx: Ctx) -> Response:
    s, data = ctx.state, ctx.data
    validate(data, _node_rules(s))
    node = st.Node(s.next_id("nodes"), data["name"], int(data["location_id"]), data["fqdn"], 1, 1)
    _apply_node(node, data)
    s.nodes[node.id] = node
    body = ctx.app().node(node, ctx.includes())
    body["meta"] = {"resource": ctx.url(f"{PREFIX}/nodes/{node.id}")}
    return ok(body, 201)


def nodes_update(ctx: Ctx) -> Response:
    s, data, node = ctx.state, ctx.data, ctx.bound["node"]
    validate(data, {**_node_rules(s), "reset_secret": OPTIONAL_BOOLEAN})
    _apply_node(node, data)
    if to_bool(data.get("reset_secret") or False):
        node.daemon_token_id = st.random_string(16)
        node.daemon_token = st.random_string(64)
    return ok(ctx.app().node(node, ctx.includes()))


def nodes_delete(ctx: Ctx) -> Response:
    s, node = ctx.state, ctx.bound["node"]
    if s.node_servers(node.id):
        raise errors.display(
            "A node must have no servers linked to it in order to be deleted.",
            "HasActiveServersException",
        )
    for key in [k for k, a in s.allocations.items() if a.node_id == node.id]:
        del s.allocations[key]
    del s.nodes[node.id]
    return no_content()


def _server_id_filter(s: st.State) -> Any:
    def test(alloc: st.Allocation, values: list[str]) -> bool:
        if len(values) == 1 and values[0].isdigit() and values[0] != "0":
            return alloc.server_id == int(values[0])
        return s.is_free(alloc)

    return test


def allocations_index(ctx: Ctx) -> Response:
    node = ctx.bound["node"]
    raw = ctx.req.query.get("filter")
    allocs = [a for a in ctx.state.allocations.values() if a.node_id == node.id]
    if isinstance(raw, dict) and "server_id" in raw and not filter_values(raw["server_id"]):
        allocs = [a for a in allocs if ctx.state.is_free(a)]  # empty value: unassigned only
    allocs = apply_filters(
        ctx,
        allocs,
        {
            "ip": exact(lambda a: a.ip),
            "port": exact(lambda a: a.port),
            "ip_alias": partial(lambda a: a.ip_alias),
            "server_id": _server_id_filter(ctx.state),
        },
    )
    allocs = sorted(allocs, key=lambda a: a.id)
    inc = ctx.includes()
    return ok(paginate(allocs, lambda a: ctx.app().allocation(a, inc), ctx.page()))


PORT_OUT_OF_RANGE = (
    "Ports in an allocation must be greater than 1024 and less than or equal to 65535."
)


def allocations_store(ctx: Ctx) -> Response:
    return store_allocations(
        ctx, lowest=1025, out_of_range=PORT_OUT_OF_RANGE, alias_max=191, duplicates="skip"
    )


def store_allocations(
    ctx: Ctx, *, lowest: int, out_of_range: str, alias_max: int, duplicates: str
) -> Response:
    """``POST /nodes/{node}/allocations``: an IP or CIDR block times ports and ranges.

    The panels differ in the lowest port allowed, the alias length, and what an existing
    ip:port does: Pterodactyl skips it (``duplicates="skip"``), Pelican's unique index fails
    the whole call with a 500 (``"fail"``).
    """
    s, data, node = ctx.state, ctx.data, ctx.bound["node"]
    validate(
        data,
        {
            "ip": "required|string",
            "alias": f"sometimes|nullable|string|max:{alias_max}",
            "ports": "required|array",
            "ports.*": "string",
        },
    )
    try:
        network = ipaddress.ip_network(data["ip"], strict=False)
    except ValueError:
        raise errors.display(
            f"The mapping provided for {data['ip']} was invalid and could not be processed.",
            "InvalidPortMappingException",
        ) from None
    if network.version == 4 and not 25 <= network.prefixlen <= 32:
        raise errors.display(
            "CIDR notation only allows masks between /25 and /32.", "CidrOutOfRangeException"
        )
    ports: list[int] = []
    for item in data["ports"]:
        text = str(item)
        match = PORT_RANGE_RE.match(text)
        if match:
            start, end = int(match.group(1)), int(match.group(2))
            if end - start + 1 > RANGE_LIMIT:
                raise errors.display(
                    "Adding more than 1000 ports in a single range at once is not supported.",
                    "TooManyPortsInRangeException",
                )
            block = list(range(start, end + 1))
        elif text.isdigit():
            block = [int(text)]
        else:
            raise errors.display(
                f"The mapping provided for {text} was invalid and could not be processed.",
                "InvalidPortMappingException",
            )
        if any(p < lowest or p > 65535 for p in block):
            raise errors.display(out_of_range, "PortOutOfRangeException")
        ports.extend(block)
    existing = {(a.ip, a.port) for a in s.allocations.values() if a.node_id == node.id}
    hosts = [network.network_address] if network.num_addresses == 1 else list(network.hosts())
    if duplicates == "fail" and any((str(ip), port) in existing for ip in hosts for port in ports):
        raise errors.server_error("UniqueConstraintViolationException")  # nothing is added
    for ip in hosts:
        for port in ports:
            if (str(ip), port) in existing:
                continue  # duplicates are ignored
            alloc_id = s.next_id("allocations")
            s.allocations[alloc_id] = st.Allocation(
                alloc_id, node.id, str(ip), port, data.get("alias")
            )
            existing.add((str(ip), port))
    return no_content()


def allocations_delete(ctx: Ctx) -> Response:
    alloc = ctx.bound["allocation"]
    if alloc.server_id is not None:
        raise errors.display(
            "Cannot delete an allocation attached to a server.", "ServerUsingAllocationException"
        )
    del ctx.state.allocations[alloc.id]
    return no_content()


# --- locations --------------------------------------------------------------------------------


def locations_index(ctx: Ctx) -> Response:
    locs = apply_filters(
        ctx,
        ctx.state.locations.values(),
        {"short": partial(lambda x: x.short), "long": partial(lambda x: x.long)},
    )
    locs = apply_sort(ctx, locs, {"id": lambda x: x.id})
    inc = ctx.includes()
    return ok(paginate(locs, lambda x: ctx.app().location(x, inc), ctx.page()))


def locations_view(ctx: Ctx) -> Response:
    return ok(ctx.app().location(ctx.bound["location"], ctx.includes()))


def _location_rules(s: st.State, ignore: st.Location | None) -> dict[str, Any]:
    return {
        "short": [
            "required",
            "string",
            "between:1,60",
            unique(lambda v: any(x.short == v and x is not ignore for x in s.locations.values())),
        ],
        "long": "string|nullable|between:1,191",
    }


def locations_store(ctx: Ctx) -> Response:
    s, data = ctx.state, ctx.data
    validate(data, _location_rules(s, None))
    loc = st.Location(s.next_id("locations"), data["short"], data.get("long"))
    s.locations[loc.id] = loc
    body = ctx.app().location(loc, ctx.includes())
    body["meta"] = {"resource": ctx.url(f"{PREFIX}/locations/{loc.id}")}
    return ok(body, 201)


def locations_update(ctx: Ctx) -> Response:
    s, data, loc = ctx.state, ctx.data, ctx.bound["location"]
    validate(data, _location_rules(s, loc))
    loc.short = data["short"]
    if "long" in data:
        loc.long = data["long"]
    loc.updated_at = st.now()
    return ok(ctx.app().location(loc, ctx.includes()))


def locations_delete(ctx: Ctx) -> Response:
    s, loc = ctx.state, ctx.bound["location"]
    if any(n.location_id == loc.id for n in s.nodes.values()):
        raise errors.display(
            "Cannot delete a location that has active nodes attached to it.",
            "HasActiveNodesException",
        )
    del s.locations[loc.id]
    return no_content()
