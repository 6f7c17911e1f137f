"""The simulated panel's data: locations, nodes, allocations, nests, eggs, users, servers...

Everything lives in memory behind one re-entrant lock (:attr:`State.lock`). Time-driven
behaviour (installs finishing, power transitions, backups completing) is applied lazily
by :meth:`State.tick`, which the HTTP layer calls before handling each request, so the
simulator needs no background threads.
"""

from __future__ import annotations

import hashlib
import secrets
import string
import threading
import time
import uuid as uuidlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

KEY_ALPHABET = string.ascii_letters + string.digits
APPLICATION_KEY = 2  # the panel's ApiKey::TYPE_APPLICATION
ACCOUNT_KEY = 1  # ApiKey::TYPE_ACCOUNT (client keys)
RESOURCES = (
    "servers",
    "nodes",
    "allocations",
    "users",
    "locations",
    "nests",
    "eggs",
    "database_hosts",
    "server_databases",
)
READ, WRITE = 1, 2
CONSOLE_KEEP = 500

PERMISSIONS: dict[str, dict[str, Any]] = {
    "websocket": {
        "description": "Allows the user to connect to the server websocket.",
        "keys": {
            "connect": "Allows a user to connect to the websocket instance "
            "for a server to stream the console."
        },
    },
    "control": {
        "description": "Permissions that control a user's ability to control the "
        "power state of a server, or send commands.",
        "keys": {
            "console": "Allows a user to send commands to the server instance via the console.",
            "start": "Allows a user to start the server if it is stopped.",
            "stop": "Allows a user to stop a server if it is running.",
            "restart": "Allows a user to perform a server restart.",
        },
    },
    "user": {
        "description": "Permissions that allow a user to manage other subusers on a server.",
        "keys": {
            "create": "Allows a user to create new subusers for the server.",
            "read": "Allows the user to view subusers and their permissions.",
            "update": "Allows a user to modify other subusers.",
            "delete": "Allows a user to delete a subuser from the server.",
        },
    },
    "file": {
        "description": "Permissions that control a user's ability to modify the "
        "filesystem for this server.",
        "keys": {
            "create": "Allows a user to create additional files and folders.",
            "read": "Allows a user to view the contents of a directory.",
            "read-content": "Allows a user to view the contents of a given file.",
            "update": "Allows a user to update the contents of an existing file.",
            "delete": "Allows a user to delete files or directories.",
            "archive": "Allows a user to archive directory contents.",
            "sftp": "Allows a user to connect to SFTP and manage server files.",
        },
    },
    "backup": {
        "description": "Permissions that control a user's ability to generate and "
        "manage server backups.",
        "keys": {
            "create": "Allows a user to create new backups for this server.",
            "read": "Allows a user to view all backups that exist for this server.",
            "delete": "Allows a user to remove backups from the system.",
            "download": "Allows a user to download a backup for the server.",
            "restore": "Allows a user to restore a backup for the server.",
        },
    },
    "allocation": {
        "description": "Permissions that control a user's ability to modify the "
        "port allocations for this server.",
        "keys": {
            "read": "Allows a user to view all allocations assigned to this server.",
            "create": "Allows a user to assign additional allocations to the server.",
            "update": "Allows a user to change the primary server allocation "
            "and attach notes to each allocation.",
            "delete": "Allows a user to delete an allocation from the server.",
        },
    },
    "startup": {
        "description": "Permissions that control a user's ability to view this "
        "server's startup parameters.",
        "keys": {
            "read": "Allows a user to view the startup variables for a server.",
            "update": "Allows a user to modify the startup variables for the server.",
            "docker-image": "Allows a user to modify the Docker image used when "
            "running the server.",
        },
    },
    "database": {
        "description": "Permissions that control a user's access to the database "
        "management for this server.",
        "keys": dict(
            [
                ("create", "Allows a user to create a new database for this server."),
                ("read", "Allows a user to view the database associated with this server."),
                ("update", "Allows a user to rotate the password on a database instance."),
                ("delete", "Allows a user to remove a database instance from this server."),
                (
                    "view_password",
                    "Allows a user to view the password associated with "
                    "a database instance for this server.",
                ),
            ]
        ),
    },
    "schedule": {
        "description": "Permissions that control a user's access to the schedule "
        "management for this server.",
        "keys": {
            "create": "Allows a user to create new schedules for this server.",
            "read": "Allows a user to view schedules and the tasks associated "
            "with them for this server.",
            "update": "Allows a user to update schedules and schedule tasks for this server.",
            "delete": "Allows a user to delete schedules for this server.",
        },
    },
    "settings": {
        "description": "Permissions that control a user's access to the settings for this server.",
        "keys": {
            "rename": "Allows a user to rename this server and change the description of it.",
            "reinstall": "Allows a user to trigger a reinstall of this server.",
        },
    },
    "activity": {
        "description": "Permissions that control a user's access to the server activity logs.",
        "keys": {"read": "Allows a user to view the activity logs for the server."},
    },
}
ALL_PERMISSIONS = {f"{group}.{key}" for group, spec in PERMISSIONS.items() for key in spec["keys"]}


def now() -> float:
    return time.time()


def atom(ts: float | None) -> str | None:
    """``2024-06-01T12:00:00+00:00`` (the panel's usual timestamp format)."""
    if ts is None:
        return None
    return datetime.fromtimestamp(int(ts), UTC).isoformat()


def micro(ts: float | None) -> str | None:
    """``2024-06-01T12:00:00.000000Z`` (Laravel's default, used by variable includes)."""
    if ts is None:
        return None
    return datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%dT%H:%M:%S.000000Z")


def random_string(length: int, alphabet: str = KEY_ALPHABET) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


@dataclass
class Location:
    id: int
    short: str
    long: str | None
    created_at: float = field(default_factory=now)
    updated_at: float = field(default_factory=now)


@dataclass
class Node:
    id: int
    name: str
    location_id: int
    fqdn: str
    memory: int
    disk: int
    scheme: str = "http"
    public: bool = True
    description: str | None = None
    behind_proxy: bool = False
    maintenance_mode: bool = False
    memory_overallocate: int = 0
    disk_overallocate: int = 0
    upload_size: int = 100
    daemon_listen: int = 8080
    daemon_sftp: int = 2022
    daemon_base: str = "/var/lib/pterodactyl/volumes"
    uuid: str = field(default_factory=lambda: str(uuidlib.uuid4()))
    daemon_token_id: str = field(default_factory=lambda: random_string(16))
    daemon_token: str = field(default_factory=lambda: random_string(64))
    created_at: float = field(default_factory=now)
    updated_at: float = field(default_factory=now)


@dataclass
class Allocation:
    id: int
    node_id: int
    ip: str
    port: int
    ip_alias: str | None = None
    server_id: int | None = None
    notes: str | None = None
    created_at: float = field(default_factory=now)
    updated_at: float = field(default_factory=now)


@dataclass
class Nest:
    id: int
    name: str
    description: str | None
    author: str = "support@pterodactyl.io"
    uuid: str = field(default_factory=lambda: str(uuidlib.uuid4()))
    created_at: float = field(default_factory=now)
    updated_at: float = field(default_factory=now)


@dataclass
class Egg:
    id: int
    nest_id: int
    name: str
    description: str | None
    docker_images: dict[str, str]
    startup: str
    features: list[str] | None = None
    author: str = "support@pterodactyl.io"
    config_files: dict = field(default_factory=dict)
    config_startup: dict = field(default_factory=lambda: {"done": ")! For help, type "})
    config_stop: str = "stop"
    config_logs: dict = field(default_factory=dict)
    file_denylist: list[str] = field(default_factory=list)
    script_install: str = "#!/bin/ash\n# Simulated install script\necho done\n"
    script_entry: str = "ash"
    script_container: str = "ghcr.io/pterodactyl/installers:alpine"
    script_privileged: bool = True
    uuid: str = field(default_factory=lambda: str(uuidlib.uuid4()))
    created_at: float = field(default_factory=now)
    updated_at: float = field(default_factory=now)


@dataclass
class EggVariable:
    id: int
    egg_id: int
    name: str
    description: str
    env_variable: str
    default_value: str
    user_viewable: bool
    user_editable: bool
    rules: str
    created_at: float = field(default_factory=now)
    updated_at: float = field(default_factory=now)


@dataclass
class User:
    id: int
    username: str
    email: str
    first_name: str
    last_name: str
    external_id: str | None = None
    password_digest: str = ""
    language: str = "en"
    root_admin: bool = False
    use_totp: bool = False
    uuid: str = field(default_factory=lambda: str(uuidlib.uuid4()))
    created_at: float = field(default_factory=now)
    updated_at: float = field(default_factory=now)

    def set_password(self, password: str) -> None:
        salt = secrets.token_hex(8)
        digest = hashlib.sha256((salt + password).encode()).hexdigest()
        self.password_digest = f"{salt}${digest}"

    def check_password(self, password: str) -> bool:
        salt, _, digest = self.password_digest.partition("$")
        return bool(salt) and secrets.compare_digest(
            hashlib.sha256((salt + password).encode()).hexdigest(), digest
        )


@dataclass
class FileEntry:
    content: bytes = b""
    is_dir: bool = False
    mode: int = 0o644
    created_at: float = field(default_factory=now)
    modified_at: float = field(default_factory=now)


@dataclass
class Server:
    id: int
    uuid: str
    name: str
    owner_id: int
    node_id: int
    allocation_id: int
    nest_id: int
    egg_id: int
    startup: str
    image: str
    memory: int
    swap: int
    disk: int
    io: int
    cpu: int
    threads: str | None = None
    oom_disabled: bool = True
    external_id: str | None = None
    description: str = ""
    status: str | None = "installing"
    skip_scripts: bool = False
    database_limit: int | None = 0
    allocation_limit: int | None = 0
    backup_limit: int | None = 0
    variables: dict[int, str] = field(default_factory=dict)  # egg variable id -> value
    installed_at: float | None = None
    created_at: float = field(default_factory=now)
    updated_at: float = field(default_factory=now)
    # --- what Wings would know ---
    transferring: bool = False
    start_on_completion: bool = False
    install_done_at: float | None = None  # an install runs until then
    install_is_reinstall: bool = False
    power_state: str = "offline"
    power_queue: list[tuple[float, str]] = field(default_factory=list)
    started_at: float | None = None
    restore_done_at: float | None = None
    console: list[str] = field(default_factory=list)
    console_base: int = 0  # absolute index of console[0]
    net_rx: int = 0
    net_tx: int = 0
    files: dict[str, FileEntry] = field(default_factory=dict)

    @property
    def identifier(self) -> str:
        return self.uuid[:8]

    @property
    def is_installed(self) -> bool:
        return self.status not in ("installing", "install_failed")

    def log(self, *lines: str) -> None:
        self.console.extend(lines)
        overflow = len(self.console) - CONSOLE_KEEP
        if overflow > 0:
            del self.console[:overflow]
            self.console_base += overflow


@dataclass
class Subuser:
    id: int
    user_id: int
    server_id: int
    permissions: list[str]
    created_at: float = field(default_factory=now)
    updated_at: float = field(default_factory=now)


@dataclass
class Backup:
    id: int
    server_id: int
    name: str
    ignored_files: list[str]
    is_locked: bool = False
    is_successful: bool = False
    checksum: str | None = None
    bytes: int = 0
    uuid: str = field(default_factory=lambda: str(uuidlib.uuid4()))
    done_at: float | None = None
    completed_at: float | None = None
    created_at: float = field(default_factory=now)
    updated_at: float = field(default_factory=now)


@dataclass
class DatabaseHost:
    id: int
    name: str
    host: str
    port: int
    username: str
    node_id: int | None
    max_databases: int | None = None
    created_at: float = field(default_factory=now)
    updated_at: float = field(default_factory=now)


@dataclass
class Database:
    id: int
    server_id: int
    database_host_id: int
    database: str
    username: str
    remote: str
    password: str
    max_connections: int | None = 0
    hashid: str = field(default_factory=lambda: random_string(8))
    created_at: float = field(default_factory=now)
    updated_at: float = field(default_factory=now)


@dataclass
class Task:
    id: int
    schedule_id: int
    sequence_id: int
    action: str
    payload: str
    time_offset: int = 0
    is_queued: bool = False
    continue_on_failure: bool = False
    created_at: float = field(default_factory=now)
    updated_at: float = field(default_factory=now)


@dataclass
class Schedule:
    id: int
    server_id: int
    name: str
    minute: str
    hour: str
    day_of_month: str
    month: str
    day_of_week: str
    is_active: bool = True
    is_processing: bool = False
    only_when_online: bool = False
    last_run_at: float | None = None
    next_run_at: float | None = None
    created_at: float = field(default_factory=now)
    updated_at: float = field(default_factory=now)


@dataclass
class ApiKey:
    id: int
    user_id: int
    key_type: int
    identifier: str
    token: str
    memo: str = ""
    allowed_ips: list[str] = field(default_factory=list)
    permissions: dict[str, int] = field(default_factory=dict)  # r_<resource> -> bits
    last_used_at: float | None = None
    created_at: float = field(default_factory=now)
    acl_prefix: str = "r_"  # Pterodactyl's r_servers columns; Pelican's map has bare names

    @property
    def key(self) -> str:
        return self.identifier + self.token

    def can(self, resource: str, bit: int) -> bool:
        return bool(self.permissions.get(f"{self.acl_prefix}{resource}", 0) & bit)


@dataclass
class Activity:
    id: int
    event: str
    actor_id: int | None
    server_id: int | None
    ip: str
    properties: dict[str, Any]
    is_api: bool
    batch: str | None = None
    description: str | None = None
    timestamp: float = field(default_factory=now)


@dataclass
class SshKey:
    id: int
    user_id: int
    name: str
    public_key: str
    fingerprint: str
    created_at: float = field(default_factory=now)


@dataclass
class Timings:
    """Seconds the simulated Wings takes for things; 0 makes them happen by the next request."""

    install_seconds: float = 1.0
    power_seconds: float = 1.0
    backup_seconds: float = 1.0


def new_key(prefix: str) -> tuple[str, str]:
    """A panel-format key: (16-char identifier starting with ``prefix``, 32-char secret)."""
    return prefix + random_string(16 - len(prefix)), random_string(32)


class State:
    """All simulated panel data plus what its Wings nodes would know."""

    key_prefixes = {APPLICATION_KEY: "ptla_", ACCOUNT_KEY: "ptlc_"}
    acl_prefix = "r_"
    acl_resources = RESOURCES

    def full_acl(self) -> dict[str, int]:
        """An application key's permissions with read and write on every resource."""
        return {f"{self.acl_prefix}{r}": READ | WRITE for r in self.acl_resources}

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.rng = secrets.SystemRandom()  # usage figures only
        self.timings = Timings()
        self.install_result = "success"
        self.no_allocations = False  # the "no free allocations" switch: every one looks taken
        self.counters: dict[str, int] = defaultdict(int)
        self.locations: dict[int, Location] = {}
        self.nodes: dict[int, Node] = {}
        self.allocations: dict[int, Allocation] = {}
        self.nests: dict[int, Nest] = {}
        self.eggs: dict[int, Egg] = {}
        self.egg_variables: dict[int, EggVariable] = {}
        self.users: dict[int, User] = {}
        self.servers: dict[int, Server] = {}
        self.subusers: dict[int, Subuser] = {}
        self.backups: dict[int, Backup] = {}
        self.database_hosts: dict[int, DatabaseHost] = {}
        self.databases: dict[int, Database] = {}
        self.schedules: dict[int, Schedule] = {}
        self.tasks: dict[int, Task] = {}
        self.api_keys: dict[str, ApiKey] = {}  # identifier -> key
        self.activity: dict[int, Activity] = {}
        self.ssh_keys: dict[int, SshKey] = {}
        self.backup_throttle: dict[int, list[float]] = defaultdict(list)

    def next_id(self, table: str) -> int:
        self.counters[table] += 1
        return self.counters[table]

    # --- look-ups ----------------------------------------------------------

    def egg_vars(self, egg_id: int) -> list[EggVariable]:
        return sorted(
            (v for v in self.egg_variables.values() if v.egg_id == egg_id), key=lambda v: v.id
        )

    def is_free(self, alloc: Allocation) -> bool:
        return alloc.server_id is None and not self.no_allocations

    def server_allocations(self, server: Server) -> list[Allocation]:
        return sorted(
            (a for a in self.allocations.values() if a.server_id == server.id), key=lambda a: a.id
        )

    def node_servers(self, node_id: int) -> list[Server]:
        return [s for s in self.servers.values() if s.node_id == node_id]

    def server_by_ref(self, ref: str) -> Server | None:
        """A client-API ``{server}``: the 8-char identifier or the full UUID."""
        for server in self.servers.values():
            if ref in (server.uuid, server.identifier):
                return server
        return None

    def subuser_of(self, server: Server, user: User) -> Subuser | None:
        for sub in self.subusers.values():
            if sub.server_id == server.id and sub.user_id == user.id:
                return sub
        return None

    def environment(self, server: Server) -> dict[str, Any]:
        """``container.environment``: stored values (even ``""``) win over defaults."""
        env: dict[str, Any] = {}
        for var in self.egg_vars(server.egg_id):
            env[var.env_variable] = server.variables.get(var.id, var.default_value)
        node = self.nodes.get(server.node_id)
        location = self.locations.get(node.location_id) if node else None
        env.update(
            {
                "STARTUP": server.startup,
                "P_SERVER_LOCATION": location.short if location else None,
                "P_SERVER_UUID": server.uuid,
                "P_SERVER_ALLOCATION_LIMIT": server.allocation_limit,
            }
        )
        return env

    def invocation(self, server: Server, client: bool = False, hide_all: bool = False) -> str:
        """The startup command with ``{{VAR}}`` replaced.

        For the client API (``client=True``) values of variables the user cannot view show as
        ``[hidden]``, and all of them do with ``hide_all`` (no ``startup.read``).
        """
        alloc = self.allocations.get(server.allocation_id)
        replace = {
            "SERVER_MEMORY": str(server.memory),
            "SERVER_IP": alloc.ip if alloc else "",
            "SERVER_PORT": str(alloc.port) if alloc else "",
        }
        for var in self.egg_vars(server.egg_id):
            value = server.variables.get(var.id, var.default_value)
            if client and (hide_all or not var.user_viewable):
                value = "[hidden]"
            replace[var.env_variable] = str(value)
        text = server.startup
        for key, value in replace.items():
            text = text.replace("{{" + key + "}}", value)
        return text

    # --- activity ----------------------------------------------------------

    def record(
        self,
        event: str,
        actor: User | None,
        server: Server | None = None,
        properties: dict[str, Any] | None = None,
        is_api: bool = True,
        ip: str = "127.0.0.1",
    ) -> None:
        entry_id = self.next_id("activity")
        self.activity[entry_id] = Activity(
            entry_id,
            event,
            actor.id if actor else None,
            server.id if server else None,
            ip,
            dict(properties or {}),
            is_api,
        )

    # --- what time does ------------------------------------------------------

    def start_install(self, server: Server, reinstall: bool = False) -> None:
        server.status = "installing"
        server.install_is_reinstall = reinstall
        server.install_done_at = now() + self.timings.install_seconds
        server.power_state = "offline"
        server.power_queue.clear()
        server.log("[Pterodactyl Daemon]: Installing server, this could take a few minutes...")

    def finish_install(self, server: Server, success: bool = True) -> None:
        server.install_done_at = None
        if server.status == "suspended":
            pass  # a suspended server stays suspended when its install ends
        elif success:
            server.status = None
        else:
            server.status = "reinstall_failed" if server.install_is_reinstall else "install_failed"
        if success:
            server.installed_at = now()
            if not server.files:
                seed_files(server)
            server.log("[Pterodactyl Daemon]: Installation process completed.")
            if server.start_on_completion and server.status is None:
                self.power(server, "start")
        else:
            server.log("[Pterodactyl Daemon]: Installation process failed.")
        server.updated_at = now()

    def power(self, server: Server, signal: str) -> None:
        """Apply a power signal the way Wings would (transitions take ``power_seconds``)."""
        t = now()
        step = self.timings.power_seconds
        state = server.power_state
        server.power_queue.clear()
        if signal == "kill":
            server.power_state = "offline"
            server.started_at = None
            server.log("[Pterodactyl Daemon]: Server marked as offline...")
            return
        if signal == "start":
            if state in ("running", "starting"):
                return
            self._set_power(server, "starting")
            server.power_queue.append((t + step, "running"))
            return
        if signal == "stop":
            if state == "offline":
                return
            self._set_power(server, "stopping")
            server.power_queue.append((t + step, "offline"))
            return
        if signal == "restart":
            if state != "offline":
                self._set_power(server, "stopping")
                server.power_queue.append((t + step, "offline"))
                server.power_queue.append((t + step, "starting"))
                server.power_queue.append((t + 2 * step, "running"))
            else:
                self._set_power(server, "starting")
                server.power_queue.append((t + step, "running"))

    def _set_power(self, server: Server, state: str) -> None:
        server.power_state = state
        egg = self.eggs.get(server.egg_id)
        if state == "starting":
            server.started_at = now()
            server.log(
                "[Pterodactyl Daemon]: Server marked as starting...",
                "[Pterodactyl Daemon]: Checking server disk space usage, "
                "this could take a few seconds...",
                "[Pterodactyl Daemon]: Updating process configuration files...",
                "[Pterodactyl Daemon]: Ensuring file permissions are set correctly, "
                "this could take a few seconds...",
                "container@pterodactyl~ " + self.invocation(server),
            )
        elif state == "running":
            done = (egg.config_startup.get("done") if egg else "") or "Server started"
            server.log(
                "[Server thread/INFO]: Starting simulated server on " + self._address(server),
                f'[Server thread/INFO]: Done (1.234s){done}"help"',
            )
        elif state == "stopping":
            server.log(
                "[Pterodactyl Daemon]: Server marked as stopping...",
                "[Server thread/INFO]: Stopping server",
            )
        elif state == "offline":
            server.started_at = None
            server.log("[Pterodactyl Daemon]: Server marked as offline...")

    def _address(self, server: Server) -> str:
        alloc = self.allocations.get(server.allocation_id)
        return f"{alloc.ip}:{alloc.port}" if alloc else "?"

    def tick(self) -> None:
        """Apply everything whose time has come (installs, power steps, backups, restores)."""
        t = now()
        for server in self.servers.values():
            if server.install_done_at is not None and t >= server.install_done_at:
                self.finish_install(server, self.install_result == "success")
            while server.power_queue and now() >= server.power_queue[0][0]:
                _, state = server.power_queue.pop(0)
                self._set_power(server, state)
            if server.restore_done_at is not None and t >= server.restore_done_at:
                server.restore_done_at = None
                if server.status == "restoring_backup":
                    server.status = None
                server.log("[Pterodactyl Daemon]: Completed server restoration from backup.")
            if server.power_state == "running":
                server.net_rx += self.rng.randint(2_000, 40_000)
                server.net_tx += self.rng.randint(4_000, 90_000)
        for backup in self.backups.values():
            if backup.done_at is not None and t >= backup.done_at:
                backup.done_at = None
                backup.is_successful = True
                backup.completed_at = t
                backup.bytes = self.rng.randint(20, 400) * 1024 * 1024
                backup.checksum = "sha1:" + secrets.token_hex(20)

    def usage(self, server: Server) -> dict[str, Any]:
        """Plausible, changing resource figures for ``/resources`` and websocket stats."""
        disk = sum(len(f.content) for f in server.files.values()) + 180 * 1024 * 1024
        running = server.power_state in ("running", "starting", "stopping")
        if not running:
            return {
                "memory_bytes": 0,
                "cpu_absolute": 0,
                "disk_bytes": disk,
                "network_rx_bytes": 0,
                "network_tx_bytes": 0,
                "uptime": 0,
            }
        limit = (server.memory or 4096) * 1024 * 1024
        cpu_cap = float(server.cpu or 100)
        memory = int(limit * self.rng.uniform(0.35, 0.8))
        cpu = round(cpu_cap * self.rng.uniform(0.05, 0.6), 3)
        uptime = int((now() - (server.started_at or now())) * 1000)
        return {
            "memory_bytes": memory,
            "cpu_absolute": cpu,
            "disk_bytes": disk,
            "network_rx_bytes": server.net_rx,
            "network_tx_bytes": server.net_tx,
            "uptime": uptime,
        }


def seed_files(server: Server) -> None:
    """What an install leaves in a fresh server's volume."""
    t = now()
    server.files = {
        "/logs": FileEntry(is_dir=True, mode=0o755, created_at=t, modified_at=t),
        "/plugins": FileEntry(is_dir=True, mode=0o755, created_at=t, modified_at=t),
        "/eula.txt": FileEntry(b"eula=true\n", created_at=t, modified_at=t),
        "/server.properties": FileEntry(
            b"motd=A Pterodactyl simulator server\nmax-players=20\nonline-mode=true\n",
            created_at=t,
            modified_at=t,
        ),
        "/logs/latest.log": FileEntry(
            b"[Server thread/INFO]: Simulated log\n", created_at=t, modified_at=t
        ),
    }


# --- seed data --------------------------------------------------------------------------------

MINECRAFT_IMAGES = {
    "Java 21": "ghcr.io/pterodactyl/yolks:java_21",
    "Java 17": "ghcr.io/pterodactyl/yolks:java_17",
    "Java 11": "ghcr.io/pterodactyl/yolks:java_11",
}
JAR_RULE = r"required|regex:/^([\w\d._-]+)(\.jar)$/"


def _var(
    state: State,
    egg: Egg,
    name: str,
    env: str,
    default: str,
    rules: str,
    viewable: bool = True,
    editable: bool = True,
    description: str = "",
) -> None:
    var_id = state.next_id("egg_variables")
    state.egg_variables[var_id] = EggVariable(
        var_id, egg.id, name, description or name + ".", env, default, viewable, editable, rules
    )


def _egg(state: State, nest: Nest, **kwargs: Any) -> Egg:
    egg_id = state.next_id("eggs")
    egg = Egg(egg_id, nest.id, **kwargs)
    state.eggs[egg_id] = egg
    return egg


def _allocations(state: State, node: Node, ip: str, ports: range, alias: str | None = None) -> None:
    for port in ports:
        alloc_id = state.next_id("allocations")
        state.allocations[alloc_id] = Allocation(alloc_id, node.id, ip, port, alias)


def seed(state: State, host: str, port: int) -> None:
    """Locations, nodes with allocations, nests/eggs with variables, a database host."""
    for short, long in (("sim-eu", "Simulated Europe"), ("sim-us", "Simulated US")):
        loc_id = state.next_id("locations")
        state.locations[loc_id] = Location(loc_id, short, long)
    node_specs = [
        # name, location, memory, disk, public, ip, ports
        (
            "sim-node-1",
            1,
            65536,
            1_024_000,
            True,
            "10.20.0.10",
            [range(25565, 25625), range(27015, 27035)],
        ),
        (
            "sim-node-2",
            2,
            32768,
            512_000,
            True,
            "10.20.1.10",
            [range(25565, 25605), range(27015, 27025)],
        ),
        ("sim-node-private", 1, 16384, 256_000, False, "10.20.2.10", [range(25565, 25575)]),
    ]
    for name, loc, memory, disk, public, ip, ranges in node_specs:
        node_id = state.next_id("nodes")
        node = Node(
            node_id,
            name,
            loc,
            host,
            memory,
            disk,
            public=public,
            daemon_listen=port,
            description=f"Simulated Wings node {name}",
        )
        state.nodes[node_id] = node
        for ports in ranges:
            _allocations(state, node, ip, ports)
    host_id = state.next_id("database_hosts")
    state.database_hosts[host_id] = DatabaseHost(
        host_id, "sim-mysql", "127.0.0.1", 3306, "pterodactyl", 1
    )

    minecraft = Nest(
        state.next_id("nests"),
        "Minecraft",
        "Minecraft - the classic game from Mojang. With support for Vanilla MC, "
        "Spigot, and many others!",
    )
    state.nests[minecraft.id] = minecraft
    paper = _egg(
        state,
        minecraft,
        name="Paper",
        description="High performance Spigot fork "
        "that aims to fix gameplay and mechanics inconsistencies.",
        docker_images=dict(MINECRAFT_IMAGES),
        features=["eula", "java_version", "pid_limit"],
        startup="java -Xms128M -XX:MaxRAMPercentage=95.0 -Dterminal.jline=false "
        "-Dterminal.ansi=true -jar {{SERVER_JARFILE}}",
    )
    _var(
        state,
        paper,
        "Minecraft Version",
        "MINECRAFT_VERSION",
        "latest",
        "nullable|string|max:20",
        description="The version of minecraft to download. Leave at latest to always get "
        "the latest version.",
    )
    _var(
        state,
        paper,
        "Server Jar File",
        "SERVER_JARFILE",
        "server.jar",
        JAR_RULE,
        description="The name of the server jarfile to run the server with.",
    )
    _var(
        state,
        paper,
        "Build Number",
        "BUILD_NUMBER",
        "latest",
        "required|string|max:20",
        editable=False,
        description="The build number for the paper release.",
    )
    _var(
        state,
        paper,
        "Download Path",
        "DL_PATH",
        "",
        "nullable|string",
        viewable=False,
        editable=False,
        description="A URL to use to download a server.jar rather than the ones in the "
        "install script. This is not user viewable.",
    )
    _var(
        state,
        paper,
        "Max Players",
        "MAX_PLAYERS",
        "20",
        "required|integer|between:1,100",
        description="How many players may be online at once.",
    )
    vanilla = _egg(
        state,
        minecraft,
        name="Vanilla Minecraft",
        description="Minecraft is a game about placing blocks and going on adventures.",
        docker_images=dict(MINECRAFT_IMAGES),
        features=["eula", "java_version", "pid_limit"],
        startup="java -Xms128M -XX:MaxRAMPercentage=95.0 -jar {{SERVER_JARFILE}}",
    )
    _var(
        state,
        vanilla,
        "Server Jar File",
        "SERVER_JARFILE",
        "server.jar",
        JAR_RULE,
        description="The name of the server jarfile to run the server with.",
    )
    _var(
        state,
        vanilla,
        "Server Version",
        "VANILLA_VERSION",
        "latest",
        "required|string|between:3,15",
        description='The version of Minecraft Vanilla to install. Use "latest" to install '
        'the latest version, or use "snapshot" to install the latest snapshot.',
    )

    source = Nest(
        state.next_id("nests"),
        "Source Engine",
        "Includes support for most Source Dedicated Server games.",
    )
    state.nests[source.id] = source
    gmod = _egg(
        state,
        source,
        name="Garrys Mod",
        description="Garrys Mod, is a sandbox physics game created by Facepunch Studios.",
        docker_images={"Source": "ghcr.io/pterodactyl/games:source"},
        features=["gsl_token", "steam_disk_space"],
        config_startup={"done": "gameserver Steam ID"},
        config_stop="quit",
        startup="./srcds_run -game garrysmod -console -port {{SERVER_PORT}} "
        "+map {{SRCDS_MAP}} +gamemode {{GAMEMODE}} -strictportbind -norestart "
        "+maxplayers {{MAX_PLAYERS}} -tickrate {{TICKRATE}}",
    )
    _var(
        state,
        gmod,
        "Default Map",
        "SRCDS_MAP",
        "gm_flatgrass",
        "required|string|alpha_dash",
        description="The default map for the server.",
    )
    _var(
        state,
        gmod,
        "Steam Account Token",
        "STEAM_ACC",
        "",
        "nullable|string|alpha_num|size:32",
        description="The Steam Account Token required for the server to be displayed publicly.",
    )
    _var(
        state,
        gmod,
        "Source AppID",
        "SRCDS_APPID",
        "4020",
        "required|string|in:4020",
        viewable=False,
        editable=False,
        description="Required for game to update on server restart. Do not modify this.",
    )
    _var(
        state,
        gmod,
        "Gamemode",
        "GAMEMODE",
        "sandbox",
        "required|string",
        description="The gamemode of your server.",
    )
    _var(
        state,
        gmod,
        "Max Players",
        "MAX_PLAYERS",
        "32",
        "required|integer|max:128",
        description="The maximum amount of players allowed on your game server.",
    )
    _var(
        state,
        gmod,
        "Tickrate",
        "TICKRATE",
        "22",
        "required|integer|between:10,100",
        description="The tickrate defines how fast the server will update each entity's location.",
    )


def seed_admin(
    state: State, application_key: str | None = None, client_key: str | None = None
) -> tuple[str, str]:
    """The root admin and its two keys; returns (application key, client key)."""
    admin_id = state.next_id("users")
    admin = User(admin_id, "admin", "admin@simulator.test", "Simulator", "Admin", root_admin=True)
    admin.set_password("password")
    state.users[admin_id] = admin
    app = add_key(
        state,
        admin,
        APPLICATION_KEY,
        key=application_key,
        memo="simulator",
        permissions=state.full_acl(),
    )
    client = add_key(state, admin, ACCOUNT_KEY, key=client_key, memo="simulator")
    return app.key, client.key


def add_key(
    state: State,
    user: User,
    key_type: int,
    *,
    key: str | None = None,
    memo: str = "",
    permissions: dict[str, int] | None = None,
    allowed_ips: list[str] | None = None,
) -> ApiKey:
    prefix = state.key_prefixes[key_type]
    if key:
        if len(key) != 48:
            raise ValueError("a panel API key is 48 characters long")
        identifier, token = key[:16], key[16:]
    else:
        identifier, token = new_key(prefix)
    api_key = ApiKey(
        state.next_id("api_keys"),
        user.id,
        key_type,
        identifier,
        token,
        memo,
        list(allowed_ips or []),
        dict(permissions or {}),
        acl_prefix=state.acl_prefix,
    )
    state.api_keys[identifier] = api_key
    return api_key
