"""Objects as Pelican's transformers render them (docs/reference/pelican_api.md §5
"Object attributes"): Pterodactyl's envelope and includes, Pelican's attributes.

Only what differs is written here; allocations, databases, subusers, backups, schedules and
files render as Pterodactyl renders them.
"""

from __future__ import annotations

from typing import Any

from simulators.pelican import roles
from simulators.pelican import state as pst
from simulators.pterodactyl import state as st
from simulators.pterodactyl.state import atom
from simulators.pterodactyl.transformers import (
    NULL_RESOURCE,
    AppRenderer,
    ClientRenderer,
    IncludeError,
    collection,
    gravatar,
    item,
)

# include name -> ACL resource the key must be able to read (docs/reference/pelican_api.md
# §2.2 "Includes"); server ``transfer`` and egg ``config``/``script`` have no include method
# and answer 500.
APP_INCLUDES: dict[str, dict[str, str]] = {
    "user": {"servers": "server", "roles": "role"},
    "server": {
        "allocations": "allocation",
        "user": "user",
        "subusers": "user",
        "egg": "egg",
        "variables": "server",
        "node": "node",
        "databases": "server_database",
        "transfer": "server",
    },
    "node": {"allocations": "allocation", "servers": "server"},
    "allocation": {"node": "node", "server": "server"},
    "egg": {"servers": "server", "variables": "egg", "config": "egg", "script": "egg"},
    "server_database": {"password": "server_database", "host": "database_host"},
}
BROKEN_INCLUDES = {"transfer", "config", "script"}


def rule_list(rules: str) -> list[str]:
    """``"required|regex:/a|b/"`` -> ``["required", "regex:/a|b/"]``: the application API
    shows a variable's rules as an array (a regex rule keeps its own bars)."""
    out: list[str] = []
    parts = rules.split("|")
    for index, part in enumerate(parts):
        if part.startswith(("regex:", "not_regex:")):
            out.append("|".join(parts[index:]))
            break
        if part:
            out.append(part)
    return out


class PelicanAppRenderer(AppRenderer):
    """Application-API objects with Pelican's attributes and include names."""

    def _relationships(
        self, kind: str, obj: Any, includes: dict[str, dict], builders: dict[str, Any]
    ) -> dict[str, Any] | None:
        rel: dict[str, Any] = {}
        for name, sub in includes.items():
            if name not in APP_INCLUDES.get(kind, {}):
                continue
            if name in BROKEN_INCLUDES:
                raise IncludeError(name)
            if not self.allowed(APP_INCLUDES[kind][name]):
                rel[name] = NULL_RESOURCE
                continue
            rel[name] = builders[name](sub)
        return rel or None

    def user(self, user: st.User, inc: dict | None = None) -> dict[str, Any]:
        body = item(
            "user",
            {
                "id": user.id,
                "external_id": user.external_id,
                "is_managed_externally": getattr(user, "is_managed_externally", False),
                "uuid": user.uuid,
                "username": user.username,
                "email": user.email,
                "language": user.language,
                "root_admin": user.root_admin,
                "2fa_enabled": user.use_totp,
                "2fa": user.use_totp,
                "created_at": atom(user.created_at),
                "updated_at": atom(user.updated_at),
            },
        )
        servers = sorted(
            (s for s in self.state.servers.values() if s.owner_id == user.id), key=lambda s: s.id
        )
        rel = self._relationships(
            "user",
            user,
            inc or {},
            {
                "servers": lambda sub: collection([self.server(s, sub) for s in servers]),
                "roles": lambda sub: collection(
                    [roles.render(r) for r in self.state.roles_of(user)]
                ),
            },
        )
        return self._attach(body, rel)

    def server(self, server: st.Server, inc: dict | None = None) -> dict[str, Any]:
        s = self.state
        body = item(
            "server",
            {
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
                    "oom_killer": not server.oom_disabled,
                },
                "feature_limits": {
                    "databases": server.database_limit,
                    "allocations": server.allocation_limit,
                    "backups": server.backup_limit,
                },
                "user": server.owner_id,
                "node": server.node_id,
                "allocation": server.allocation_id,
                "egg": server.egg_id,
                "container": {
                    "startup_command": server.startup,
                    "image": server.image,
                    "installed": 1 if pst.is_installed(server) else 0,
                    "environment": s.environment(server),
                },
                "updated_at": atom(server.updated_at),
                "created_at": atom(server.created_at),
            },
        )
        node = s.nodes.get(server.node_id)
        rel = self._relationships(
            "server",
            server,
            inc or {},
            {
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
                "egg": lambda sub: self.egg(s.eggs[server.egg_id], sub),
                "variables": lambda sub: collection(
                    [self.server_variable(server, v) for v in s.egg_vars(server.egg_id)]
                ),
                "node": lambda sub: self.node(node, sub) if node else NULL_RESOURCE,
                "databases": lambda sub: collection(
                    [
                        dict(self.database(d, sub), object="databases")
                        for d in sorted(s.databases.values(), key=lambda d: d.id)
                        if d.server_id == server.id
                    ]
                ),
            },
        )
        return self._attach(body, rel)

    def node(self, node: st.Node, inc: dict | None = None) -> dict[str, Any]:
        s = self.state
        servers = s.node_servers(node.id)
        body = item(
            "node",
            {
                "id": node.id,
                "uuid": node.uuid,
                "public": node.public,
                "name": node.name,
                "description": node.description,
                "fqdn": node.fqdn,
                "scheme": node.scheme,
                "behind_proxy": node.behind_proxy,
                "maintenance_mode": node.maintenance_mode,
                "memory": node.memory,
                "memory_overallocate": node.memory_overallocate,
                "disk": node.disk,
                "disk_overallocate": node.disk_overallocate,
                "cpu": getattr(node, "cpu", 0),
                "cpu_overallocate": getattr(node, "cpu_overallocate", 0),
                "upload_size": node.upload_size,
                "daemon_listen": node.daemon_listen,
                "daemon_sftp": node.daemon_sftp,
                "daemon_sftp_alias": getattr(node, "daemon_sftp_alias", None),
                "daemon_connect": getattr(node, "daemon_connect", node.daemon_listen),
                "daemon_base": node.daemon_base,
                "tags": list(getattr(node, "tags", [])),
                "created_at": atom(node.created_at),
                "updated_at": atom(node.updated_at),
                "allocated_resources": {
                    "memory": sum(x.memory for x in servers),
                    "disk": sum(x.disk for x in servers),
                    "cpu": sum(x.cpu for x in servers),
                },
            },
        )
        rel = self._relationships(
            "node",
            node,
            inc or {},
            {
                "allocations": lambda sub: collection(
                    [
                        self.allocation(a, sub)
                        for a in sorted(s.allocations.values(), key=lambda a: a.id)
                        if a.node_id == node.id
                    ]
                ),
                "servers": lambda sub: collection(
                    [self.server(x, sub) for x in sorted(servers, key=lambda x: x.id)]
                ),
            },
        )
        return self._attach(body, rel)

    def egg(self, egg: st.Egg, inc: dict | None = None) -> dict[str, Any]:
        s = self.state
        images = list(egg.docker_images.values())
        body = item(
            "egg",
            {
                "id": egg.id,
                "uuid": egg.uuid,
                "name": egg.name,
                "author": egg.author,
                "description": egg.description,
                "icon": getattr(egg, "icon", None),
                "features": egg.features,
                "tags": list(getattr(egg, "tags", [])),
                "docker_image": images[0] if images else "",
                "docker_images": egg.docker_images,
                "config": {
                    "files": egg.config_files or [],
                    "startup": egg.config_startup or [],
                    "stop": egg.config_stop,
                    "logs": egg.config_logs or [],
                    "file_denylist": egg.file_denylist,
                    "extends": None,
                },
                "startup": egg.startup,
                "startup_commands": {"Default": egg.startup},
                "script": {
                    "privileged": egg.script_privileged,
                    "install": egg.script_install,
                    "entry": egg.script_entry,
                    "container": egg.script_container,
                    "extends": None,
                },
                "created_at": atom(egg.created_at),
                "updated_at": atom(egg.updated_at),
            },
        )
        rel = self._relationships(
            "egg",
            egg,
            inc or {},
            {
                "servers": lambda sub: collection(
                    [
                        self.server(x, sub)
                        for x in sorted(s.servers.values(), key=lambda x: x.id)
                        if x.egg_id == egg.id
                    ]
                ),
                "variables": lambda sub: collection(
                    [self.egg_variable(v) for v in s.egg_vars(egg.id)]
                ),
            },
        )
        return self._attach(body, rel)

    @staticmethod
    def egg_variable_attributes(var: st.EggVariable) -> dict[str, Any]:
        attrs = AppRenderer.egg_variable_attributes(var)
        attrs["rules"] = rule_list(var.rules)
        attrs["sort"] = None
        return attrs


class PelicanClientRenderer(ClientRenderer):
    """Client-API objects: Pelican's server flags and integer database ids."""

    def server(self, server: st.Server, inc: dict | None = None) -> dict[str, Any]:
        body = super().server(server, inc)
        attrs = body["attributes"]
        node = self.state.nodes[server.node_id]
        attrs["sftp_details"]["alias"] = getattr(node, "daemon_sftp_alias", None)
        attrs["limits"]["oom_killer"] = not server.oom_disabled
        attrs["is_installing"] = not pst.is_installed(server)
        return body

    def database(self, db: st.Database, server: st.Server, with_password: bool) -> dict[str, Any]:
        host = self.state.database_hosts[db.database_host_id]
        body = item(
            "server_database",
            {
                "id": db.id,
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
                    if self.can(server, "database.view-password")
                    else NULL_RESOURCE
                )
            }
        return body

    @staticmethod
    def account(user: st.User) -> dict[str, Any]:
        """The account (and, with ``permissions``, a subuser): no id, no names."""
        return item(
            "user",
            {
                "uuid": user.uuid,
                "username": user.username,
                "email": user.email,
                "language": user.language,
                "image": gravatar(user.email),
                "admin": user.root_admin,
                "root_admin": user.root_admin,
                "2fa_enabled": user.use_totp,
                "created_at": atom(user.created_at),
                "updated_at": atom(user.updated_at),
            },
        )

    def subuser(self, sub: st.Subuser) -> dict[str, Any]:
        attrs = self.account(self.state.users[sub.user_id])["attributes"]
        return item("server_subuser", {**attrs, "permissions": list(sub.permissions)})

    @staticmethod
    def backup(backup: st.Backup) -> dict[str, Any]:
        attrs = dict(ClientRenderer.backup(backup)["attributes"])
        attrs["is_scheduled"] = False  # made by a schedule's backup task (none here)
        return item("backup", attrs)
