"""The product form's fields both panel plugins show alike (each plugin's ``SCHEMA`` places
them among its own: Pterodactyl's nest and locations, Pelican's tags); read through
``product_config``."""

from __future__ import annotations

import re
from typing import Any

from kernel import SettingSpec

CHOICE_SUFFIX = re.compile(r" \(#\d+\)$")  # the panel id a checkout choice's value ends with


class ConfigError(ValueError):
    """The product's settings do not make a valid panel server; the message says why."""


def spec(
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


_spec = spec

# The product form's fields both panels show alike (each plugin's SCHEMA places them).
EGG_SPECS: tuple[SettingSpec, ...] = (
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
)


def build_specs(io_low: int) -> tuple[SettingSpec, ...]:
    """Memory, swap, disk, IO, CPU and pinning (Pelican's IO weight starts at 0,
    Pterodactyl's at 10)."""
    return (
        _spec("memory", "int", "Memory (MiB)", 1024, "0 = unlimited", True),
        _spec("swap", "int", "Swap (MiB)", 0, "-1 = unlimited, 0 = none"),
        _spec("disk", "int", "Disk (MiB)", 5120, "0 = unlimited", True),
        _spec("io", "int", "Block IO weight", 500, f"{io_low} to 1000"),
        _spec("cpu", "int", "CPU limit (%)", 100, "100 = one thread, 0 = unlimited"),
        _spec("threads", "string", "CPU pinning", "", "e.g. 0-1,4; empty: any thread"),
    )


FEATURE_SPECS: tuple[SettingSpec, ...] = (
    _spec("databases", "int", "Databases", 0, "How many databases the customer may create"),
    _spec("allocations", "int", "Allocations", 1, "Ports in all, the primary one included"),
    _spec("backups", "int", "Backups", 0, "How many backups the customer may keep"),
)

PLACEMENT_SPECS: tuple[SettingSpec, ...] = (
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


def readable_choices(labels: tuple[str, ...]) -> tuple[str, ...]:
    """What customers see for checkout choices whose values end with the panel id
    (``Paper (#3)``): the name alone, unless two would read the same (then the id stays).
    The values keep the id: it is what the plugin reads back."""
    names = tuple(CHOICE_SUFFIX.sub("", label) for label in labels)
    return tuple(
        label if names.count(name) > 1 else name for label, name in zip(labels, names, strict=True)
    )
