"""What a product's panel settings share on Pterodactyl and Pelican: egg variables, limits, ports.

Egg variables are one text setting, a line per variable::

    SERVER_JARFILE=server.jar
    MINECRAFT_VERSION=latest | visible, editable
    MAX_PLAYERS | slots

``NAME=value`` fixes the value (``NAME`` alone keeps the egg's default); the flags after
``|`` are ``visible`` (customers see it on the startup tab), ``editable`` (customers choose
it at checkout and may change it later; implies visible) and ``slots`` (the slot count of
a per-slot plan is written into it). Variables not listed get the egg's default and stay
hidden.

Each panel plugin keeps its own ``ProductConfig`` (Pterodactyl's names a nest and locations,
Pelican's node tags) and parses its own fields; the rules both panels apply the same way
live here, so a product form answers the same on both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from builtin_plugins.panel_kit import rules
from builtin_plugins.panel_kit.product_schema import (  # noqa: F401 - part of this module's names
    EGG_SPECS,
    FEATURE_SPECS,
    PLACEMENT_SPECS,
    build_specs,
    spec,
)

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


class ConfigError(ValueError):
    """The product's settings do not make a valid panel server; the message says why."""


@dataclass(frozen=True)
class VariableConfig:
    env: str
    value: str | None = None  # None: the egg's default
    visible: bool = False
    editable: bool = False
    slots: bool = False


def parse_variables(
    text: str, reserved: frozenset[str] = RESERVED_ENV
) -> dict[str, VariableConfig]:
    """The variables setting -> ``{ENV: VariableConfig}``; raises ConfigError naming the line.
    ``reserved``: names the panel sets itself (Pelican reserves more than Pterodactyl)."""
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
        if name.upper() in reserved:
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


def int_setting(
    values: dict[str, Any],
    key: str,
    default: int,
    low: int | None = None,
    high: int | None = None,
    label: str = "",
) -> int:
    """A whole-number setting within bounds; ConfigError naming ``label`` otherwise."""
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


def common_text(values: dict[str, Any]) -> dict[str, str]:
    """The free-text settings both panels check alike: image, CPU pinning, pinned IP, the
    panel description (ConfigError for the first that is malformed)."""
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
    return {
        "docker_image": image,
        "threads": threads,
        "allocation_ip": pinned,
        "panel_description": description,
    }


class PanelProduct:
    """What either plugin's ProductConfig (a frozen dataclass with the fields of
    :func:`common_fields`, ``egg_id`` and ``extra_egg_ids``) answers alike."""

    egg_id: int
    extra_egg_ids: tuple[int, ...]
    variables: dict[str, VariableConfig]
    memory: int
    swap: int
    disk: int
    io: int
    cpu: int
    threads: str
    databases: int
    allocations: int
    backups: int
    panel_description: str

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


def common_fields(
    values: dict[str, Any], *, io_low: int, reserved: frozenset[str] = RESERVED_ENV
) -> dict[str, Any]:
    """The settings both panels parse alike, as ProductConfig keyword arguments; ConfigError
    with the first problem."""
    _int = int_setting
    return {
        **common_text(values),
        "startup": str(values.get("startup") or "").strip(),
        "variables": parse_variables(str(values.get("variables") or ""), reserved),
        "memory": _int(values, "memory", 1024, 0, label="Memory"),
        "swap": _int(values, "swap", 0, -1, label="Swap"),
        "disk": _int(values, "disk", 5120, 0, label="Disk"),
        "io": _int(values, "io", 500, io_low, 1000, label="Block IO weight"),
        "cpu": _int(values, "cpu", 100, 0, label="CPU limit"),
        "databases": _int(values, "databases", 0, 0, label="Databases"),
        "allocations": _int(values, "allocations", 1, 0, label="Allocations"),
        "backups": _int(values, "backups", 0, 0, label="Backups"),
        "port_range": parse_ports(str(values.get("port_range") or "")),
        "dedicated_ip": bool(values.get("dedicated_ip", False)),
        "start_on_completion": bool(values.get("start_on_completion", True)),
        "skip_scripts": bool(values.get("skip_scripts", False)),
    }


def slot_variables(config: Any, plan) -> list[str]:
    """Variables receiving the slot count: flagged ones, plus the plan's own slot variable."""
    if plan is None or plan.kind != "slot":
        return []
    names = config.slot_variables()
    if plan.slot_variable and plan.slot_variable not in names:
        names.append(plan.slot_variable)
    return names


def environment(
    config: Any,
    egg_variables: list[dict[str, Any]],
    *,
    options: dict[str, Any] | None = None,
    slots: int = 1,
    slot_names: list[str] | None = None,
    kept: dict[str, str] | None = None,
) -> dict[str, str]:
    """Every variable of the egg with its value: the product's, else the egg default; a
    customer-editable one takes the customer's choice (``options["var_<NAME>"]``, or the
    server's current value in ``kept``); slot variables get the slot count. ``config`` is
    either plugin's ProductConfig (its ``variables``)."""
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


def variable_problem(variable: dict[str, Any], value: Any) -> str | None:
    """What the egg variable's rules (a string or Pelican's array) say about ``value``."""
    name = str(variable.get("env_variable"))
    return rules.check(value, variable.get("rules") or "", str(variable.get("name") or name))


def environment_problems(env: dict[str, str], egg_variables: list[dict[str, Any]]) -> list[str]:
    """What the egg's rules say about ``env`` (empty when every value passes)."""
    problems = []
    for variable in egg_variables:
        problem = variable_problem(variable, env.get(str(variable.get("env_variable")), ""))
        if problem:
            problems.append(problem)
    return problems


def settings_variable_problems(
    config: Any, eggs: dict[int, dict[str, Any]], variables_of
) -> list[str]:
    """The product's variables setting against the real eggs: names the eggs lack, fixed
    values the egg's rules refuse. ``variables_of(egg)`` lists an egg's variables."""
    problems: list[str] = []
    known = {str(v.get("env_variable")): v for egg in eggs.values() for v in variables_of(egg)}
    for name, conf in config.variables.items():
        variable = known.get(name)
        if variable is None:
            if eggs:
                problems.append(f"egg variables: {name} is not a variable of the chosen egg")
            continue
        if conf.value is not None and not conf.slots:
            problem = variable_problem(variable, conf.value)
            if problem:
                problems.append(f"egg variables: {problem}")
    return problems


def docker_image(config: Any, egg: dict[str, Any]) -> str:
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


def plan_like(new_product, plan):
    """The new product's plan with the same billing as the service's (as the store picks it)."""
    if plan is None:
        return None
    return next(
        (
            p
            for p in new_product.plans
            if p.kind == plan.kind
            and p.period_unit == plan.period_unit
            and p.period_count == plan.period_count
        ),
        plan,
    )


def new_startup(
    old: Any, new: Any, server: dict[str, Any], egg: dict[str, Any], service, new_product
) -> dict[str, Any]:
    """The startup PATCH of a plan change (``environment``, ``egg``, ``image``, ``startup``):
    the new product's values, the customer's own values for variables they may edit (read
    from the server, so a change made on the startup tab survives) and the slot count.
    ConfigError naming the new product when the egg's rules refuse the result."""
    from builtin_plugins.panel_kit.application import egg_variables, server_environment

    egg_id = int(egg["id"])
    current = server_environment(server)
    kept = {name: current[name] for name in old.editable_variables() if name in current}
    variables = egg_variables(egg)
    env = environment(
        new,
        variables,
        slots=service.slots,
        slot_names=slot_variables(new, plan_like(new_product, service.plan)),
        kept=kept,
    )
    problems = environment_problems(env, variables)
    if problems:
        raise ConfigError(
            f"{new_product.name}'s settings do not fit the egg: " + " ".join(problems)
        )
    container = server.get("container") or {}
    egg_changed = egg_id != int(server["egg"])
    image = new.docker_image or (docker_image(new, egg) if egg_changed else container.get("image"))
    startup = (
        new.startup
        or (egg.get("startup") if egg_changed or old.startup else None)
        or container.get("startup_command")
    )
    return {"environment": env, "egg": egg_id, "image": image, "startup": startup}
