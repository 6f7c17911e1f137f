"""Keyset paging for lists that grow without bound (audit log, email log, ledger, payments).

``OFFSET n`` makes the database walk past ``n`` rows before the page it returns: the
middle page of a million-row log costs as much as reading half of it. A keyset page instead
starts from the id of the row it continues from (``id < cursor``, newest first) and reads just
the page, through the primary key or a ``(filter column, id)`` index, whatever its depth.

A cursor is a row id in the URL: ``?before=<id>`` (older rows) or ``?after=<id>`` (newer
rows). It is not a secret and need not be signed: the list's filters are applied in the same
query, so a forged cursor only chooses where the page starts among the rows the filters
allow; it cannot show a row they exclude. A malformed cursor or page size is a
:class:`PagingError` (the views answer 400 with its message, never a 500).

``?per_page=`` sets the page size between :data:`MIN_PER_PAGE` and :data:`MAX_PER_PAGE`.

A list in another order than newest first (invoices by issue date, the support queue by how
long customers waited) pages with :func:`fetch_sorted`: the cursor is still a row id, and the
page reads the row's sort values first, through the list's own filters, so a cursor naming a
row the filters exclude (another customer's, or one outside the search) is refused, never
used as a starting point.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, or_

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement, Select
    from sqlalchemy.orm import Session

MIN_PER_PAGE = 10
MAX_PER_PAGE = 200
# Ids are 64-bit at most on every supported database; a larger number is not a row's id.
MAX_ID = 2**63 - 1
# ASCII digits only: str.isdigit() also takes "²" or "١", which int() refuses or reads.
_DIGITS = re.compile(r"[0-9]{1,19}")


class PagingError(ValueError):
    """A page request that cannot be served as written (the message says what to fix)."""


@dataclass(frozen=True)
class Cursor:
    """Where a page starts: strictly older (``before``) or strictly newer (``after``) than ``id``."""

    direction: str  # "before" | "after"
    id: int


def per_page(args: Mapping[str, str], default: int) -> int:
    """The page size asked for in ``args["per_page"]`` (``default`` when absent)."""
    raw = (args.get("per_page") or "").strip()
    if not raw:
        return default
    if not _DIGITS.fullmatch(raw) or not MIN_PER_PAGE <= int(raw) <= MAX_PER_PAGE:
        raise PagingError(
            f"per_page must be a whole number from {MIN_PER_PAGE} to {MAX_PER_PAGE}, "
            f"not {raw[:20]!r}"
        )
    return int(raw)


def cursor(args: Mapping[str, str]) -> Cursor | None:
    """The cursor in ``args`` (``before`` or ``after``; None for the first page)."""
    given = [name for name in ("before", "after") if (args.get(name) or "").strip()]
    if not given:
        return None
    if len(given) > 1:
        raise PagingError("give either before= or after=, not both")
    raw = args[given[0]].strip()
    if not _DIGITS.fullmatch(raw) or not 0 < int(raw) <= MAX_ID:
        raise PagingError(
            f"{given[0]}= must be the id of a row (a positive whole number), not {raw[:20]!r}"
        )
    return Cursor(given[0], int(raw))


@dataclass
class KeysetPage:
    """One page, newest first, and the cursors of the pages on either side (None: no page)."""

    items: list[Any]
    per_page: int
    newer: int | None = None  # ``?after=`` for the page of newer rows
    older: int | None = None  # ``?before=`` for the page of older rows
    cursor: Cursor | None = None  # where this page started (None: the newest page)

    @property
    def first(self) -> bool:
        """The newest page (no cursor given): what the "Newest" link leads back to."""
        return self.cursor is None


def apply(query, id_column, at: Cursor | None, size: int):
    """``query`` limited to one page from ``at`` (one row more, to know if there is a next)."""
    if at is None:
        return query.order_by(id_column.desc()).limit(size + 1)
    if at.direction == "before":
        return query.where(id_column < at.id).order_by(id_column.desc()).limit(size + 1)
    return query.where(id_column > at.id).order_by(id_column.asc()).limit(size + 1)


def page_of(rows: list[Any], at: Cursor | None, size: int, key=lambda row: row.id) -> KeysetPage:
    """A :class:`KeysetPage` from what :func:`apply`'s query returned (``size + 1`` rows at most).

    Going newer (``after``) reads oldest first: the rows are turned round, and there are older
    rows behind them (the page the cursor came from). An empty page (a forged cursor, or rows
    deleted meanwhile) links to neither side: the list offers its newest page instead.
    """
    more = len(rows) > size
    rows = rows[:size]
    if not rows:
        return KeysetPage(rows, size, cursor=at)
    if at is not None and at.direction == "after":
        rows.reverse()
        return KeysetPage(
            rows, size, newer=key(rows[0]) if more else None, older=key(rows[-1]), cursor=at
        )
    return KeysetPage(
        rows,
        size,
        newer=key(rows[0]) if at is not None else None,
        older=key(rows[-1]) if more else None,
        cursor=at,
    )


def page_url(**changes: Any) -> str:
    """This request's URL with its filters and search kept, the paging arguments replaced
    (``before``/``after``/``page`` dropped; ``changes`` set, a None value dropped)."""
    from flask import request, url_for

    args = request.args.to_dict(flat=False)
    for name in ("before", "after", "page", *changes):
        args.pop(name, None)
    try:
        per_page(request.args, MIN_PER_PAGE)
    except PagingError:
        args.pop("per_page", None)  # refused already: the links use the default size
    args.update({k: v for k, v in changes.items() if v is not None})
    return url_for(request.endpoint, **(request.view_args or {}), **args)


def fetch(
    session: Session,
    query: Select,
    id_column: ColumnElement[int],
    args: Mapping[str, str],
    default_size: int,
) -> KeysetPage:
    """Validate ``args`` (:class:`PagingError`), run one page of ``query``: one statement."""
    size = per_page(args, default_size)
    at = cursor(args)
    rows = list(session.scalars(apply(query, id_column, at, size)))
    return page_of(rows, at, size)


def _sorted_query(
    query: Select,
    keys: Sequence[tuple[ColumnElement[Any], bool]],
    id_column: ColumnElement[int],
    at: Cursor | None,
    start: Any,
    size: int,
) -> Select:
    """``query`` in ``keys`` order (then id, newest first), from the row whose sort values
    are ``start`` (the cursor's row), one row more than a page."""
    order = [*keys, (id_column, True)]
    forward = at is None or at.direction == "before"
    if at is not None:
        values = [*start, at.id]
        beyond = []
        for i, (column, descending) in enumerate(order):
            later = column < values[i] if descending == forward else column > values[i]
            same = [order[j][0] == values[j] for j in range(i)]
            beyond.append(and_(*same, later))
        query = query.where(or_(*beyond))
    return query.order_by(
        *(column.desc() if descending == forward else column.asc() for column, descending in order)
    ).limit(size + 1)


def fetch_sorted(
    session: Session,
    query: Select,
    keys: Sequence[tuple[ColumnElement[Any], bool]],
    id_column: ColumnElement[int],
    args: Mapping[str, str],
    default_size: int,
    options: Sequence[Any] = (),
) -> KeysetPage:
    """One page of ``query`` ordered by ``keys`` (``(expression, descending)`` pairs, none of
    them NULL: wrap a nullable column in ``coalesce``), then by id newest first.

    The cursor in ``args`` is the id of a row of the list; its sort values are read through
    ``query`` (its filters apply), so an id outside the list is a :class:`PagingError`.
    Two statements for a later page, one for the first, whatever the page size. Loader
    ``options`` (eager loads) go on the page query only.
    """
    size = per_page(args, default_size)
    at = cursor(args)
    start = None
    if at is not None:
        start = session.execute(
            query.with_only_columns(*(column for column, _ in keys)).where(id_column == at.id)
        ).first()
        if start is None:
            raise PagingError("that page starts at a row this list does not show (any more)")
    page_query = _sorted_query(query, keys, id_column, at, start, size)
    rows = list(session.scalars(page_query.options(*options)))
    return page_of(rows, at, size)
