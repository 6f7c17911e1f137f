"""Walks over a panel's server list that resume where they stopped.

A reconcile of 100k servers spends a thousand listing pages of the panel's request budget:
minutes of pacing during which the process may be killed, the panel may fail past its
retries, or the cron slot may end. Starting over each time would spend the budget again and
never reach the end, so the walk keeps a cursor per panel (the run's id, when it started, the
highest panel server id handled, the listing pages read, counts so far), written in the panel
plugin's own table after every page, and the next run goes on from it.

Why ranges of ids: the panel lists servers sorted by id (``?sort=id``; both panels page by
page number only, docs/reference/pterodactyl_api.md §2.3 and pelican_api.md §2.3), so each
page covers a range of ids ``(after, upto]`` and the caller handles exactly the store
services linked into that range: a linked server missing from its range is gone from the
panel, whatever an earlier process saw. The last page's range is open (``upto`` None): it
takes the services linked past the listing's end and those without a link. Servers deleted
in the panel shift later ones back a page, so a resumed walk (and a walk that sees the
listing's total fall) reads one page back before going on; servers added later get higher
ids and come at the end.

A finished walk clears its cursor, so the next run starts from the top. A cursor older than
``max_age``, or one that does not parse (a forged or damaged row), is discarded with a log
line and an audit entry, and the run starts from the top. Dry runs keep their cursor in
memory only.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, delete, select

from builtin_plugins.panel_kit import errors
from builtin_plugins.panel_kit.transport import Page

log = logging.getLogger(__name__)

MAX_AGE = timedelta(hours=24)  # a cursor older than this is discarded: its view is stale
MAX_CLAIMED = 100_000  # service ids a cursor may carry (a forged row cannot grow a run)
CLOCK = time.monotonic  # the deadline's clock (tests move their own)


class CursorError(ValueError):
    """A stored cursor that is not one (bad JSON, wrong types, negative ids)."""


@dataclass
class Cursor:
    """Where a run stands: the highest panel server id handled (``after``, 0 before the
    first page), the listing pages read, counts so far, and the store services already
    handled through their external id (``claimed``: they have no server link, so no range
    brings them back; the last page must not call them gone)."""

    run: str
    started_at: datetime
    after: int = 0
    pages: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    claimed: set[int] = field(default_factory=set)

    def dumps(self) -> str:
        return json.dumps(
            {
                "run": self.run,
                "started_at": self.started_at.isoformat(),
                "after": self.after,
                "pages": self.pages,
                "counts": self.counts,
                "claimed": sorted(self.claimed),
            }
        )

    @classmethod
    def loads(cls, text: str) -> Cursor:
        """The cursor in ``text``; CursorError for anything a run did not write."""
        try:
            data = json.loads(text)
        except (TypeError, ValueError) as exc:
            raise CursorError(f"not JSON ({exc})") from None
        if not isinstance(data, dict):
            raise CursorError("not an object")
        run, after, pages = data.get("run"), data.get("after"), data.get("pages")
        counts, claimed = data.get("counts", {}), data.get("claimed", [])
        if not isinstance(run, str) or not 0 < len(run) <= 64:
            raise CursorError("no run id")
        for name, value in (("after", after), ("pages", pages)):
            if not _count(value):
                raise CursorError(f"{name} is not a whole number >= 0: {value!r}")
        if not isinstance(counts, dict) or not all(
            isinstance(k, str) and _count(v) for k, v in counts.items()
        ):
            raise CursorError("counts are not whole numbers >= 0")
        if (
            not isinstance(claimed, list)
            or len(claimed) > MAX_CLAIMED
            or not all(_count(v) and v > 0 for v in claimed)
        ):
            raise CursorError("claimed is not a list of service ids")
        try:
            started_at = datetime.fromisoformat(str(data.get("started_at")))
        except ValueError:
            raise CursorError("started_at is not a time") from None
        if started_at.tzinfo is not None:
            raise CursorError("started_at carries a time zone")
        return cls(run, started_at, after, pages, dict(counts), set(claimed))


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


@dataclass
class Segment:
    """One listing page's servers with ids in ``(after, upto]``, ascending; ``upto`` None on
    the last page (the range runs to the end). ``number``: the page it came from."""

    servers: list[dict[str, Any]]
    after: int
    upto: int | None
    number: int

    @property
    def last(self) -> bool:
        return self.upto is None

    def holds(self, server_id: int | None) -> bool:
        """True when a server id falls in this segment's range."""
        if server_id is None:
            return False
        return server_id > self.after and (self.upto is None or server_id <= self.upto)


def walk(read_page: Callable[[int], Page], after: int = 0, pages: int = 0) -> Iterator[Segment]:
    """The listing as segments, from the page after ``pages`` (and past id ``after``).

    ``read_page(n)``: page ``n`` of the servers sorted by id. Resuming (``pages`` > 0), and
    whenever the listing's total fell since the last page, the walk steps back a page while
    the page it read starts past ``after``: deleted servers moved later ones back, and one
    of those may now sit on a page already read."""
    number = max(1, pages)
    look_back = pages > 0
    total: int | None = None
    while True:
        page = read_page(number)
        ids = [int(server["id"]) for server in page.items]
        if ids != sorted(ids):
            raise errors.PanelError("the panel did not list its servers by id (?sort=id)")
        shrunk = total is not None and page.total < total
        total = page.total
        if (look_back or shrunk) and number > 1 and (not ids or ids[0] > after):
            # past the end (the listing shrank, or a forged cursor): to its last page at once
            number = min(number - 1, page.total_pages)
            look_back = True
            continue
        look_back = False
        last = page.current_page >= page.total_pages or not ids
        fresh = [server for server, sid in zip(page.items, ids, strict=True) if sid > after]
        upto = None if last else max(after, ids[-1])
        yield Segment(fresh, after, upto, number)
        if upto is None:
            return
        after, number = upto, number + 1


class Run:
    """One resumable walk of a panel's servers, its cursor kept in ``table`` (columns
    ``scope`` (primary key), ``state`` (the cursor as JSON), ``updated_at``) under ``scope``
    (the job and the panel: another panel's cursor is never resumed).

    ``for segment in run.segments(read_page): ...`` hands each page to the loop's body; once
    the body is done the cursor moves past that page (committed), so a body that raises (a
    panel outage, a killed process) leaves the cursor at the last page it finished. The last
    page's end clears the cursor. With ``deadline`` (seconds on ``clock``) the walk stops
    after the page during which it passed, the cursor kept (``stopped``): a cron slot ends,
    the next run goes on."""

    def __init__(
        self,
        table: Table | None,
        scope: str,
        *,
        label: str,
        restart: bool = False,
        max_age: timedelta = MAX_AGE,
        deadline: float | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        from kernel import now

        self.table, self.scope, self.label = table, scope, label
        self.deadline, self.clock = deadline, clock or CLOCK
        self.began = self.clock()
        self.stopped = False
        self.pages_read = 0  # this process
        self.resumed: Cursor | None = None
        self._saved = False
        found = self._load(restart, max_age, now())
        self.cursor = found or Cursor(secrets.token_hex(8), now())
        if found is not None:  # where it resumed (the cursor itself moves on)
            self.resumed = replace(found, counts=dict(found.counts), claimed=set())
        if found is not None:
            self._saved = True
            log.info(
                "%s: %s (run %s, started %s)",
                label,
                self.resume_text(),
                found.run,
                found.started_at.isoformat(" ", "seconds"),
            )

    @property
    def counts(self) -> dict[str, int]:
        return self.cursor.counts

    @property
    def claimed(self) -> set[int]:
        return self.cursor.claimed

    def count(self, name: str, by: int = 1) -> None:
        self.cursor.counts[name] = self.cursor.counts.get(name, 0) + by

    def resume_text(self) -> str:
        """``resuming after panel server 12345, 3 pages done`` (empty for a fresh run)."""
        if self.resumed is None:
            return ""
        pages = self.resumed.pages
        return (
            f"resuming after panel server {self.resumed.after}, "
            f"{pages} page{'' if pages == 1 else 's'} done"
        )

    def segments(self, read_page: Callable[[int], Page]) -> Iterator[Segment]:
        for segment in walk(read_page, self.cursor.after, self.cursor.pages):
            self.pages_read += 1
            yield segment
            if segment.last:
                self._clear()
                return
            self.cursor.after, self.cursor.pages = int(segment.upto or 0), segment.number
            self._save()
            if self.deadline is not None and self.clock() - self.began >= self.deadline:
                self.stopped = True
                log.warning(
                    "%s: stopped after page %d (panel server %d) at its deadline; "
                    "the next run resumes there",
                    self.label,
                    self.cursor.pages,
                    self.cursor.after,
                )
                return

    # --- the cursor's row -----------------------------------------------------------------

    def _load(self, restart: bool, max_age: timedelta, now: datetime) -> Cursor | None:
        from kernel import db, record_audit

        if self.table is None:
            return None
        state = db.session.scalar(
            select(self.table.c.state).where(self.table.c.scope == self.scope)
        )
        if state is None:
            return None
        why = "restart asked"
        if not restart:
            try:
                cursor = Cursor.loads(state)
            except CursorError as exc:
                why = f"unreadable cursor: {exc}"
            else:
                if now - cursor.started_at <= max_age:
                    return cursor
                why = f"its run started {cursor.started_at.isoformat(' ', 'seconds')}, too long ago"
        log.warning("%s: starting from the top (%s)", self.label, why)
        db.session.execute(delete(self.table).where(self.table.c.scope == self.scope))
        record_audit(
            f"{self.label}.cursor_discarded", self.scope, {"why": why[:500]}, actor="system"
        )
        return None

    def _save(self) -> None:
        from sqlalchemy.dialects import postgresql, sqlite

        from kernel import db, now

        if self.table is None:
            return
        values = {"scope": self.scope, "state": self.cursor.dumps(), "updated_at": now()}
        dialect = sqlite if db.session.get_bind().dialect.name == "sqlite" else postgresql
        statement = dialect.insert(self.table).values(**values)
        db.session.execute(
            statement.on_conflict_do_update(
                index_elements=[self.table.c.scope],
                set_={"state": values["state"], "updated_at": values["updated_at"]},
            )
        )
        db.session.commit()
        self._saved = True

    def _clear(self) -> None:
        from kernel import db

        if self.table is None or not self._saved:
            return
        db.session.execute(delete(self.table).where(self.table.c.scope == self.scope))
        db.session.commit()
        self._saved = False


def scope_of(job: str, url: str) -> str:
    """A cursor's scope: the job and the panel (by its URL's digest)."""
    return f"{job}:{hashlib.sha256(url.encode()).hexdigest()[:32]}"


def ours(servers: list[dict[str, Any]], prefix: str) -> list[tuple[int, dict[str, Any]]]:
    """The servers carrying our external id (``<prefix>-<service id>``), with that id."""
    head = f"{prefix}-"
    out = []
    for server in servers:
        ext = str(server.get("external_id") or "")
        tail = ext[len(head) :] if ext.startswith(head) else ""
        if tail.isascii() and tail.isdigit():
            out.append((int(tail), server))
    return out
