"""Objects as Pelican's transformers render them (docs/reference/pelican_api.md §5
"Object attributes"): Pterodactyl's envelope and includes, Pelican's attributes.

Only what differs is written here; allocations, databases, subusers, backups, schedules and
files render as Pterodactyl renders them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from simulators.pelican import roles
from simulators.pelican import state as pst
from simulators.pterodactyl import state as st
from simulators.pterodactyl.state import atom
from simulators.pterodactyl.transformers import (
    AppRenderer,
    ClientRenderer,
    collection,
    gravatar,
    item,
    reshape,
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
BROKEN_INCLUDES = frozenset({"transfer", "config", "script"})


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
    """Application-API objects with Pelican's attributes and include names: only where
    they differ from Pterodactyl's (the includes' contents are Pterodactyl's)."""

    INCLUDES = APP_INCLUDES
    BROKEN_INCLUDES = BROKEN_INCLUDES

    @staticmethod
    def user_attributes(user: st.User) -> dict[str, Any]:
        return reshape(
            AppRenderer.user_attributes(user),
            drop=("first_name", "last_name"),
            after={
                "external_id": {
                    "is_managed_externally": getattr(user, "is_managed_externally", False)
                },
                "root_admin": {"2fa_enabled": user.use_totp},
            },
        )

    def user_includes(self, user: st.User) -> dict[str, Callable[[dict], dict]]:
        return {
            **super().user_includes(user),
            "roles": lambda sub: collection([roles.render(r) for r in self.state.roles_of(user)]),
        }

    def server_attributes(self, server: st.Server) -> dict[str, Any]:
        attrs = reshape(super().server_attributes(server), drop=("nest",))
        attrs["limits"]["oom_killer"] = not server.oom_disabled
        attrs["container"]["installed"] = 1 if pst.is_installed(server) else 0
        return attrs

    @staticmethod
    def node_attributes(node: st.Node, servers: list[st.Server]) -> dict[str, Any]:
        attrs = reshape(
            AppRenderer.node_attributes(node, servers),
            drop=("location_id",),
            after={
                "disk_overallocate": {
                    "cpu": getattr(node, "cpu", 0),
                    "cpu_overallocate": getattr(node, "cpu_overallocate", 0),
                },
                "daemon_sftp": {
                    "daemon_sftp_alias": getattr(node, "daemon_sftp_alias", None),
                    "daemon_connect": getattr(node, "daemon_connect", node.daemon_listen),
                },
                "daemon_base": {"tags": list(getattr(node, "tags", []))},
            },
        )
        attrs["allocated_resources"]["cpu"] = sum(x.cpu for x in servers)
        return attrs

    @staticmethod
    def egg_attributes(egg: st.Egg) -> dict[str, Any]:
        images = list(egg.docker_images.values())
        return {
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
        }

    @staticmethod
    def egg_variable_attributes(var: st.EggVariable) -> dict[str, Any]:
        attrs = AppRenderer.egg_variable_attributes(var)
        attrs["rules"] = rule_list(var.rules)
        attrs["sort"] = None
        return attrs


class PelicanClientRenderer(ClientRenderer):
    """Client-API objects: Pelican's server flags and integer database ids."""

    DATABASE_ID = "id"
    VIEW_PASSWORD = "database.view-password"

    def server(self, server: st.Server, inc: dict | None = None) -> dict[str, Any]:
        body = super().server(server, inc)
        attrs = body["attributes"]
        node = self.state.nodes[server.node_id]
        attrs["sftp_details"]["alias"] = getattr(node, "daemon_sftp_alias", None)
        attrs["limits"]["oom_killer"] = not server.oom_disabled
        attrs["is_installing"] = not pst.is_installed(server)
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
