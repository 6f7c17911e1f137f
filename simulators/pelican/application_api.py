"""``/api/application`` as Pelican answers it: Pterodactyl's routes minus nests and locations,
plus top-level eggs, with Pelican's rules where they differ (docs/reference/pelican_api.md
§3 "Application API (`/api/application`): endpoints a billing panel needs").

Routes that behave as in Pterodactyl (user and server look-ups, server databases, node
views, allocation lists and deletes, force delete) keep Pterodactyl's handlers.
"""

from __future__ import annotations

import uuid as uuidlib
from typing import Any

from simulators.pelican import nodes, roles
from simulators.pelican.servers import (
    FEATURE_LIMIT_RULES,
    limit_rules,
    servers_build,
    servers_delete,
    servers_reinstall,
    servers_suspend,
    servers_unsuspend,
)
from simulators.pelican.users import users_delete, users_store, users_update
from simulators.pterodactyl import application_api as ptero
from simulators.pterodactyl import errors
from simulators.pterodactyl import state as st
from simulators.pterodactyl.common import (
    as_text,
    delete_server_rows,
    exists,
    int_or_none,
    unique,
)
from simulators.pterodactyl.routing import Ctx, Response, Router
from simulators.pterodactyl.transformers import collection
from simulators.pterodactyl.validation import Validator, to_bool, validate

PREFIX = ptero.PREFIX
R, W = st.READ, st.WRITE
# Pterodactyl's ACL columns -> Pelican's resource names
ACL = {
    "users": "user",
    "servers": "server",
    "nodes": "node",
    "allocations": "allocation",
    "eggs": "egg",
    "server_databases": "server_database",
    "database_hosts": "database_host",
}
PORT_OUT_OF_RANGE = (
    "Ports in an allocation must be greater than or equal to 1024 and less than or equal to 65535."
)
ok = ptero.ok


def register(r: Router) -> None:
    ptero.register(r)
    # docs/reference/pelican_api.md §3.3 "Eggs (top level; there are no nests)": nests and
    # locations answer the router's 404
    r.drop(PREFIX + "/nests")
    r.drop(PREFIX + "/locations")
    for route in r.routes:
        if route.api == "application" and route.acl is not None:
            route.acl = (ACL[route.acl[0]], route.acl[1])
    for method, path, handler in (
        ("GET", "/servers", servers_index),
        ("POST", "/users", users_store),
        ("PATCH", "/users/{user}", users_update),
        ("DELETE", "/users/{user}", users_delete),
        ("POST", "/servers", servers_store),
        ("PATCH", "/servers/{server}/details", servers_details),
        ("PATCH", "/servers/{server}/build", servers_build),
        ("PATCH", "/servers/{server}/startup", servers_startup),
        ("POST", "/servers/{server}/suspend", servers_suspend),
        ("POST", "/servers/{server}/unsuspend", servers_unsuspend),
        ("POST", "/servers/{server}/reinstall", servers_reinstall),
        ("DELETE", "/servers/{server}", servers_delete),
        ("GET", "/nodes", nodes_index),
        ("GET", "/nodes/deployable", nodes_deployable),
        ("POST", "/nodes/{node}/allocations", allocations_store),
        ("POST", "/nodes", nodes.nodes_store),
        ("PATCH", "/nodes/{node}", nodes.nodes_update),
    ):
        r.override(method, PREFIX + path, handler)
    roles.register(r)
    r.add("GET", PREFIX + "/eggs", eggs_index, api="application", acl=("egg", R))
    r.add("GET", PREFIX + "/eggs/{egg}", ptero.eggs_view, api="application", acl=("egg", R))


# --- servers ----------------------------------------------------------------------------------


servers_index = ptero.index_handler(uuid_short="uuid_short")


def validate_variables(s: st.State, egg_id: int, environment: Any) -> dict[int, str]:
    """docs/reference/pelican_api.md §7.5 "Egg variables on create and startup": a missing
    key is validated with the variable's default but stored as ``""``."""
    env = environment if isinstance(environment, dict) else {}
    variables = s.egg_vars(egg_id)
    sent = {v.env_variable: env.get(v.env_variable) for v in variables}
    checked = {
        "environment": {
            v.env_variable: sent[v.env_variable]
            if sent[v.env_variable] is not None
            else (v.default_value or None)
            for v in variables
        }
    }
    Validator(
        checked,
        {f"environment.{v.env_variable}": v.rules for v in variables},
        {f"environment.{v.env_variable}": f"{v.name} variable" for v in variables},
    ).validate()
    return {
        v.id: "" if sent[v.env_variable] is None else as_text(sent[v.env_variable])
        for v in variables
    }


def servers_store(ctx: Ctx) -> Response:
    """docs/reference/pelican_api.md §3.2.1 "Create server: `POST /servers`"."""
    s, data, sim = ctx.state, ctx.data, ctx.sim
    deploy = data.get("deploy")
    given = isinstance(deploy, dict)
    rules: dict[str, Any] = {
        "external_id": [
            "sometimes",
            "nullable",
            "string",
            "between:1,255",
            unique(lambda v: any(x.external_id == v for x in s.servers.values())),
        ],
        "name": "required|string|min:1|max:255",
        "description": "nullable|string",
        "user": ["required", "integer", exists(lambda v: int_or_none(v) in s.users)],
        "egg": ["required", exists(lambda v: int_or_none(v) in s.eggs)],
        "docker_image": "sometimes|string",
        "startup": "sometimes|string",
        "environment": "present|array",
        "skip_scripts": "sometimes|boolean",
        "oom_killer": "sometimes|boolean",
        "limits": "required|array",
        **limit_rules(),
        **FEATURE_LIMIT_RULES,
        "deploy": "sometimes|required|array",
        "deploy.locations": "present|array" if given else "sometimes|array",
        "deploy.locations.*": "integer|min:1",
        "deploy.tags": "present|array" if given else "array",
        "deploy.tags.*": "string|min:1",
        "deploy.dedicated_ip": "required_with:deploy|boolean",
        "deploy.port_range": "present|array" if given else "array",
        "deploy.port_range.*": "string",
        "start_on_completion": "sometimes|boolean",
    }
    if not deploy:
        rules["allocation.default"] = ["required", "integer", "bail", ptero.free_allocation(ctx)]
        rules["allocation.additional.*"] = ["integer", ptero.free_allocation(ctx)]
    validate(data, rules)

    limits = data["limits"]
    memory, disk, cpu = (int(float(limits[k])) for k in ("memory", "disk", "cpu"))
    egg = s.eggs[int(data["egg"])]
    additional: list[st.Allocation] = []
    if deploy:
        node, alloc = deploy_placement(ctx, deploy, memory, disk, cpu)
    else:
        alloc = s.allocations[int(data["allocation"]["default"])]
        node = s.nodes[alloc.node_id]
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
    images = list(egg.docker_images.values())
    server = st.Server(
        id=s.next_id("servers"),
        uuid=server_uuid,
        name=data["name"],
        owner_id=int(data["user"]),
        node_id=node.id,
        allocation_id=alloc.id if alloc else None,
        nest_id=0,
        egg_id=egg.id,
        startup=data.get("startup") or egg.startup,
        image=data.get("docker_image") or (images[0] if images else ""),
        memory=memory,
        swap=int(float(limits["swap"])),
        disk=disk,
        io=int(float(limits["io"])),
        cpu=cpu,
        threads=limits.get("threads"),
        oom_disabled=not to_bool(data.get("oom_killer") or False),
        external_id=data.get("external_id"),
        description=data.get("description") or "",
        skip_scripts=to_bool(data.get("skip_scripts") or False),
        database_limit=int_or_none(fl.get("databases")) or 0,
        allocation_limit=int_or_none(fl.get("allocations")) or 0,
        backup_limit=int_or_none(fl.get("backups")) or 0,
        variables=values,
        start_on_completion=to_bool(data.get("start_on_completion") or False),
    )
    s.servers[server.id] = server
    for a in [alloc, *additional]:
        if a is not None:
            a.server_id = server.id
    s.start_install(server)
    failure = sim.wings_failure()
    if failure is not None:
        if failure.code == "ConnectionException":
            delete_server_rows(s, server)  # the panel force-deletes what it just created
        else:  # Wings answered an error: the row stays, installing for ever
            server.install_done_at = None
        raise failure
    ctx.bound["delay"] = sim.take_create_delay()
    return ok(ctx.app().server(server, ctx.includes()), 201)


def _room(used: int, wanted: int, size: int, over: int) -> bool:
    """A node resource of 0 or an overallocation of -1 is unlimited."""
    return size == 0 or over == -1 or used + wanted <= size * (1 + over / 100)


def viable_nodes(s: st.State, memory: int, disk: int, cpu: int, tags: list[str]) -> list[st.Node]:
    """Public nodes carrying at least one of ``tags`` (all public nodes without tags) with
    room for the memory, disk and CPU asked for."""
    out = []
    for node in sorted(s.nodes.values(), key=lambda n: n.id):
        if not node.public or (tags and not set(tags) & set(getattr(node, "tags", []))):
            continue
        servers = s.node_servers(node.id)
        if (
            _room(sum(x.memory for x in servers), memory, node.memory, node.memory_overallocate)
            and _room(sum(x.disk for x in servers), disk, node.disk, node.disk_overallocate)
            and _room(
                sum(x.cpu for x in servers),
                cpu,
                getattr(node, "cpu", 0),
                getattr(node, "cpu_overallocate", 0),
            )
        ):
            out.append(node)
    return out


def deploy_placement(
    ctx: Ctx, deploy: dict[str, Any], memory: int, disk: int, cpu: int
) -> tuple[st.Node, st.Allocation | None]:
    """The node and allocation ``deploy`` picks; an empty ``port_range`` picks no allocation."""
    s = ctx.state
    nodes = viable_nodes(s, memory, disk, cpu, [str(t) for t in deploy.get("tags") or []])
    if not nodes:
        raise errors.display(
            "No nodes satisfying the requirements specified for automatic "
            "deployment could be found.",
            "NoViableNodeException",
        )
    if not deploy.get("port_range"):
        return nodes[0], None
    alloc = ptero.deploy_allocation(ctx, deploy, nodes)
    return s.nodes[alloc.node_id], alloc


# Pelican's names and external ids may be 255 characters long (Pterodactyl: 191).
servers_details = ptero.details_handler(name_max=255)


def servers_startup(ctx: Ctx) -> Response:
    """docs/reference/pelican_api.md §3.2.4 "Update startup: `PATCH /servers/{id}/startup`":
    ``startup`` and ``image`` optional, an egg change does not reinstall."""
    s, data, server = ctx.state, ctx.data, ctx.bound["server"]
    validate(
        data,
        {
            "startup": "sometimes|string",
            "environment": "present|array",
            "egg": ["required", exists(lambda v: int_or_none(v) in s.eggs)],
            "image": "sometimes|string|max:255",
            "skip_scripts": "present|boolean",
        },
    )
    egg = s.eggs[int(data["egg"])]
    changed = egg.id != server.egg_id
    env = data.get("environment")
    if env:  # every variable of the (new) egg is re-validated; omitted ones become ""
        server.variables.update(validate_variables(s, egg.id, env))
    server.egg_id = egg.id
    images = list(egg.docker_images.values())
    server.startup = data.get("startup") or (egg.startup if changed else server.startup)
    server.image = data.get("image") or (images[0] if changed and images else server.image)
    server.skip_scripts = to_bool(data["skip_scripts"])
    server.updated_at = st.now()
    return ok(ctx.app().server(server, ctx.includes()))


# --- eggs and nodes ---------------------------------------------------------------------------


def eggs_index(ctx: Ctx) -> Response:
    """Every egg, not paginated, no filters."""
    inc = ctx.includes()
    eggs = sorted(ctx.state.eggs.values(), key=lambda e: e.id)
    return ok(collection([ctx.app().egg(e, inc) for e in eggs]))


nodes_index = ptero.nodes_index_handler({**ptero.NODE_SORTS, "cpu": lambda n: getattr(n, "cpu", 0)})


def nodes_deployable(ctx: Ctx) -> Response:
    """Never paginated; nothing fitting is an empty list, not a 400. beta38 still takes
    ``location_ids[]`` and treats them as tags."""
    q = ctx.req.query
    validate(
        q,
        {
            "page": "integer",
            "memory": "required|integer|min:0",
            "disk": "required|integer|min:0",
            "cpu": "sometimes|integer|min:0",
            "tags": "sometimes|array",
            "location_ids": "sometimes|array",
        },
    )
    tags = [str(t) for t in (q.get("tags") or [])] + [str(t) for t in (q.get("location_ids") or [])]
    nodes = viable_nodes(ctx.state, int(q["memory"]), int(q["disk"]), int(q.get("cpu") or 0), tags)
    inc = ctx.includes()
    items = []
    for node in nodes:
        body = ctx.app().node(node, inc)
        servers = ctx.state.node_servers(node.id)
        body["attributes"].update(
            {
                "servers_sum_memory": sum(x.memory for x in servers),
                "servers_sum_disk": sum(x.disk for x in servers),
                "servers_sum_cpu": sum(x.cpu for x in servers),
            }
        )
        items.append(body)
    return ok(collection(items))


def allocations_store(ctx: Ctx) -> Response:
    return ptero.store_allocations(
        ctx, lowest=1024, out_of_range=PORT_OUT_OF_RANGE, alias_max=255, duplicates="fail"
    )
