"""The simulated Pelican panel's data: Pterodactyl's tables, with Pelican's differences.

Pelican is a fork of Pterodactyl, so the simulator keeps one data model
(:mod:`simulators.pterodactyl.state`) and changes what Pelican changed
(docs/reference/pelican_api.md §8 "Differences from Pterodactyl (v1.11.8) a client must
handle"): nodes carry ``tags`` and a CPU budget instead of a location, eggs stand alone
(no nests) with tags and named startup commands, users have no names but may be managed
externally, keys are ``papp_``/``pacc_`` with a per-resource map, and a failed reinstall
counts as not installed.

The seed is Pterodactyl's seed migrated the way Pelican migrates a Pterodactyl panel: each
node's location becomes a tag, each nest's name becomes a tag of its eggs.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from simulators.pterodactyl import state as st

# The application key ACL map's resource names (docs/reference/pelican_api.md §1.1
# "Two APIs, two kinds of key").
RESOURCES = (
    "server",
    "node",
    "allocation",
    "user",
    "egg",
    "database_host",
    "server_database",
    "mount",
    "role",
    "plugin",
)

# Pelican's subuser permission keys (docs/reference/pelican_api.md §4.4 "Permission keys"):
# Pterodactyl's, with ``view_password`` spelled with a hyphen and four new ones.
PERMISSIONS = sorted(
    {p.replace("view_password", "view-password") for p in st.ALL_PERMISSIONS}
    | {"settings.description", "settings.change-icon", "mount.read", "mount.update"}
)

NOT_INSTALLED = ("installing", "install_failed", "reinstall_failed")


@dataclass
class Node(st.Node):
    """A Pelican node: tags instead of a location, a CPU budget, a separate connect port."""

    tags: list[str] = field(default_factory=list)
    cpu: int = 0  # percent; 0 = unlimited
    cpu_overallocate: int = 0
    daemon_connect: int = 8080
    daemon_sftp_alias: str | None = None


@dataclass
class Egg(st.Egg):
    """A Pelican egg: no nest; tags, an icon, and named startup commands."""

    tags: list[str] = field(default_factory=list)
    icon: str | None = None

    @property
    def startup_commands(self) -> dict[str, str]:
        return {"Default": self.startup}


@dataclass
class User(st.User):
    """A Pelican user: no first or last name; may be managed by a third party."""

    is_managed_externally: bool = False
    timezone: str = "UTC"


@dataclass
class Role:
    """An admin role. Permissions are edited in the panel's admin UI only, so roles made
    through the API grant none; a user's ``root_admin`` flag is holding ``Root Admin``."""

    id: int
    name: str
    created_at: float = field(default_factory=st.now)
    updated_at: float = field(default_factory=st.now)


ROOT_ADMIN = "Root Admin"


class State(st.State):
    """Pterodactyl's state with Pelican's key prefixes, ACL map, roles and environment."""

    key_prefixes = {st.APPLICATION_KEY: "papp_", st.ACCOUNT_KEY: "pacc_"}
    acl_prefix = ""
    acl_resources = RESOURCES

    def __init__(self) -> None:
        super().__init__()
        root = Role(self.next_id("roles"), ROOT_ADMIN)
        self.roles: dict[int, Role] = {root.id: root}
        self.user_roles: dict[int, set[int]] = {}  # user id -> ids of roles besides Root Admin

    @property
    def root_role(self) -> Role:
        return next(r for r in self.roles.values() if r.name == ROOT_ADMIN)

    def roles_of(self, user: st.User) -> list[Role]:
        ids = set(self.user_roles.get(user.id, ()))
        if user.root_admin:
            ids.add(self.root_role.id)
        return [self.roles[i] for i in sorted(ids) if i in self.roles]

    def environment(self, server: st.Server) -> dict[str, Any]:
        """``container.environment``: the egg's variables plus ``STARTUP`` and
        ``P_SERVER_UUID`` only (no location, no allocation limit)."""
        env: dict[str, Any] = {}
        for var in self.egg_vars(server.egg_id):
            env[var.env_variable] = server.variables.get(var.id, var.default_value)
        env.update({"STARTUP": server.startup, "P_SERVER_UUID": server.uuid})
        return env


def is_installed(server: st.Server) -> bool:
    """Pelican counts ``reinstall_failed`` as not installed (Pterodactyl did not)."""
    return server.status not in NOT_INSTALLED


def new_user(user_id: int, username: str, email: str, **fields: Any) -> User:
    return User(user_id, username, email, "", "", **fields)


def migrate(state: State, port: int) -> None:
    """Turn Pterodactyl seed data into what a Pelican panel holds after migrating it."""
    for node_id, node in list(state.nodes.items()):
        location = state.locations.get(node.location_id)
        values = {f.name: getattr(node, f.name) for f in dataclasses.fields(st.Node)}
        values["daemon_base"] = "/var/lib/pelican/volumes"
        state.nodes[node_id] = Node(
            **values, tags=[location.short] if location else [], daemon_connect=port
        )
    for egg_id, egg in list(state.eggs.items()):
        nest = state.nests.get(egg.nest_id)
        values = {f.name: getattr(egg, f.name) for f in dataclasses.fields(st.Egg)}
        values["nest_id"] = 0
        values["author"] = "panel@example.com"
        values["script_container"] = "ghcr.io/pelican-eggs/installers:debian"
        tag = nest.name.lower().replace(" ", "-") if nest else ""
        state.eggs[egg_id] = Egg(**values, tags=[tag] if tag else [])
    state.locations.clear()
    state.nests.clear()


def migrate_users(state: State) -> None:
    """Users made by the shared helpers (the seeded admin) become Pelican users."""
    for user_id, user in list(state.users.items()):
        if not isinstance(user, User):
            values = {f.name: getattr(user, f.name) for f in dataclasses.fields(st.User)}
            values["first_name"] = values["last_name"] = ""
            state.users[user_id] = User(**values)


def seed(state: State, host: str, port: int) -> None:
    st.seed(state, host, port)
    migrate(state, port)
