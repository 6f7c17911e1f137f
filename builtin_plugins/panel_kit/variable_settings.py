"""A product's egg variables setting, and the environment a server gets from it.

The setting is one text, a line per variable::

    SERVER_JARFILE=server.jar
    MINECRAFT_VERSION=latest | visible, editable
    MAX_PLAYERS | slots

``NAME=value`` fixes the value (``NAME`` alone keeps the egg's default); the flags after
``|`` are ``visible`` (customers see it on the startup tab), ``editable`` (customers choose
it at checkout and may change it later; implies visible) and ``slots`` (the slot count of
a per-slot plan is written into it). Variables not listed get the egg's default and stay
hidden. The egg's own rules (a Laravel rule string on Pterodactyl, an array on Pelican) are
checked by ``rules``. Published through ``product_config``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from builtin_plugins.panel_kit import rules
from builtin_plugins.panel_kit.product_schema import ConfigError

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

FLAGS = {"visible": "visible", "editable": "editable", "slots": "slots", "slot": "slots"}

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
