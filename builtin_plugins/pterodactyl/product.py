"""A product's Pterodactyl settings: the schema the store's product form shows, and parsing.

Egg variables are one text setting, a line per variable::

    SERVER_JARFILE=server.jar
    MINECRAFT_VERSION=latest | visible, editable
    MAX_PLAYERS | slots

``NAME=value`` fixes the value (``NAME`` alone keeps the egg's default); the flags after
``|`` are ``visible`` (customers see it on the startup tab), ``editable`` (customers choose
it at checkout and may change it later; implies visible) and ``slots`` (the slot count of
a per-slot plan is written into it). Variables not listed get the egg's default and stay
hidden.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from builtin_plugins.pterodactyl import rules
from builtin_plugins.pterodactyl.panel import parse_ids
from kernel import SettingSpec

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
FLAGS = {"visible": "visible", "editable": "editable", "slots": "slots", "slot": "slots"}
DOCKER_IMAGE = re.compile(r"^~?[\w./\-:@ ]*$")
THREADS = re.compile(r"^[0-9-,]+$")
PORT_RANGE = re.compile(r"^(\d{4,5})(?:-(\d{4,5}))?$")
ADDRESS = re.compile(r"^[A-Za-z0-9.:_-]*$")  # an IPv4/IPv6 address or a host name alias
RESERVED_ENV = frozenset(
    {
        "SERVER_MEMORY",
        "SERVER_IP",
        "SERVER_PORT",
        "ENV",
        "HOME",
        "USER",
        "STARTUP",
        "SERVER_UUID",
        "UUID",
    }
)


def _spec(
    key: str,
    type: str,
    label: str,
    default: Any = None,
    description: str = "",
    required: bool = False,
) -> SettingSpec:
    return SettingSpec(
        key=key, type=type, label=label, default=default, description=description, required=required
    )


SCHEMA: tuple[SettingSpec, ...] = (
    _spec("nest_id", "int", "Nest id", None, "The panel nest holding the egg.", True),
    _spec("egg_id", "int", "Egg id", None, "The egg new servers are created with.", True),
    _spec(
        "extra_egg_ids",
        "string",
        "Other eggs customers may choose",
        "",
        "Comma-separated egg ids of the same nest offered at checkout; empty: only the egg above.",
    ),
    _spec("docker_image", "string", "Docker image", "", "Empty: the egg's default image."),
    _spec("startup", "text", "Startup command", "", "Empty: the egg's startup command."),
    _spec(
        "variables",
        "text",
        "Egg variables",
        "",
        "One a line: NAME=value | visible, editable, slots. Unlisted variables get the egg's "
        "default and stay hidden from customers.",
    ),
    _spec("memory", "int", "Memory (MiB)", 1024, "0 = unlimited", True),
    _spec("swap", "int", "Swap (MiB)", 0, "-1 = unlimited, 0 = none"),
    _spec("disk", "int", "Disk (MiB)", 5120, "0 = unlimited", True),
    _spec("io", "int", "Block IO weight", 500, "10 to 1000"),
    _spec("cpu", "int", "CPU limit (%)", 100, "100 = one thread, 0 = unlimited"),
    _spec("threads", "string", "CPU pinning", "", "e.g. 0-1,4; empty: any thread"),
    _spec("oom_disabled", "bool", "Disable the OOM killer", True),
    _spec("databases", "int", "Databases", 0, "How many databases the customer may create"),
    _spec("allocations", "int", "Allocations", 1, "Ports in all, the primary one included"),
    _spec("backups", "int", "Backups", 0, "How many backups the customer may keep"),
    _spec(
        "location_ids",
        "string",
        "Locations",
        "",
        "Comma-separated location ids; empty: the plugin's default location",
    ),
    _spec(
        "choose_location",
        "bool",
        "Customers choose the location",
        False,
        "Offer the locations above at checkout",
    ),
    _spec(
        "node_ids",
        "string",
        "Nodes",
        "",
        "Comma-separated node ids; when set, servers go on the least-loaded of these",
    ),
    _spec("port_range", "string", "Port range", "", "e.g. 25565-25665, 27015; empty: any port"),
    _spec("dedicated_ip", "bool", "Dedicated IP", False, "Use an IP no other server uses"),
    _spec(
        "allocation_ip",
        "string",
        "Pin to IP or alias",
        "",
        "Only allocations with this IP address or alias; empty: any (public addresses first, "
        "loopback and link-local ones last). Not possible with the panel_deploy node policy.",
    ),
    _spec(
        "panel_description",
        "string",
        "Panel description",
        "",
        "The panel server's description, kept in step on rename; {name} and {id} are the "
        'server\'s name and number. Empty: "pteroca service #{id}" at creation, then left '
        "alone.",
    ),
    _spec("start_on_completion", "bool", "Start when installed", True),
    _spec("skip_scripts", "bool", "Skip the egg's install script", False),
)


class ConfigError(ValueError):
    """The product's settings do not make a valid Pterodactyl server; the message says why."""


@dataclass(frozen=True)
class VariableConfig:
    env: str
    value: str | None = None  # None: the egg's default
    visible: bool = False
    editable: bool = False
    slots: bool = False


@dataclass(frozen=True)
class ProductConfig:
    nest_id: int
    egg_id: int
    extra_egg_ids: tuple[int, ...] = ()
    docker_image: str = ""
    startup: str = ""
    variables: dict[str, VariableConfig] = field(default_factory=dict)
    memory: int = 1024
    swap: int = 0
    disk: int = 5120
    io: int = 500
    cpu: int = 100
    threads: str = ""
    oom_disabled: bool = True
    databases: int = 0
    allocations: int = 1
    backups: int = 0
    location_ids: tuple[int, ...] = ()
    choose_location: bool = False
    node_ids: tuple[int, ...] = ()
    port_range: tuple[str, ...] = ()
    dedicated_ip: bool = False
    allocation_ip: str = ""
    panel_description: str = ""
    start_on_completion: bool = True
    skip_scripts: bool = False

    @property
    def egg_ids(self) -> tuple[int, ...]:
        return (self.egg_id,) + tuple(e for e in self.extra_egg_ids if e != self.egg_id)

    def limits(self) -> dict[str, Any]:
        return {
            "memory": self.memory,
            "swap": self.swap,
            "disk": self.disk,
            "io": self.io,
            "cpu": self.cpu,
            "threads": self.threads or None,
        }

    def feature_limits(self) -> dict[str, int]:
        return {
            "databases": self.databases,
            "allocations": self.allocations,
            "backups": self.backups,
        }

    def visible_variables(self) -> list[str]:
        return [v.env for v in self.variables.values() if v.visible or v.editable]

    def editable_variables(self) -> list[str]:
        return [v.env for v in self.variables.values() if v.editable]

    def slot_variables(self) -> list[str]:
        return [v.env for v in self.variables.values() if v.slots]

    def description_for(self, service) -> str | None:
        """The panel description a server should have; None: whatever it has."""
        if not self.panel_description:
            return None
        return (
            self.panel_description.replace("{name}", service.name).replace("{id}", str(service.id))
        )[:1000]


def parse_variables(text: str) -> dict[str, VariableConfig]:
    """The variables setting -> ``{ENV: VariableConfig}``; raises ConfigError naming the line."""
    out: dict[str, VariableConfig] = {}
    for number, raw in enumerate((text or "").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        body, flags = line, set()
        head, sep, tail = line.rpartition("|")
        words = [w.strip().lower() for w in tail.split(",") if w.strip()]
        if sep and words and all(w in FLAGS for w in words):
            body, flags = head.strip(), {FLAGS[w] for w in words}
        name, eq, value = body.partition("=")
        name = name.strip()
        if not ENV_NAME.match(name):
            raise ConfigError(
                f"egg variables, line {number}: {name!r} is not a variable name "
                "(write NAME=value | flags)"
            )
        if name.upper() in RESERVED_ENV:
            raise ConfigError(f"egg variables, line {number}: {name} is set by the panel itself")
        if name in out:
            raise ConfigError(f"egg variables, line {number}: {name} is listed twice")
        out[name] = VariableConfig(
            env=name,
            value=value.strip() if eq else None,
            visible="visible" in flags or "editable" in flags,
            editable="editable" in flags,
            slots="slots" in flags,
        )
    return out


def _int(
    values: dict[str, Any],
    key: str,
    default: int,
    low: int | None = None,
    high: int | None = None,
    label: str = "",
) -> int:
    raw = values.get(key)
    if raw in (None, ""):
        return default
    try:
        number = int(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"{label or key} must be a whole number") from None
    if low is not None and number < low:
        raise ConfigError(f"{label or key} must be at least {low}")
    if high is not None and number > high:
        raise ConfigError(f"{label or key} must be at most {high}")
    return number


def _ids(values: dict[str, Any], key: str, label: str) -> tuple[int, ...]:
    try:
        return parse_ids(values.get(key), label)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def parse_ports(text: str) -> tuple[str, ...]:
    ports = []
    for part in (text or "").replace(";", ",").split(","):
        part = part.strip().replace(" ", "")
        if not part:
            continue
        match = PORT_RANGE.match(part)
        low = int(match.group(1)) if match else 0
        high = int(match.group(2) or low) if match else 0
        if not match or not 1024 < low <= high <= 65535:
            raise ConfigError(
                f"port range: {part!r} is not a port (1025-65535) or a range like 25565-25600"
            )
        if high - low >= 1000:
            raise ConfigError(f"port range: {part} holds more than 1000 ports")
        ports.append(part)
    return tuple(ports)


def port_allowed(port: int, ranges: tuple[str, ...]) -> bool:
    if not ranges:
        return True
    for item in ranges:
        low, _, high = item.partition("-")
        if int(low) <= port <= int(high or low):
            return True
    return False


def parse(values: dict[str, Any] | None) -> ProductConfig:
    """Typed settings of a product; raises ConfigError with the first problem."""
    values = values or {}
    nest_id = _int(values, "nest_id", 0, 1, label="Nest id")
    egg_id = _int(values, "egg_id", 0, 1, label="Egg id")
    if not nest_id or not egg_id:
        raise ConfigError("choose the nest and egg (their ids in the panel)")
    image = str(values.get("docker_image") or "").strip()
    if len(image) > 191 or not DOCKER_IMAGE.match(image):
        raise ConfigError(f"docker image {image!r} is not an image name")
    threads = str(values.get("threads") or "").strip()
    if threads and not THREADS.match(threads):
        raise ConfigError("CPU pinning holds thread numbers and ranges only, e.g. 0-1,4")
    pinned = str(values.get("allocation_ip") or "").strip()
    if len(pinned) > 191 or not ADDRESS.match(pinned):
        raise ConfigError(f"pin to IP or alias: {pinned!r} is not an IP address or host name")
    description = str(values.get("panel_description") or "").strip()
    if len(description) > 500:
        raise ConfigError("the panel description may be at most 500 characters long")
    return ProductConfig(
        nest_id=nest_id,
        egg_id=egg_id,
        extra_egg_ids=_ids(values, "extra_egg_ids", "Other eggs"),
        docker_image=image,
        startup=str(values.get("startup") or "").strip(),
        variables=parse_variables(str(values.get("variables") or "")),
        memory=_int(values, "memory", 1024, 0, label="Memory"),
        swap=_int(values, "swap", 0, -1, label="Swap"),
        disk=_int(values, "disk", 5120, 0, label="Disk"),
        io=_int(values, "io", 500, 10, 1000, label="Block IO weight"),
        cpu=_int(values, "cpu", 100, 0, label="CPU limit"),
        threads=threads,
        oom_disabled=bool(values.get("oom_disabled", True)),
        databases=_int(values, "databases", 0, 0, label="Databases"),
        allocations=_int(values, "allocations", 1, 0, label="Allocations"),
        backups=_int(values, "backups", 0, 0, label="Backups"),
        location_ids=_ids(values, "location_ids", "Locations"),
        choose_location=bool(values.get("choose_location", False)),
        node_ids=_ids(values, "node_ids", "Nodes"),
        port_range=parse_ports(str(values.get("port_range") or "")),
        dedicated_ip=bool(values.get("dedicated_ip", False)),
        allocation_ip=pinned,
        panel_description=description,
        start_on_completion=bool(values.get("start_on_completion", True)),
        skip_scripts=bool(values.get("skip_scripts", False)),
    )


def config_of(product) -> ProductConfig:
    return parse(product.provisioner_settings or {})


def slot_variables(config: ProductConfig, plan) -> list[str]:
    """Variables receiving the slot count: flagged ones, plus the plan's own slot variable."""
    if plan is None or plan.kind != "slot":
        return []
    names = config.slot_variables()
    if plan.slot_variable and plan.slot_variable not in names:
        names.append(plan.slot_variable)
    return names


def environment(
    config: ProductConfig,
    egg_variables: list[dict[str, Any]],
    *,
    options: dict[str, Any] | None = None,
    slots: int = 1,
    slot_names: list[str] | None = None,
    kept: dict[str, str] | None = None,
) -> dict[str, str]:
    """Every variable of the egg with its value: the product's, else the egg default; a
    customer-editable one takes the customer's choice (``options["var_<NAME>"]``, or the
    server's current value in ``kept``); slot variables get the slot count."""
    options = options or {}
    kept = kept or {}
    env: dict[str, str] = {}
    for variable in egg_variables:
        name = str(variable.get("env_variable"))
        conf = config.variables.get(name)
        value = (
            conf.value
            if conf is not None and conf.value is not None
            else str(variable.get("default_value") or "")
        )
        if conf is not None and conf.editable:
            if name in kept:
                value = kept[name]
            chosen = options.get(f"var_{name}")
            if chosen not in (None, ""):
                value = str(chosen)
        if name in (slot_names or []):
            value = str(int(slots))
        env[name] = value
    return env


def environment_problems(env: dict[str, str], egg_variables: list[dict[str, Any]]) -> list[str]:
    """What the egg's rules say about ``env`` (empty when every value passes)."""
    problems = []
    for variable in egg_variables:
        name = str(variable.get("env_variable"))
        problem = rules.check(
            env.get(name, ""), str(variable.get("rules") or ""), str(variable.get("name") or name)
        )
        if problem:
            problems.append(problem)
    return problems


def docker_image(config: ProductConfig, egg: dict[str, Any]) -> str:
    """The product's image, else the egg's default (the first of its ``docker_images``)."""
    if config.docker_image:
        return config.docker_image
    if egg.get("docker_image"):
        return str(egg["docker_image"])
    images = egg.get("docker_images")
    if isinstance(images, dict):
        return str(next(iter(images.values()), ""))
    if isinstance(images, list) and images:
        return str(images[0])
    return ""


def suggested_variables(variables: list[dict[str, Any]]) -> str:
    """A starting ``variables`` setting for an egg: each variable at its default, visible or
    editable for customers as the egg itself allows."""
    lines = []
    for variable in variables:
        flags = (
            "visible, editable"
            if variable.get("user_editable")
            else "visible"
            if variable.get("user_viewable")
            else ""
        )
        line = f"{variable.get('env_variable')}={variable.get('default_value') or ''}"
        lines.append(f"{line} | {flags}" if flags else line)
    return "\n".join(lines)
