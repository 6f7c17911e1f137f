"""A small re-implementation of Laravel's validator, enough for the panel's rules.

The panel validates requests and egg variables with Laravel rule strings such as
``required|string|max:20`` or ``required|integer|between:1,100``. This module
applies them with Laravel's semantics (docs/reference/pterodactyl_api.md §2.4 "Error format
and order of checks" and §7.5 "Egg variables on create and startup"):

- rules run in order; a failed *implicit* rule (``required``, ``present``,
  ``required_with``...) stops the attribute, other failures all get reported;
- a missing attribute skips every non-implicit rule; ``nullable`` skips them for null;
- size rules (``min``, ``max``, ``between``, ``size``) measure numbers when the
  attribute has a numeric rule, items for arrays and characters otherwise;
- messages use the panel's (old Laravel 5) wording, ``:attribute`` being the
  field with ``_`` turned into spaces unless a display name is given.

Custom rules (``exists``, ``unique``, ``p_username``) are :class:`Rule` objects.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from simulators.pterodactyl.errors import ValidationFailed

MISSING = object()

IMPLICIT = {
    "required",
    "required_with",
    "required_without",
    "required_if",
    "required_unless",
    "present",
    "filled",
    "accepted",
}
NUMERIC_RULES = {"numeric", "integer"}
SKIP = {"nullable", "sometimes", "bail"}

MESSAGES = {
    "accepted": "The {attribute} must be accepted.",
    "alpha": "The {attribute} may only contain letters.",
    "alpha_dash": "The {attribute} may only contain letters, numbers, and dashes.",
    "alpha_num": "The {attribute} may only contain letters and numbers.",
    "array": "The {attribute} must be an array.",
    "boolean": "The {attribute} field must be true or false.",
    "digits": "The {attribute} must be {p0} digits.",
    "digits_between": "The {attribute} must be between {p0} and {p1} digits.",
    "email": "The {attribute} must be a valid email address.",
    "exists": "The selected {attribute} is invalid.",
    "filled": "The {attribute} field is required.",
    "in": "The selected {attribute} is invalid.",
    "not_in": "The selected {attribute} is invalid.",
    "integer": "The {attribute} must be an integer.",
    "ip": "The {attribute} must be a valid IP address.",
    "ipv4": "The {attribute} must be a valid IPv4 address.",
    "ipv6": "The {attribute} must be a valid IPv6 address.",
    "json": "The {attribute} must be a valid JSON string.",
    "numeric": "The {attribute} must be a number.",
    "present": "The {attribute} field must be present.",
    "regex": "The {attribute} format is invalid.",
    "required": "The {attribute} field is required.",
    "required_if": "The {attribute} field is required when {other} is {value}.",
    "required_unless": "The {attribute} field is required unless {other} is in {values}.",
    "required_with": "The {attribute} field is required when {values} is present.",
    "required_without": "The {attribute} field is required when {values} is not present.",
    "string": "The {attribute} must be a string.",
    "unique": "The {attribute} has already been taken.",
    "url": "The {attribute} format is invalid.",
    "uuid": "The {attribute} must be a valid UUID.",
}
SIZE_MESSAGES = {
    "between": {
        "numeric": "The {attribute} must be between {p0} and {p1}.",
        "string": "The {attribute} must be between {p0} and {p1} characters.",
        "array": "The {attribute} must have between {p0} and {p1} items.",
    },
    "min": {
        "numeric": "The {attribute} must be at least {p0}.",
        "string": "The {attribute} must be at least {p0} characters.",
        "array": "The {attribute} must have at least {p0} items.",
    },
    "max": {
        "numeric": "The {attribute} may not be greater than {p0}.",
        "string": "The {attribute} may not be greater than {p0} characters.",
        "array": "The {attribute} may not have more than {p0} items.",
    },
    "size": {
        "numeric": "The {attribute} must be {p0}.",
        "string": "The {attribute} must be {p0} characters.",
        "array": "The {attribute} must contain {p0} items.",
    },
}

_INT = re.compile(r"\s*[+-]?(0|[1-9]\d*)\s*")
_NUMERIC = re.compile(r"\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
_URL = re.compile(r"[a-z][a-z0-9+.-]*://[^\s/?#]+[^\s]*", re.IGNORECASE)
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)


@dataclass
class Rule:
    """A rule object: ``check(value) -> bool``; ``message`` may use ``{attribute}``."""

    name: str
    check: Callable[[Any], bool]
    message: str = ""
    implicit: bool = False


def is_int(value: Any) -> bool:
    """PHP ``filter_var($v, FILTER_VALIDATE_INT) !== false``."""
    if isinstance(value, bool):
        return value is True
    if isinstance(value, int):
        return True
    if isinstance(value, float):
        return value.is_integer()
    return isinstance(value, str) and _INT.fullmatch(value) is not None


def is_numeric(value: Any) -> bool:
    """PHP ``is_numeric``."""
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    return isinstance(value, str) and _NUMERIC.fullmatch(value) is not None


def is_boolean(value: Any) -> bool:
    """Laravel's ``boolean``: true, false, 0, 1, "0", "1" - not "true"."""
    if isinstance(value, bool):
        return True
    if isinstance(value, int):
        return value in (0, 1)
    return isinstance(value, str) and value in ("0", "1")


def to_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value == "1"
    return bool(value)


def php_regex(pattern: str) -> re.Pattern[str] | None:
    """Compile a PHP ``/.../flags`` pattern; None when it cannot be used."""
    if len(pattern) < 2:
        return None
    delim = pattern[0]
    closing = {"(": ")", "{": "}", "[": "]", "<": ">"}.get(delim, delim)
    end = pattern.rfind(closing)
    if end <= 0:
        return None
    body, flag_text = pattern[1:end], pattern[end + 1 :]
    flags = 0
    for ch in flag_text:
        flags |= {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE}.get(ch, 0)
    body = body.replace("\\A", "^").replace("\\z", "$").replace("\\Z", "$")
    try:
        return re.compile(body, flags)
    except re.error:
        return None


def parse_rules(rules: str | Iterable[Any]) -> list[tuple[str, list[str]] | Rule]:
    """``"required|max:20"`` -> ``[("required", []), ("max", ["20"])]`` (Rule objects kept)."""
    items = rules.split("|") if isinstance(rules, str) else list(rules)
    parsed: list[tuple[str, list[str]] | Rule] = []
    for item in items:
        if isinstance(item, Rule):
            parsed.append(item)
            continue
        item = str(item).strip()
        if not item:
            continue
        if ":" in item:
            name, param = item.split(":", 1)
            name = name.strip().lower()
            params = (
                [param] if name in ("regex", "not_regex") else [p.strip() for p in param.split(",")]
            )
        else:
            name, params = item.lower(), []
        parsed.append((name, params))
    return parsed


def lookup(data: Any, path: str) -> Any:
    """The value at a dotted path, or MISSING."""
    current = data
    for part in path.split("."):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return MISSING
    return current


def _expand(data: Any, path: str) -> list[str]:
    """Expand ``a.*.b`` into the concrete paths present in ``data``."""
    if "*" not in path.split("."):
        return [path]
    head, _, tail = path.partition(".*")
    container = lookup(data, head)
    if isinstance(container, list):
        keys = [str(i) for i in range(len(container))]
    elif isinstance(container, dict):
        keys = [str(k) for k in container]
    else:
        return []
    out: list[str] = []
    for key in keys:
        out.extend(_expand(data, f"{head}.{key}{tail}"))
    return out


def _is_empty(value: Any) -> bool:
    if value is MISSING or value is None:
        return True
    if isinstance(value, str) and value.strip() == "":
        return True
    return isinstance(value, (list, dict)) and len(value) == 0


class Validator:
    """Validate ``data`` against ``{field: rules}``; ``failures()`` lists (field, rule, message)."""

    def __init__(
        self, data: Any, rules: dict[str, Any], attributes: dict[str, str] | None = None
    ) -> None:
        self.data = data if isinstance(data, dict) else {}
        self.rules = rules
        self.attributes = attributes or {}

    def display(self, field: str) -> str:
        if field in self.attributes:
            return self.attributes[field]
        return field.replace("_", " ")

    def failures(self) -> list[tuple[str, str, str]]:
        out: list[tuple[str, str, str]] = []
        for pattern, rules in self.rules.items():
            for field in _expand(self.data, pattern):
                out.extend(self._validate_field(field, parse_rules(rules)))
        return out

    def validate(self) -> None:
        failures = self.failures()
        if failures:
            raise ValidationFailed(failures)

    # --- one attribute ---------------------------------------------------

    def _validate_field(self, field: str, rules: list) -> list[tuple[str, str, str]]:
        names = {r.name if isinstance(r, Rule) else r[0] for r in rules}
        value = lookup(self.data, field)
        present = value is not MISSING
        if "sometimes" in names and not present:
            return []
        kind = "numeric" if names & NUMERIC_RULES else "array" if "array" in names else "string"
        out: list[tuple[str, str, str]] = []
        for rule in rules:
            if isinstance(rule, Rule):
                name, params, implicit = rule.name, [], rule.implicit
            else:
                name, params = rule
                implicit = name in IMPLICIT
            if name in SKIP:
                continue
            if not implicit:
                if not present or (isinstance(value, str) and value.strip() == ""):
                    continue
                if value is None and "nullable" in names:
                    continue
            if isinstance(rule, Rule):
                ok = rule.check(None if value is MISSING else value)
                message = rule.message or MESSAGES.get(name, "The {attribute} is invalid.")
                message = message.format(attribute=self.display(field))
            else:
                ok, message = self._check(field, name, params, value, kind)
            if not ok:
                out.append((field, name, message))
                if implicit or "bail" in names:
                    break
        return out

    def _check(
        self, field: str, name: str, params: list[str], value: Any, kind: str
    ) -> tuple[bool, str]:
        attribute = self.display(field)
        fmt = {"attribute": attribute}
        fmt.update({f"p{i}": p for i, p in enumerate(params)})
        ok = self._passes(name, params, value, kind, fmt)
        if name in SIZE_MESSAGES:
            template = SIZE_MESSAGES[name][kind if kind in ("numeric", "array") else "string"]
        else:
            template = MESSAGES.get(name, "The {attribute} is invalid.")
        return ok, template.format(**fmt)

    def _size(self, value: Any, kind: str) -> float:
        if kind == "numeric" and is_numeric(value):
            return float(value)
        if isinstance(value, (list, dict)):
            return float(len(value))
        if isinstance(value, bool):
            return 1.0 if value else 0.0
        return float(len(str(value)))

    def _passes(
        self, name: str, params: list[str], value: Any, kind: str, fmt: dict[str, str]
    ) -> bool:
        if name == "required":
            return not _is_empty(value)
        if name == "filled":
            return value is MISSING or not _is_empty(value)
        if name == "present":
            return value is not MISSING
        if name == "accepted":
            return value in (True, 1, "1", "yes", "on", "true")
        if name in ("required_with", "required_without"):
            fmt["values"] = " / ".join(self.display(p) for p in params)
            others = [not _is_empty(lookup(self.data, p)) for p in params]
            needed = any(others) if name == "required_with" else not all(others)
            return not needed or not _is_empty(value)
        if name in ("required_if", "required_unless"):
            other = lookup(self.data, params[0]) if params else MISSING
            wanted = params[1:]
            fmt["other"] = self.display(params[0]) if params else ""
            fmt["value"] = ", ".join(wanted)
            fmt["values"] = ", ".join(wanted)
            as_text = (
                ""
                if other in (MISSING, None)
                else (("1" if other else "0") if isinstance(other, bool) else str(other))
            )
            matches = as_text in wanted
            needed = matches if name == "required_if" else not matches
            return not needed or not _is_empty(value)
        if name == "string":
            return isinstance(value, str)
        if name == "integer":
            return is_int(value)
        if name == "numeric":
            return is_numeric(value)
        if name == "boolean":
            return is_boolean(value)
        if name == "array":
            return isinstance(value, (list, dict))
        if name == "email":
            return isinstance(value, str) and _EMAIL.fullmatch(value) is not None
        if name == "url":
            return isinstance(value, str) and _URL.fullmatch(value) is not None
        if name == "uuid":
            return isinstance(value, str) and _UUID.fullmatch(value) is not None
        if name in ("ip", "ipv4", "ipv6"):
            try:
                addr = ipaddress.ip_address(str(value))
            except ValueError:
                return False
            return name == "ip" or addr.version == (4 if name == "ipv4" else 6)
        if name in ("in", "not_in"):
            if isinstance(value, (list, dict)):
                return False
            text = ("1" if value else "0") if isinstance(value, bool) else str(value)
            return (text in params) == (name == "in")
        if name in ("alpha", "alpha_dash", "alpha_num"):
            if not isinstance(value, (str, int, float)) or isinstance(value, bool):
                return False
            pattern = {"alpha": r"[^\W\d_]+", "alpha_dash": r"[\w-]+", "alpha_num": r"[^\W_]+"}[
                name
            ]
            return re.fullmatch(pattern, str(value)) is not None
        if name in ("regex", "not_regex"):
            if not isinstance(value, (str, int, float)) or isinstance(value, bool):
                return False
            compiled = php_regex(params[0]) if params else None
            if compiled is None:
                return False
            found = compiled.search(str(value)) is not None
            return found if name == "regex" else not found
        if name in ("digits", "digits_between"):
            text = str(value)
            if not text.isdigit():
                return False
            if name == "digits":
                return len(text) == int(params[0])
            return int(params[0]) <= len(text) <= int(params[1])
        if name in ("min", "max", "between", "size"):
            size = self._size(value, kind)
            bounds = [float(p) for p in params if is_numeric(p)]
            if name == "min":
                return bool(bounds) and size >= bounds[0]
            if name == "max":
                return bool(bounds) and size <= bounds[0]
            if name == "size":
                return bool(bounds) and size == bounds[0]
            return len(bounds) == 2 and bounds[0] <= size <= bounds[1]
        if name == "json":
            import json

            try:
                json.loads(value)
            except (TypeError, ValueError):
                return False
            return True
        # Unknown rules pass: the panel would throw on a rule it lacks, a fake stays lenient.
        return True


def validate(data: Any, rules: dict[str, Any], attributes: dict[str, str] | None = None) -> None:
    """Raise :class:`ValidationFailed` (422) if ``data`` breaks ``rules``."""
    Validator(data, rules, attributes).validate()
