"""Helpers shared by the application and client handlers: filters, sorts, rules, Wings."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from simulators.pterodactyl import errors
from simulators.pterodactyl import state as st
from simulators.pterodactyl.routing import Ctx
from simulators.pterodactyl.validation import Rule, Validator, lookup

USERNAME_RE = re.compile(r"^[a-z0-9]([\w.-]+)[a-z0-9]$")
USERNAME_MESSAGE = (
    "The {attribute} must start and end with alpha-numeric characters and "
    "contain only letters, numbers, dashes, underscores, and periods."
)


def like(haystack: Any, needle: str) -> bool:
    """SQL ``LOWER(col) LIKE %needle%``: ``%`` and ``_`` stay wildcards (not escaped)."""
    pattern = "".join(
        ".*" if c == "%" else "." if c == "_" else re.escape(c) for c in needle.lower()
    )
    return re.search(pattern, str(haystack or "").lower(), re.S) is not None


def filter_values(raw: Any) -> list[str]:
    if isinstance(raw, list):
        values = [str(v) for v in raw]
    elif isinstance(raw, dict):
        values = [str(v) for v in raw.values()]
    else:
        values = str(raw).split(",")
    return [v for v in values if v != ""]


def apply_filters(
    ctx: Ctx, objects: Iterable[Any], allowed: dict[str, Callable[[Any, list[str]], bool]]
) -> list[Any]:
    """``?filter[field]=value`` with spatie's rules: unknown filter -> 400, comma = OR."""
    items = list(objects)
    raw = ctx.req.query.get("filter")
    if not isinstance(raw, dict) or not raw:
        return items
    unknown = [k for k in raw if k not in allowed]
    if unknown:
        raise errors.ApiError(
            400,
            "InvalidFilterQuery",
            f"Requested filter(s) `{', '.join(unknown)}` are not allowed. "
            f"Allowed filter(s) are `{', '.join(allowed)}`.",
        )
    for name, value in raw.items():
        values = filter_values(value)
        if not values:
            continue
        test = allowed[name]
        items = [o for o in items if test(o, values)]
    return items


def partial(getter: Callable[[Any], Any]) -> Callable[[Any, list[str]], bool]:
    return lambda obj, values: any(like(getter(obj), v) for v in values)


def exact(getter: Callable[[Any], Any]) -> Callable[[Any, list[str]], bool]:
    return lambda obj, values: any(str(getter(obj)) == v for v in values)


def apply_sort(
    ctx: Ctx,
    objects: list[Any],
    allowed: dict[str, Callable[[Any], Any]],
    default: str | None = None,
) -> list[Any]:
    raw = ctx.req.query.get("sort") or default
    if not raw or not isinstance(raw, str):
        return sorted(objects, key=lambda o: o.id)
    fields = [f.strip() for f in raw.split(",") if f.strip()]
    unknown = [f for f in fields if f.lstrip("-") not in allowed]
    if unknown:
        raise errors.ApiError(
            400,
            "InvalidSortQuery",
            f"Requested sort(s) `{', '.join(unknown)}` is not allowed. "
            f"Allowed sort(s) are `{', '.join(allowed)}`.",
        )
    items = sorted(objects, key=lambda o: o.id)
    for name in reversed(fields):
        getter = allowed[name.lstrip("-")]
        items.sort(key=lambda o, g=getter: (g(o) is None, g(o)), reverse=name.startswith("-"))
    return items


# --- rules --------------------------------------------------------------------------------


def exists(check: Callable[[Any], bool]) -> Rule:
    return Rule("exists", check)


def unique(taken: Callable[[Any], bool]) -> Rule:
    return Rule("unique", lambda value: not taken(value))


def username_rule() -> Rule:
    return Rule(
        "p_username",
        lambda v: isinstance(v, str) and USERNAME_RE.match(v.lower()) is not None,
        USERNAME_MESSAGE,
    )


def int_or_none(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return int(value) if isinstance(value, bool) else None
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def validate_variables(
    s: st.State, egg_id: int, environment: Any, only_user: bool = False
) -> dict[int, str]:
    """Egg variables against their own rules: returns var id -> value (see
    docs/reference/pterodactyl_api.md §7.5 "Egg variables on create and startup").

    A variable left out is validated as null and stored as ``""``; keys that are not
    variables of the egg are ignored.
    """
    env = environment if isinstance(environment, dict) else {}
    variables = s.egg_vars(egg_id)
    if only_user:
        variables = [v for v in variables if v.user_viewable and v.user_editable]
    data = {"environment": {v.env_variable: env.get(v.env_variable) for v in variables}}
    rules = {f"environment.{v.env_variable}": v.rules for v in variables}
    names = {f"environment.{v.env_variable}": f"{v.name} variable" for v in variables}
    Validator(data, rules, names).validate()
    out: dict[int, str] = {}
    for var in variables:
        value = lookup(data, f"environment.{var.env_variable}")
        out[var.id] = "" if value is None else as_text(value)
    return out


def as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def wings(ctx: Ctx) -> None:
    """A call to the node's daemon: raises what the panel answers when Wings fails
    (Pterodactyl's 504; each simulator's ``wings_failure`` says)."""
    failure = ctx.sim.wings_failure()
    if failure is not None:
        raise failure


def release_allocations(s: st.State, server: st.Server) -> None:
    for alloc in s.allocations.values():
        if alloc.server_id == server.id:
            alloc.server_id = None
            alloc.notes = None


def delete_server_rows(s: st.State, server: st.Server) -> None:
    """Remove a server and everything hanging off it; its allocations become free."""
    release_allocations(s, server)
    for table in (s.subusers, s.backups, s.databases):
        for key in [k for k, v in table.items() if v.server_id == server.id]:
            del table[key]
    schedules = [k for k, v in s.schedules.items() if v.server_id == server.id]
    for key in schedules:
        del s.schedules[key]
    for key in [k for k, v in s.tasks.items() if v.schedule_id in schedules]:
        del s.tasks[key]
    s.servers.pop(server.id, None)
