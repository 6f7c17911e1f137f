"""Objects as the panel's Fractal transformers render them (docs/reference/pterodactyl_api.md
§2 "Envelope, includes, pagination, filters, errors", §4 "Client API (`/api/client`)" and
§5 "Object attributes").

Items are ``{"object", "attributes"}``; includes go under ``attributes.relationships``;
lists are ``{"object": "list", "data": [...]}`` and paginated ones add
``meta.pagination``. An include the key may not read becomes a ``null_resource``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import urlencode

from simulators.pterodactyl import state as st
from simulators.pterodactyl.state import atom, micro

NULL_RESOURCE = {"object": "null_resource", "attributes": None}
SERVER_DATABASES = "server_databases"

# include name -> ACL resource the key must be able to read
APP_INCLUDES: dict[str, dict[str, str]] = {
    "user": {"servers": "servers"},
    "server": {
        "allocations": "allocations",
        "user": "users",
        "subusers": "users",
        "nest": "nests",
        "egg": "eggs",
        "variables": "servers",
        "location": "locations",
        "node": "nodes",
        "databases": "server_databases",
        "transfer": "servers",
    },
    "node": {"allocations": "allocations", "location": "locations", "servers": "servers"},
    "allocation": {"node": "nodes", "server": "servers"},
    "location": {"nodes": "nodes", "servers": "servers"},
    "nest": {"eggs": "eggs", "servers": "servers"},
    "egg": {
        "nest": "nests",
        "servers": "servers",
        "config": "eggs",
        "script": "eggs",
        "variables": "eggs",
    },
    "server_database": {"password": SERVER_DATABASES, "host": "database_hosts"},
}


class IncludeError(Exception):
    """An include with nothing behind it (``?include=transfer``): the panel answers 500."""


def parse_includes(raw: Any) -> dict[str, dict]:
    """``"allocations.node,user"`` or a list of such -> ``{"allocations": {"node": {}}, ...}``."""
    values: list[str] = []
    if isinstance(raw, str):
        values = raw.split(",")
    elif isinstance(raw, list):
        for item in raw:
            if isinstance(item, str):
                values.extend(item.split(","))
    elif isinstance(raw, dict):
        values = [v for v in raw.values() if isinstance(v, str)]
    tree: dict[str, dict] = {}
    for value in values:
        parts = [p.strip() for p in value.split(".") if p.strip()][:2]  # nesting limit
        node = tree
        for part in parts:
            node = node.setdefault(part, {})
    return tree


def reshape(
    attributes: dict[str, Any],
    *,
    drop: Iterable[str] = (),
    after: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """``attributes`` without the ``drop`` keys and with ``after[key]``'s entries right after
    ``key``, in order: how a fork of the panel (Pelican) states only where its shape differs,
    and its JSON keeps the fork's key order."""
    out: dict[str, Any] = {}
    for key, value in attributes.items():
        if key not in drop:
            out[key] = value
        out.update((after or {}).get(key, {}))
    return out


def item(name: str, attributes: dict[str, Any]) -> dict[str, Any]:
    return {"object": name, "attributes": attributes}


def collection(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"object": "list", "data": items}


@dataclass
class Page:
    """Pagination inputs: the page asked for, its size, and how to build link URLs."""

    page: int = 1
    per_page: int = 50
    url: str = ""  # absolute URL without query
    query: list[tuple[str, str]] | None = None  # None: links carry only ?page= (application)

    def link(self, page: int) -> str:
        if self.query is None:
            return f"{self.url}?page={page}"
        pairs = [(k, v) for k, v in self.query if k != "page"]
        replaced = False
        out: list[tuple[str, str]] = []
        for k, v in self.query:
            if k == "page":
                if not replaced:
                    out.append(("page", str(page)))
                    replaced = True
                continue
            out.append((k, v))
        if not replaced:
            out = pairs + [("page", str(page))]
        return f"{self.url}?{urlencode(out)}"


def paginate(
    objects: list[Any],
    render: Callable[[Any], dict[str, Any]],
    page: Page,
    meta: dict[str, Any] | None = None,
) -> dict[str, Any]:
    total = len(objects)
    per_page = page.per_page
    total_pages = max(1, -(-total // per_page))
    start = (page.page - 1) * per_page
    chunk = objects[start : start + per_page]
    links: dict[str, str] = {}
    if page.page > 1:
        links["previous"] = page.link(page.page - 1)
    if page.page < total_pages:
        links["next"] = page.link(page.page + 1)
    pagination = {
        "total": total,
        "count": len(chunk),
        "per_page": per_page,
        "current_page": page.page,
        "total_pages": total_pages,
        "links": links,
    }
    body = collection([render(o) for o in chunk])
    body["meta"] = {"pagination": pagination, **(meta or {})}
    return body


@dataclass
class AppRenderer:
    """Application-API transformers for one request (its key decides which includes show)."""

    state: st.State
    key: st.ApiKey | None = None  # None or a client key of a root admin: no ACL
    base_url: str = ""
    _seen: set = field(default_factory=set)

    # include name -> ACL resource, per object; includes with no method behind (500)
    INCLUDES: ClassVar[dict[str, dict[str, str]]] = APP_INCLUDES
    BROKEN_INCLUDES: ClassVar[frozenset[str]] = frozenset({"transfer"})

    def allowed(self, resource: str) -> bool:
        if self.key is None or self.key.key_type == st.ACCOUNT_KEY:
            return True
        return self.key.can(resource, st.READ)

    def _relationships(
        self,
        kind: str,
        obj: Any,
        includes: dict[str, dict],
        builders: dict[str, Callable[[dict], dict]],
    ) -> dict[str, Any] | None:
        rel: dict[str, Any] = {}
        for name, sub in includes.items():
            if name not in self.INCLUDES.get(kind, {}):
                continue  # unknown include names are ignored
            if name in self.BROKEN_INCLUDES:
                raise IncludeError(name)
            if not self.allowed(self.INCLUDES[kind][name]):
                rel[name] = NULL_RESOURCE
                continue
            rel[name] = builders[name](sub)
        return rel or None

    @staticmethod
    def _attach(body: dict[str, Any], rel: dict[str, Any] | None) -> dict[str, Any]:
        if rel:
            body["attributes"]["relationships"] = rel
        return body

    # --- objects -----------------------------------------------------------

    def user(self, user: st.User, inc: dict | None = None) -> dict[str, Any]:
        body = item("user", self.user_attributes(user))
        rel = self._relationships("user", user, inc or {}, self.user_includes(user))
        return self._attach(body, rel)

    @staticmethod
    def user_attributes(user: st.User) -> dict[str, Any]:
        return {
            "id": user.id,
            "external_id": user.external_id,
            "uuid": user.uuid,
            "username": user.username,
            "email": user.email,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "language": user.language,
            "root_admin": user.root_admin,
            "2fa": user.use_totp,
            "created_at": atom(user.created_at),
            "updated_at": atom(user.updated_at),
        }

    def user_includes(self, user: st.User) -> dict[str, Callable[[dict], dict]]:
        servers = sorted(
            (s for s in self.state.servers.values() if s.owner_id == user.id), key=lambda s: s.id
        )
        return {"servers": lambda sub: collection([self.server(s, sub) for s in servers])}

    def server(self, server: st.Server, inc: dict | None = None) -> dict[str, Any]:
        body = item("server", self.server_attributes(server))
        rel = self._relationships("server", server, inc or {}, self.server_includes(server))
        return self._attach(body, rel)

    def server_attributes(self, server: st.Server) -> dict[str, Any]:
        return {
            "id": server.id,
            "external_id": server.external_id,
            "uuid": server.uuid,
            "identifier": server.identifier,
            "name": server.name,
            "description": server.description,
            "status": server.status,
            "suspended": server.status == "suspended",
            "limits": {
                "memory": server.memory,
                "swap": server.swap,
                "disk": server.disk,
                "io": server.io,
                "cpu": server.cpu,
                "threads": server.threads,
                "oom_disabled": server.oom_disabled,
            },
            "feature_limits": {
                "databases": server.database_limit,
                "allocations": server.allocation_limit,
                "backups": server.backup_limit,
            },
            "user": server.owner_id,
            "node": server.node_id,
            "allocation": server.allocation_id,
            "nest": server.nest_id,
            "egg": server.egg_id,
            "container": {
                "startup_command": server.startup,
                "image": server.image,
                "installed": 1 if server.is_installed else 0,
                "environment": self.state.environment(server),
            },
            "updated_at": atom(server.updated_at),
            "created_at": atom(server.created_at),
        }

    def server_includes(self, server: st.Server) -> dict[str, Callable[[dict], dict]]:
        s = self.state
        node = s.nodes.get(server.node_id)
        return {
            "allocations": lambda sub: collection(
                [self.allocation(a, sub) for a in s.server_allocations(server)]
            ),
            "user": lambda sub: self.user(s.users[server.owner_id], sub),
            "subusers": lambda sub: collection(
                [
                    self.subuser(u)
                    for u in sorted(s.subusers.values(), key=lambda u: u.id)
                    if u.server_id == server.id
                ]
            ),
            "nest": lambda sub: self.nest(s.nests[server.nest_id], sub),
            "egg": lambda sub: self.egg(s.eggs[server.egg_id], sub),
            "variables": lambda sub: collection(
                [self.server_variable(server, v) for v in s.egg_vars(server.egg_id)]
            ),
            "location": lambda sub: (
                self.location(s.locations[node.location_id], sub) if node else NULL_RESOURCE
            ),
            "node": lambda sub: self.node(node, sub) if node else NULL_RESOURCE,
            "databases": lambda sub: collection(
                [
                    dict(self.database(d, sub), object="databases")
                    for d in sorted(s.databases.values(), key=lambda d: d.id)
                    if d.server_id == server.id
                ]
            ),
        }

    def allocation(self, alloc: st.Allocation, inc: dict | None = None) -> dict[str, Any]:
        s = self.state
        body = item(
            "allocation",
            {
                "id": alloc.id,
                "ip": alloc.ip,
                "alias": alloc.ip_alias,
                "port": alloc.port,
                "notes": alloc.notes,
                "assigned": not self.state.is_free(alloc),
            },
        )
        rel = self._relationships(
            "allocation",
            alloc,
            inc or {},
            {
                "node": lambda sub: self.node(s.nodes[alloc.node_id], sub),
                "server": lambda sub: (
                    self.server(s.servers[alloc.server_id], sub)
                    if alloc.server_id in s.servers
                    else NULL_RESOURCE
                ),
            },
        )
        return self._attach(body, rel)

    def node(self, node: st.Node, inc: dict | None = None) -> dict[str, Any]:
        servers = self.state.node_servers(node.id)
        body = item("node", self.node_attributes(node, servers))
        rel = self._relationships("node", node, inc or {}, self.node_includes(node, servers))
        return self._attach(body, rel)

    @staticmethod
    def node_attributes(node: st.Node, servers: list[st.Server]) -> dict[str, Any]:
        return {
            "id": node.id,
            "uuid": node.uuid,
            "public": node.public,
            "name": node.name,
            "description": node.description,
            "location_id": node.location_id,
            "fqdn": node.fqdn,
            "scheme": node.scheme,
            "behind_proxy": node.behind_proxy,
            "maintenance_mode": node.maintenance_mode,
            "memory": node.memory,
            "memory_overallocate": node.memory_overallocate,
            "disk": node.disk,
            "disk_overallocate": node.disk_overallocate,
            "upload_size": node.upload_size,
            "daemon_listen": node.daemon_listen,
            "daemon_sftp": node.daemon_sftp,
            "daemon_base": node.daemon_base,
            "created_at": atom(node.created_at),
            "updated_at": atom(node.updated_at),
            "allocated_resources": {
                "memory": sum(x.memory for x in servers),
                "disk": sum(x.disk for x in servers),
            },
        }

    def node_includes(
        self, node: st.Node, servers: list[st.Server]
    ) -> dict[str, Callable[[dict], dict]]:
        s = self.state
        return {
            "allocations": lambda sub: collection(
                [
                    self.allocation(a, sub)
                    for a in sorted(s.allocations.values(), key=lambda a: a.id)
                    if a.node_id == node.id
                ]
            ),
            "location": lambda sub: self.location(s.locations[node.location_id], sub),
            "servers": lambda sub: collection(
                [self.server(x, sub) for x in sorted(servers, key=lambda x: x.id)]
            ),
        }

    def location(self, loc: st.Location, inc: dict | None = None) -> dict[str, Any]:
        s = self.state
        nodes = sorted((n for n in s.nodes.values() if n.location_id == loc.id), key=lambda n: n.id)
        body = item(
            "location",
            {
                "id": loc.id,
                "short": loc.short,
                "long": loc.long,
                "updated_at": atom(loc.updated_at),
                "created_at": atom(loc.created_at),
            },
        )
        rel = self._relationships(
            "location",
            loc,
            inc or {},
            {
                "nodes": lambda sub: collection([self.node(n, sub) for n in nodes]),
                "servers": lambda sub: collection(
                    [
                        self.server(x, sub)
                        for x in sorted(s.servers.values(), key=lambda x: x.id)
                        if x.node_id in {n.id for n in nodes}
                    ]
                ),
            },
        )
        return self._attach(body, rel)

    def nest(self, nest: st.Nest, inc: dict | None = None) -> dict[str, Any]:
        s = self.state
        body = item(
            "nest",
            {
                "id": nest.id,
                "uuid": nest.uuid,
                "author": nest.author,
                "name": nest.name,
                "description": nest.description,
                "created_at": atom(nest.created_at),
                "updated_at": atom(nest.updated_at),
            },
        )
        rel = self._relationships(
            "nest",
            nest,
            inc or {},
            {
                "eggs": lambda sub: collection(
                    [
                        self.egg(e, sub)
                        for e in sorted(s.eggs.values(), key=lambda e: e.id)
                        if e.nest_id == nest.id
                    ]
                ),
                "servers": lambda sub: collection(
                    [
                        self.server(x, sub)
                        for x in sorted(s.servers.values(), key=lambda x: x.id)
                        if x.nest_id == nest.id
                    ]
                ),
            },
        )
        return self._attach(body, rel)

    def egg(self, egg: st.Egg, inc: dict | None = None) -> dict[str, Any]:
        body = item("egg", self.egg_attributes(egg))
        rel = self._relationships("egg", egg, inc or {}, self.egg_includes(egg, body["attributes"]))
        return self._attach(body, rel)

    @staticmethod
    def egg_attributes(egg: st.Egg) -> dict[str, Any]:
        config = {
            "files": egg.config_files or {},
            "startup": egg.config_startup,
            "stop": egg.config_stop,
            "logs": egg.config_logs or {},
            "file_denylist": egg.file_denylist,
            "extends": None,
        }
        script = {
            "privileged": egg.script_privileged,
            "install": egg.script_install,
            "entry": egg.script_entry,
            "container": egg.script_container,
            "extends": None,
        }
        images = list(egg.docker_images.values())
        return {
            "id": egg.id,
            "uuid": egg.uuid,
            "name": egg.name,
            "nest": egg.nest_id,
            "author": egg.author,
            "description": egg.description,
            "docker_image": images[0] if images else "",
            "docker_images": egg.docker_images,
            "config": config,
            "startup": egg.startup,
            "script": script,
            "created_at": atom(egg.created_at),
            "updated_at": atom(egg.updated_at),
        }

    def egg_includes(self, egg: st.Egg, attrs: dict[str, Any]) -> dict[str, Callable[[dict], dict]]:
        s = self.state
        return {
            "nest": lambda sub: self.nest(s.nests[egg.nest_id], sub),
            "servers": lambda sub: collection(
                [
                    self.server(x, sub)
                    for x in sorted(s.servers.values(), key=lambda x: x.id)
                    if x.egg_id == egg.id
                ]
            ),
            "config": lambda sub: item("egg", dict(attrs["config"])),
            "script": lambda sub: item("egg", dict(attrs["script"])),
            "variables": lambda sub: collection([self.egg_variable(v) for v in s.egg_vars(egg.id)]),
        }

    @staticmethod
    def egg_variable_attributes(var: st.EggVariable) -> dict[str, Any]:
        return {
            "id": var.id,
            "egg_id": var.egg_id,
            "name": var.name,
            "description": var.description,
            "env_variable": var.env_variable,
            "default_value": var.default_value,
            "user_viewable": var.user_viewable,
            "user_editable": var.user_editable,
            "rules": var.rules,
            "created_at": micro(var.created_at),
            "updated_at": micro(var.updated_at),
        }

    def egg_variable(self, var: st.EggVariable) -> dict[str, Any]:
        return item("egg_variable", self.egg_variable_attributes(var))

    def server_variable(self, server: st.Server, var: st.EggVariable) -> dict[str, Any]:
        attrs = self.egg_variable_attributes(var)
        attrs["server_value"] = server.variables.get(var.id)
        return item("server_variable", attrs)

    def subuser(self, sub: st.Subuser) -> dict[str, Any]:
        return item(
            "server_subuser",
            {
                "id": sub.id,
                "user_id": sub.user_id,
                "server_id": sub.server_id,
                "permissions": list(sub.permissions),
                "created_at": atom(sub.created_at),
                "updated_at": atom(sub.updated_at),
            },
        )

    def database(self, db: st.Database, inc: dict | None = None) -> dict[str, Any]:
        host = self.state.database_hosts.get(db.database_host_id)
        body = item(
            "server_database",
            {
                "id": db.id,
                "server": db.server_id,
                "host": db.database_host_id,
                "database": db.database,
                "username": db.username,
                "remote": db.remote,
                "max_connections": db.max_connections,
                "created_at": atom(db.created_at),
                "updated_at": atom(db.updated_at),
            },
        )
        rel = self._relationships(
            "server_database",
            db,
            inc or {},
            {
                "password": lambda sub: item("database_password", {"password": db.password}),
                "host": lambda sub: self.database_host(host) if host else NULL_RESOURCE,
            },
        )
        return self._attach(body, rel)

    def database_host(self, host: st.DatabaseHost) -> dict[str, Any]:
        return item(
            "database_host",
            {
                "id": host.id,
                "name": host.name,
                "host": host.host,
                "port": host.port,
                "username": host.username,
                "node": host.node_id,
                "created_at": atom(host.created_at),
                "updated_at": atom(host.updated_at),
            },
        )


# --- client API -------------------------------------------------------------------------------


def sha1_hex(text: str) -> str:
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


def gravatar(email: str) -> str:
    digest = hashlib.md5(email.strip().lower().encode(), usedforsecurity=False).hexdigest()
    return f"https://gravatar.com/avatar/{digest}"


@dataclass
class ClientRenderer:
    """Client-API transformers for one user; ``can(permission)`` is that user's check."""

    state: st.State
    user: st.User
    can: Callable[[st.Server, str], bool]

    # A database's id as the client API shows it, and the permission that reveals its password.
    DATABASE_ID: ClassVar[str] = "hashid"
    VIEW_PASSWORD: ClassVar[str] = "database.view_password"

    def server(self, server: st.Server, inc: dict | None = None) -> dict[str, Any]:
        s = self.state
        node = s.nodes[server.node_id]
        egg = s.eggs.get(server.egg_id)
        body = item(
            "server",
            {
                "server_owner": self.user.id == server.owner_id,
                "identifier": server.identifier,
                "internal_id": server.id,
                "uuid": server.uuid,
                "name": server.name,
                "node": node.name,
                "is_node_under_maintenance": node.maintenance_mode,
                "sftp_details": {"ip": node.fqdn, "port": node.daemon_sftp},
                "description": server.description,
                "limits": {
                    "memory": server.memory,
                    "swap": server.swap,
                    "disk": server.disk,
                    "io": server.io,
                    "cpu": server.cpu,
                    "threads": server.threads,
                    "oom_disabled": server.oom_disabled,
                },
                "invocation": s.invocation(
                    server, client=True, hide_all=not self.can(server, "startup.read")
                ),
                "docker_image": server.image,
                "egg_features": list(egg.features) if egg and egg.features is not None else None,
                "feature_limits": {
                    "databases": server.database_limit,
                    "allocations": server.allocation_limit,
                    "backups": server.backup_limit,
                },
                "status": server.status,
                "is_suspended": server.status == "suspended",
                "is_installing": not server.is_installed,
                "is_transferring": server.transferring,
            },
        )
        rel: dict[str, Any] = {}
        if self.can(server, "allocation.read"):
            allocs = [self.allocation(a, server) for a in s.server_allocations(server)]
        else:
            primary = s.allocations.get(server.allocation_id)
            allocs = [self.allocation(primary, server, hide_notes=True)] if primary else []
        rel["allocations"] = collection(allocs)
        if self.can(server, "startup.read"):
            rel["variables"] = collection(
                [self.variable(server, v) for v in s.egg_vars(server.egg_id) if v.user_viewable]
            )
        else:
            rel["variables"] = NULL_RESOURCE
        inc = inc or {}
        if "egg" in inc and egg:
            rel["egg"] = item("egg", {"uuid": egg.uuid, "name": egg.name})
        if "subusers" in inc:
            if self.can(server, "user.read"):
                rel["subusers"] = collection(
                    [
                        self.subuser(u)
                        for u in sorted(s.subusers.values(), key=lambda u: u.id)
                        if u.server_id == server.id
                    ]
                )
            else:
                rel["subusers"] = NULL_RESOURCE
        body["attributes"]["relationships"] = rel
        return body

    def allocation(
        self, alloc: st.Allocation, server: st.Server, hide_notes: bool = False
    ) -> dict[str, Any]:
        return item(
            "allocation",
            {
                "id": alloc.id,
                "ip": alloc.ip,
                "ip_alias": alloc.ip_alias,
                "port": alloc.port,
                "notes": None if hide_notes else alloc.notes,
                "is_default": alloc.id == server.allocation_id,
            },
        )

    def variable(self, server: st.Server, var: st.EggVariable) -> dict[str, Any]:
        return item(
            "egg_variable",
            {
                "name": var.name,
                "description": var.description,
                "env_variable": var.env_variable,
                "default_value": var.default_value,
                "server_value": server.variables.get(var.id),
                "is_editable": var.user_editable,
                "rules": var.rules,
            },
        )

    def subuser(self, sub: st.Subuser) -> dict[str, Any]:
        user = self.state.users[sub.user_id]
        return item(
            "server_subuser",
            {
                "uuid": user.uuid,
                "username": user.username,
                "email": user.email,
                "image": gravatar(user.email),
                "2fa_enabled": user.use_totp,
                "created_at": atom(sub.created_at),
                "permissions": list(sub.permissions),
            },
        )

    def stats(self, server: st.Server) -> dict[str, Any]:
        return item(
            "stats",
            {
                "current_state": server.power_state,
                "is_suspended": server.status == "suspended",
                "resources": self.state.usage(server),
            },
        )

    @staticmethod
    def backup(backup: st.Backup) -> dict[str, Any]:
        return item(
            "backup",
            {
                "uuid": backup.uuid,
                "is_successful": backup.is_successful,
                "is_locked": backup.is_locked,
                "name": backup.name,
                "ignored_files": list(backup.ignored_files),
                "checksum": backup.checksum,
                "bytes": backup.bytes,
                "created_at": atom(backup.created_at),
                "completed_at": atom(backup.completed_at),
            },
        )

    def database(self, db: st.Database, server: st.Server, with_password: bool) -> dict[str, Any]:
        host = self.state.database_hosts[db.database_host_id]
        body = item(
            "server_database",
            {
                "id": getattr(db, self.DATABASE_ID),
                "host": {"address": host.host, "port": host.port},
                "name": db.database,
                "username": db.username,
                "connections_from": db.remote,
                "max_connections": db.max_connections,
            },
        )
        if with_password:
            body["attributes"]["relationships"] = {
                "password": (
                    item("database_password", {"password": db.password})
                    if self.can(server, self.VIEW_PASSWORD)
                    else NULL_RESOURCE
                )
            }
        return body

    def schedule(self, sched: st.Schedule) -> dict[str, Any]:
        tasks = sorted(
            (t for t in self.state.tasks.values() if t.schedule_id == sched.id),
            key=lambda t: (t.sequence_id, t.id),
        )
        return item(
            "server_schedule",
            {
                "id": sched.id,
                "name": sched.name,
                "cron": {
                    "day_of_week": sched.day_of_week,
                    "day_of_month": sched.day_of_month,
                    "month": sched.month,
                    "hour": sched.hour,
                    "minute": sched.minute,
                },
                "is_active": sched.is_active,
                "is_processing": sched.is_processing,
                "only_when_online": sched.only_when_online,
                "last_run_at": atom(sched.last_run_at),
                "next_run_at": atom(sched.next_run_at),
                "created_at": atom(sched.created_at),
                "updated_at": atom(sched.updated_at),
                "relationships": {"tasks": collection([self.task(t) for t in tasks])},
            },
        )

    @staticmethod
    def task(task: st.Task) -> dict[str, Any]:
        return item(
            "schedule_task",
            {
                "id": task.id,
                "sequence_id": task.sequence_id,
                "action": task.action,
                "payload": task.payload,
                "time_offset": task.time_offset,
                "is_queued": task.is_queued,
                "continue_on_failure": task.continue_on_failure,
                "created_at": atom(task.created_at),
                "updated_at": atom(task.updated_at),
            },
        )

    def activity(self, entry: st.Activity, inc: dict | None = None) -> dict[str, Any]:
        actor = self.state.users.get(entry.actor_id) if entry.actor_id else None
        can_see_ip = actor is not None and (actor.id == self.user.id or self.user.root_admin)
        body = item(
            "activity_log",
            {
                "id": sha1_hex(str(entry.id)),
                "batch": entry.batch,
                "event": entry.event,
                "is_api": entry.is_api,
                "ip": entry.ip if can_see_ip else None,
                "description": entry.description,
                "properties": entry.properties or {},
                "has_additional_metadata": False,
                "timestamp": atom(entry.timestamp),
            },
        )
        if inc and "actor" in inc:
            body["attributes"]["relationships"] = {
                "actor": self.actor(actor) if actor else NULL_RESOURCE
            }
        return body

    @staticmethod
    def actor(user: st.User) -> dict[str, Any]:
        return item(
            "user",
            {
                "uuid": user.uuid,
                "username": user.username,
                "email": user.email,
                "image": gravatar(user.email),
                "2fa_enabled": user.use_totp,
                "created_at": atom(user.created_at),
            },
        )

    @staticmethod
    def account(user: st.User) -> dict[str, Any]:
        return item(
            "user",
            {
                "id": user.id,
                "admin": user.root_admin,
                "username": user.username,
                "email": user.email,
                "first_name": user.first_name,
                "last_name": user.last_name,
                "language": user.language,
            },
        )

    @staticmethod
    def api_key(key: st.ApiKey) -> dict[str, Any]:
        return item(
            "api_key",
            {
                "identifier": key.identifier,
                "description": key.memo,
                "allowed_ips": list(key.allowed_ips),
                "last_used_at": atom(key.last_used_at),
                "created_at": atom(key.created_at),
            },
        )

    @staticmethod
    def ssh_key(key: st.SshKey) -> dict[str, Any]:
        return item(
            "ssh_key",
            {
                "name": key.name,
                "fingerprint": key.fingerprint,
                "public_key": key.public_key,
                "created_at": atom(key.created_at),
            },
        )

    @staticmethod
    def file(name: str, entry: st.FileEntry) -> dict[str, Any]:
        mode_bits = oct(entry.mode)[2:]
        perms = "".join(
            ("r" if entry.mode & (4 << s) else "-")
            + ("w" if entry.mode & (2 << s) else "-")
            + ("x" if entry.mode & (1 << s) else "-")
            for s in (6, 3, 0)
        )
        return item(
            "file_object",
            {
                "name": name,
                "mode": ("d" if entry.is_dir else "-") + perms,
                "mode_bits": mode_bits,
                "size": 4096 if entry.is_dir else len(entry.content),
                "is_file": not entry.is_dir,
                "is_symlink": False,
                "mimetype": "inode/directory" if entry.is_dir else "text/plain",
                "created_at": atom(entry.created_at),
                "modified_at": atom(entry.modified_at),
            },
        )


def sort_by(objects: Iterable[Any], key: str | None, allowed: dict[str, str]) -> list[Any]:
    """Apply a validated ``sort`` (``id`` or ``-id``); default order is by id."""
    items = list(objects)
    if not key:
        return sorted(items, key=lambda o: o.id)
    desc = key.startswith("-")
    attr = allowed[key.lstrip("-")]
    return sorted(items, key=lambda o: (getattr(o, attr) is None, getattr(o, attr)), reverse=desc)
