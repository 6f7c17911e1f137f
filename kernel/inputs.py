"""What text and JSON pteroca accepts, from a form, a query string, a JSON body or the CLI.

One rule for every text field: no control characters. NUL and the other C0 and C1
controls (and DEL) are invisible, break PostgreSQL (which refuses NUL in text) and
have no business in a name, an address, a code or a description; tab, line feed and
carriage return are the only ones a text area may hold. A single-line value (a name,
an email address, a code) holds none of them. JSON is parsed with a depth limit: a
deeply nested document is a way to exhaust the parser's recursion, never real data.

The request gate (``kernel/web/request_gate.py``) applies these to every request; the
services apply :func:`single_line` to the fields they store. Messages are translated, so
these run in an app context (a request, a command).
"""

from __future__ import annotations

import json
import re
from typing import Any

from flask_babel import gettext as _

# C0 controls except tab, LF, CR; DEL; C1 controls.
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# What a single-line value must not hold besides: line and paragraph breaks, tabs.
LINE_BREAK = re.compile("[\t\n\r\u2028\u2029]")
MAX_JSON_DEPTH = 32


class InputError(ValueError):
    """A value a user sent that pteroca refuses; the message says which field and why."""

    def __init__(self, message: str, field: str = ""):
        super().__init__(message)
        self.field = field


def _too_deep(max_depth: int) -> str:
    return _("The JSON document is nested deeper than %(n)d levels.", n=max_depth)


def _describe(char: str) -> str:
    return f"U+{ord(char):04X}"


def check_text(value: str, field: str = "") -> str:
    """``value`` unchanged, or :class:`InputError` when it holds a control character."""
    found = CONTROL.search(value)
    if found:
        raise InputError(
            _(
                "The field “%(field)s” contains a control character (%(char)s); "
                "remove it and try again.",
                field=field or _("value"),
                char=_describe(found.group()),
            ),
            field,
        )
    return value


def single_line(value: str, field: str = "") -> str:
    """``value`` checked as one line of text: no control character, no line break, no tab."""
    check_text(value, field)
    found = LINE_BREAK.search(value)
    if found:
        raise InputError(
            _(
                "The field “%(field)s” must be a single line (it contains %(char)s).",
                field=field or _("value"),
                char=_describe(found.group()),
            ),
            field,
        )
    return value


def check_json(
    value: Any,
    field: str = "",
    *,
    text: bool = True,
    depth: int = 0,
    max_depth: int = MAX_JSON_DEPTH,
) -> None:
    """Nesting of a parsed JSON value at most ``max_depth``; with ``text``, every string in
    it (keys included) passes :func:`check_text`."""
    if depth > max_depth:
        raise InputError(_too_deep(max_depth), field)
    if isinstance(value, str):
        if text:
            check_text(value, field)
    elif isinstance(value, dict):
        for key, item in value.items():
            if text:
                check_text(key, field)
            check_json(
                item,
                key if isinstance(key, str) else field,
                text=text,
                depth=depth + 1,
                max_depth=max_depth,
            )
    elif isinstance(value, list):
        for item in value:
            check_json(item, field, text=text, depth=depth + 1, max_depth=max_depth)


def parse_json(data: bytes | str, *, text: bool = True, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """The JSON document in ``data``, or :class:`InputError`: not JSON, not UTF-8, nested
    deeper than ``max_depth``, or (with ``text``) a control character in a string."""
    try:
        value = json.loads(data)
    except RecursionError:
        raise InputError(_too_deep(max_depth)) from None
    except (ValueError, TypeError) as exc:  # includes UnicodeDecodeError
        raise InputError(
            _("The request body is not valid JSON (%(error)s).", error=str(exc))
        ) from None
    check_json(value, text=text, max_depth=max_depth)
    return value


def check_nesting(data: bytes | str, *, max_depth: int = MAX_JSON_DEPTH) -> None:
    """:class:`InputError` when ``data`` is JSON nested deeper than ``max_depth``. Anything
    else passes, malformed JSON included: the receiver says what is wrong with it."""
    try:
        value = json.loads(data)
    except RecursionError:
        raise InputError(_too_deep(max_depth)) from None
    except (ValueError, TypeError):
        return
    check_json(value, text=False, max_depth=max_depth)


def looks_like_json(data: bytes, content_type: str = "") -> bool:
    """A body that is JSON by its content type, or by its first character."""
    kind = content_type.split(";")[0].strip().lower()
    if kind == "application/json" or kind.endswith("+json"):
        return True
    return data.lstrip()[:1] in (b"{", b"[")
