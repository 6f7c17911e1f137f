"""Document numbers: the format, and gapless allocation inside the issuing transaction.

A format such as ``INV-{year}-{number:06}`` renders to ``INV-2026-000123``. Everything but the
number forms the **series** (``INV-2026-#``), and each series counts on its own from 1: with
``{year}`` in the format the count restarts every year, without it it never does.

Allocation moves the series' counter with an ``UPDATE ... SET last = last + 1 RETURNING last``
in the transaction that inserts the document. On PostgreSQL the updated row stays locked
until that transaction ends, so concurrent issuers of one series queue there; on SQLite the
transaction holds the database's write lock from its BEGIN. Either way a rolled-back document
rolls its number back with it, and a committed one keeps it: numbers are consecutive, never
skipped, never reused.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from kernel import db

from .models import Counter

TOKEN = re.compile(r"\{(year|month|number)(?::0?([1-9]|1[0-2]))?\}")
LITERAL = re.compile(r"[A-Za-z0-9._/ -]*")
MAX_LENGTH = 40  # the rendered number, well inside the column


class FormatError(ValueError):
    """A number format that cannot be used; the message says why."""


def check_format(fmt: str) -> str:
    """The format, stripped, or FormatError: one ``{number}``, known placeholders, plain text."""
    fmt = (fmt or "").strip()
    if not fmt:
        raise FormatError("a number format is needed, e.g. INV-{year}-{number:06}")
    literal = TOKEN.sub("", fmt)
    if "{" in literal or "}" in literal:
        raise FormatError(
            "placeholders are {year}, {month}, {number} and {number:06} (up to 12 digits)"
        )
    numbers = [m.group(1) for m in TOKEN.finditer(fmt)].count("number")
    if numbers != 1:
        raise FormatError("a number format has {number} (or {number:06}) exactly once")
    if not LITERAL.fullmatch(literal):
        raise FormatError("outside placeholders, use letters, digits, space and . _ / -")
    if fmt[0] in "=+-@ ":
        raise FormatError("a number format starts with a letter, a digit or a placeholder")
    if len(render(fmt, datetime(2000, 12, 31), 10**6)) > MAX_LENGTH:
        raise FormatError(f"numbers in this format would be longer than {MAX_LENGTH} characters")
    return fmt


def _render(fmt: str, when: datetime, number: int | None) -> str:
    def value(match: re.Match) -> str:
        name, width = match.group(1), int(match.group(2) or 0)
        if name == "year":
            return f"{when.year:04d}"
        if name == "month":
            return f"{when.month:02d}"
        return "#" if number is None else f"{number:0{width}d}"

    return TOKEN.sub(value, fmt)


def render(fmt: str, when: datetime, number: int) -> str:
    """The document number ``number`` of the series ``fmt`` makes at ``when``."""
    return _render(fmt, when, number)


def series(fmt: str, when: datetime) -> str:
    """The series a document issued at ``when`` belongs to: the format with ``#`` for the number."""
    return _render(fmt, when, None)


def _bump(series_key: str) -> int | None:
    return db.session.execute(
        update(Counter)
        .where(Counter.series == series_key)
        .values(last=Counter.last + 1)
        .returning(Counter.last)
        .execution_options(synchronize_session=False)
    ).scalar()


def allocate(series_key: str) -> int:
    """The next number of ``series_key``, taken in the caller's transaction (see the module)."""
    number = _bump(series_key)
    if number is None:
        try:
            with db.session.begin_nested():
                db.session.add(Counter(series=series_key, last=0))
                db.session.flush()
        except IntegrityError:
            pass  # another transaction created the series first; its row is ours to bump now
        number = _bump(series_key)
    if number is None:  # pragma: no cover - the row exists by now
        raise RuntimeError(f"series {series_key!r} has no counter")
    return int(number)
