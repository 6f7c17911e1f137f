"""What a product's panel settings share on Pterodactyl and Pelican: limits, ports, texts,
the typed settings' common fields (:class:`PanelProduct`) and the image a server runs.

Each panel plugin keeps its own ``ProductConfig`` (a :class:`PanelProduct` with Pterodactyl's
nest and locations, or Pelican's node tags) and parses its own fields; the rules both panels
apply the same way live in the kit, so a product form answers the same on both. This module
is the one the plugins name (``product_config.X``); it also publishes the names of the
modules it is made of: ``product_schema`` (the form's shared fields, :class:`ConfigError`),
``variable_settings`` (the egg variables setting and a server's environment) and
``plan_change`` (a change of plan).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from builtin_plugins.panel_kit.plan_change import new_startup, plan_like
from builtin_plugins.panel_kit.product_schema import (
    EGG_SPECS,
    FEATURE_SPECS,
    PLACEMENT_SPECS,
    ConfigError,
    build_specs,
    spec,
)
from builtin_plugins.panel_kit.variable_settings import (
    RESERVED_ENV,
    VariableConfig,
    environment,
    environment_problems,
    parse_variables,
    settings_variable_problems,
    slot_variables,
    suggested_variables,
    variable_problem,
)

__all__ = [
    "EGG_SPECS",
    "FEATURE_SPECS",
    "PLACEMENT_SPECS",
    "RESERVED_ENV",
    "ConfigError",
    "PanelProduct",
    "VariableConfig",
    "build_specs",
    "common_fields",
    "common_text",
    "docker_image",
    "environment",
    "environment_problems",
    "int_setting",
    "new_startup",
    "parse_ports",
    "parse_variables",
    "plan_like",
    "port_allowed",
    "settings_variable_problems",
    "slot_variables",
    "spec",
    "suggested_variables",
    "variable_problem",
]

DOCKER_IMAGE = re.compile(r"^~?[\w./\-:@ ]*$")

THREADS = re.compile(r"^[0-9-,]+$")

PORT_RANGE = re.compile(r"^(\d{4,5})(?:-(\d{4,5}))?$")

ADDRESS = re.compile(r"^[A-Za-z0-9.:_-]*$")  # an IPv4/IPv6 address or a host name alias


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


@dataclass(frozen=True, kw_only=True)
class PanelProduct:
    """The typed settings both plugins' ``ProductConfig`` hold (each a frozen, keyword-only
    dataclass adding its panel's fields), and what they answer alike."""

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
    databases: int = 0
    allocations: int = 1
    backups: int = 0
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
