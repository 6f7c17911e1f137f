"""Egg variable rules: the Laravel validation rules of eggs, checked before the panel does.

Shared by the Pterodactyl and Pelican plugins (Pelican lists the rules as an array).

An egg variable's ``rules`` is a string such as ``required|string|max:20`` or
``required|regex:/^([\\w\\d._-]+)(\\.jar)$/``. :func:`check` applies the common rules
the way the panel does (an empty value counts as null; ``min``/``max``/``between``
compare numbers when the rules say ``numeric`` or ``integer``, else lengths) and
returns the panel's kind of message, or None. Rules it does not know are left to the
panel, which validates again.
"""

from __future__ import annotations

import re
from typing import Any

REGEX_RULE = re.compile(r"(?:not_)?regex:(.).*?\1[a-zA-Z]*(?=\||$)")
ALPHA = re.compile(r"^[^\W\d_]+$")
ALPHA_NUM = re.compile(r"^[^\W_]+$")
ALPHA_DASH = re.compile(r"^[\w-]+$")
INTEGER = re.compile(r"^[+-]?\d+$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
URL = re.compile(r"^[a-z][a-z0-9+.-]*://[^\s/?#]+[^\s]*$", re.IGNORECASE)
BOOLEAN_VALUES = frozenset({"0", "1"})  # the panel refuses "true" and "false" as text
PHP_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE}


def split_rules(rules: str | list | tuple) -> list[tuple[str, str]]:
    """``"required|max:20"`` -> ``[("required", ""), ("max", "20")]``; regexes keep their ``|``.

    Pelican's application API gives the rules as an array of rule strings instead: each is
    one rule, so a regex in it needs no splitting."""
    if isinstance(rules, list | tuple):
        out_list: list[tuple[str, str]] = []
        for piece in rules:
            name, _, argument = str(piece).partition(":")
            if name.strip():
                out_list.append((name.strip().lower(), argument))
        return out_list
    out: list[tuple[str, str]] = []
    text = (rules or "").strip()
    while text:
        match = REGEX_RULE.match(text)
        if match:
            piece = match.group(0)
        else:
            piece = text.split("|", 1)[0]
        text = text[len(piece) :].lstrip("|")
        name, _, argument = piece.partition(":")
        if name.strip():
            out.append((name.strip().lower(), argument))
    return out


def php_regex(pattern: str) -> re.Pattern | None:
    """``/^a.+$/i`` -> a compiled Python pattern; None when Python cannot read it."""
    if len(pattern) < 2:
        return None
    delimiter = pattern[0]
    closing = {"(": ")", "{": "}", "[": "]", "<": ">"}.get(delimiter, delimiter)
    end = pattern.rfind(closing)
    if end <= 0:
        return None
    flags = 0
    for flag in pattern[end + 1 :]:
        flags |= PHP_FLAGS.get(flag, 0)
    try:
        return re.compile(pattern[1:end], flags)
    except re.error:
        return None


def _number(value: str) -> float | None:
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number if number == number and abs(number) != float("inf") else None


def _size(value: str, numeric: bool) -> float:
    if numeric:
        return _number(value) or 0.0
    return float(len(value))


def _bound(argument: str) -> float | None:
    return _number(argument)


def check(value: Any, rules: str | list | tuple, label: str) -> str | None:
    """The first rule ``value`` breaks, as the panel would word it, or None when it passes."""
    text = "" if value is None else str(value).strip()
    parsed = split_rules(rules)
    names = {name for name, _ in parsed}
    field = f"{label} variable"
    if text == "":
        if "required" in names:
            return f"The {field} field is required."
        return None  # empty is null: other rules do not apply (nullable or not)
    numeric = bool(names & {"numeric", "integer"})
    for name, argument in parsed:
        problem = _rule(name, argument, text, numeric, field)
        if problem:
            return problem
    return None


def _rule(name: str, argument: str, text: str, numeric: bool, field: str) -> str | None:
    unit = "" if numeric else " characters"
    if name == "integer" and not INTEGER.match(text):
        return f"The {field} must be an integer."
    if name == "numeric" and _number(text) is None:
        return f"The {field} must be a number."
    if name == "boolean" and text not in BOOLEAN_VALUES:
        return f"The {field} field must be true or false."
    if name == "alpha" and not ALPHA.match(text):
        return f"The {field} may only contain letters."
    if name == "alpha_num" and not ALPHA_NUM.match(text):
        return f"The {field} may only contain letters and numbers."
    if name == "alpha_dash" and not ALPHA_DASH.match(text):
        return f"The {field} may only contain letters, numbers, dashes and underscores."
    if name == "email" and not EMAIL.match(text):
        return f"The {field} must be a valid email address."
    if name == "url" and not URL.match(text):
        return f"The {field} format is invalid."
    if name == "in" and text not in argument.split(","):
        return f"The selected {field} is invalid."
    if name == "not_in" and text in argument.split(","):
        return f"The selected {field} is invalid."
    if name in ("regex", "not_regex"):
        pattern = php_regex(argument)
        if pattern is not None and bool(pattern.search(text)) != (name == "regex"):
            return f"The {field} format is invalid."
    if name in ("min", "max", "size"):
        bound = _bound(argument)
        size = _size(text, numeric)
        if bound is not None:
            if name == "min" and size < bound:
                return f"The {field} must be at least {argument}{unit}."
            if name == "max" and size > bound:
                return f"The {field} may not be greater than {argument}{unit}."
            if name == "size" and size != bound:
                return f"The {field} must be {argument}{unit}."
    if name == "between":
        low, _, high = argument.partition(",")
        lo, hi = _bound(low), _bound(high)
        size = _size(text, numeric)
        if lo is not None and hi is not None and not lo <= size <= hi:
            return f"The {field} must be between {low} and {high}{unit}."
    if name == "digits" and not (text.isdigit() and str(len(text)) == argument.strip()):
        return f"The {field} must be {argument} digits."
    if name == "digits_between":
        low, _, high = argument.partition(",")
        if not (text.isdigit() and (_bound(low) or 0) <= len(text) <= (_bound(high) or 0)):
            return f"The {field} must be between {low} and {high} digits."
    return None


def is_required(rules: str | list | tuple) -> bool:
    return any(name == "required" for name, _ in split_rules(rules))
