"""The panel request budget: a token bucket per panel and API, shared by every process.

A panel limits each API per user (Pterodactyl: 240 application and 720 client requests a
minute, in fixed one-minute windows; docs/reference/pterodactyl_api.md §1.3). Every pteroca
process, page and job spends the same two allowances, so answering 429 after the fact is not
enough: a burst of background work would make customers' pages fail. Every
:class:`~builtin_plugins.panel_kit.transport.Transport` call therefore takes a token here first.

The bucket refills at ``per_minute`` tokens a minute and holds at most ``burst`` tokens. In any
minute it hands out at most ``burst + per_minute`` tokens, which is what must stay below the
panel's limit: :func:`burst_for` makes the burst a fifth of the rate, and the panel plugins
set each budget to :func:`max_rate` of the panel's limit, which their settings hold.

Priority: an *interactive* call (a page: a transport that may not wait out a 429) may empty
the bucket; *background* work (jobs, cron, reconcile, sync, status refreshes) only takes a
token while at least ``reserve`` (a fifth of the burst) stays behind for pages, and otherwise
waits, paced, as long as it takes. An interactive call waits at most :data:`INTERACTIVE_WAIT`
seconds for its token; past that it gets :class:`errors.RateLimited` ("the panel is busy, try
again in N s") without sending anything.

Where the bucket lives: Redis when the site has one (one Lua script per token: atomic across
processes and hosts), else a row of the panel plugin's own table, taken with one conditional
``UPDATE ... RETURNING`` on a connection of its own (SQLite and PostgreSQL alike), so the
caller's transaction is never committed or blocked by it. The clock and ``sleep`` are
injected: the bench runs 100k servers against the simulator on one virtual clock.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Table, case, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from builtin_plugins.panel_kit import errors

log = logging.getLogger(__name__)

INTERACTIVE_WAIT = 1.0  # seconds a page's call may wait for its token
RESERVE_SHARE = 0.2  # of the burst, kept for interactive calls
KEY_TTL = 3600  # seconds an idle bucket is kept in Redis
REDIS_PREFIX = "pteroca:panel-budget:"


def burst_for(per_minute: int) -> int:
    """The bucket's size for a rate: a fifth of a minute's tokens (at least 1)."""
    return max(1, per_minute // 5)


LIMIT_BOUNDS = (6, 1_000_000)  # a panel limit setting's min and max (plugin.toml says the same)


def panel_limit(value: Any, default: int) -> int:
    """A stored panel limit setting (what the panel allows a minute, its
    ``APP_API_*_RATELIMIT``) within :data:`LIMIT_BOUNDS`; the default for anything that is not
    a whole number (the settings form refuses such values; this guards ones stored by hand)."""
    try:
        limit = int(value or default)
    except (TypeError, ValueError):
        limit = default
    return min(max(LIMIT_BOUNDS[0], limit), LIMIT_BOUNDS[1])


def max_rate(limit: int) -> int:
    """The highest rate whose minute (rate + burst) stays within ``limit``."""
    rate = max(1, limit * 5 // 6)
    while rate > 1 and rate + burst_for(rate) > limit:
        rate -= 1
    return rate


class Store(Protocol):
    def take(self, scope: str, now: float, rate: float, burst: float, floor: float) -> float:
        """Atomically refill ``scope`` to ``now`` and take one token if that leaves at
        least ``floor``; returns -1 when taken, else the tokens there are."""


# --- Redis ----------------------------------------------------------------------------------

TAKE_LUA = """
local now, rate, burst, floor = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
if now > at then
  tokens = math.min(burst, tokens + (now - at) * rate)
  at = now
end
local taken = tokens - 1 >= floor
if taken then tokens = tokens - 1 end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(at))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[5]))
if taken then return '-1' end
return tostring(tokens)
"""


class RedisStore:
    """Buckets as Redis hashes, taken by one script (atomic across every process)."""

    def __init__(self, redis: Any) -> None:
        self.redis = redis
        self.script = redis.register_script(TAKE_LUA)

    def take(self, scope: str, now: float, rate: float, burst: float, floor: float) -> float:
        answer = self.script(
            keys=[REDIS_PREFIX + scope], args=[repr(now), repr(rate), burst, floor, KEY_TTL]
        )
        return float(answer)


# --- the database ----------------------------------------------------------------------------


class DatabaseStore:
    """Buckets as rows of ``table`` (columns ``scope`` (primary key), ``tokens``,
    ``updated_at``: epoch seconds), owned by the panel plugin that uses the kit.

    Each take is one conditional UPDATE ... RETURNING on its own connection, committed at
    once: it never touches the caller's session, whose transaction may be open."""

    def __init__(self, engine: Any, table: Table) -> None:
        self.engine, self.table = engine, table

    def take(self, scope: str, now: float, rate: float, burst: float, floor: float) -> float:
        t = self.table
        elapsed = case((t.c.updated_at < now, now - t.c.updated_at), else_=0.0)
        grown = t.c.tokens + elapsed * rate
        refilled = case((grown > burst, burst), else_=grown)
        with self.engine.begin() as conn:
            taken = conn.execute(
                update(t)
                .where(t.c.scope == scope, refilled - 1 >= floor)
                .values(
                    tokens=refilled - 1,
                    updated_at=case((t.c.updated_at < now, now), else_=t.c.updated_at),
                )
                .returning(t.c.tokens)
            ).first()
            if taken is not None:
                return -1.0
            row = conn.execute(select(t.c.tokens, t.c.updated_at).where(t.c.scope == scope)).first()
        if row is None:
            try:
                with self.engine.begin() as conn:
                    conn.execute(insert(t).values(scope=scope, tokens=burst, updated_at=now))
            except IntegrityError:
                pass  # another process made it first
            return self.take(scope, now, rate, burst, floor)
        return min(burst, row.tokens + max(0.0, now - row.updated_at) * rate)


class MemoryStore:
    """Buckets in this process only (tests, and a site whose store is down)."""

    def __init__(self) -> None:
        self.buckets: dict[str, tuple[float, float]] = {}

    def take(self, scope: str, now: float, rate: float, burst: float, floor: float) -> float:
        tokens, at = self.buckets.get(scope, (burst, now))
        if now > at:
            tokens, at = min(burst, tokens + (now - at) * rate), now
        if tokens - 1 >= floor:
            self.buckets[scope] = (tokens - 1, at)
            return -1.0
        self.buckets[scope] = (tokens, at)
        return tokens


class SiteStore:
    """The site's store, chosen at each take: Redis when the app has one
    (:func:`kernel.shared_redis`), else ``table`` in the app's database. Resolved per call
    because a client outlives an app build (plugins enabled, tests).

    On SQLite the buckets live in a file of their own beside the database
    (``<database>-panel-budget``): SQLite has one writer per file, and pteroca's sessions
    hold it for their whole transaction (BEGIN IMMEDIATE), so a token taken on the main
    file from inside a caller's transaction would wait for that very transaction."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self._redis: dict[int, RedisStore] = {}
        self._side: dict[str, DatabaseStore] = {}
        self.local = MemoryStore()  # outside an app, or an in-memory database: this process

    def _database(self, engine: Any) -> Store:
        if engine.dialect.name != "sqlite":
            return DatabaseStore(engine, self.table)
        path = engine.url.database or ""
        if not path or path == ":memory:" or path.startswith("file:"):
            return self.local
        store = self._side.get(path)
        if store is None:
            from sqlalchemy import create_engine

            side = create_engine(f"sqlite:///{path}-panel-budget")
            self.table.create(side, checkfirst=True)
            store = self._side[path] = DatabaseStore(side, self.table)
        return store

    def take(self, scope: str, now: float, rate: float, burst: float, floor: float) -> float:
        from flask import has_app_context

        from kernel import db, shared_redis

        if not has_app_context():
            return self.local.take(scope, now, rate, burst, floor)
        redis = shared_redis()
        if redis is None:
            return self._database(db.engine).take(scope, now, rate, burst, floor)
        store = self._redis.get(id(redis))
        if store is None:
            store = self._redis[id(redis)] = RedisStore(redis)
        return store.take(scope, now, rate, burst, floor)


# --- the budget ------------------------------------------------------------------------------


@dataclass
class Budget:
    """One panel API's allowance: ``take(interactive=...)`` before each request."""

    store: Store
    scope: str  # panel URL + API (+ key owner), the bucket's name
    per_minute: int
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep

    @property
    def burst(self) -> int:
        return burst_for(self.per_minute)

    @property
    def reserve(self) -> float:
        return math.floor(self.burst * RESERVE_SHARE)

    def take(self, *, interactive: bool, method: str = "GET", path: str = "") -> None:
        """Wait for a token: background as long as it takes, interactive at most
        INTERACTIVE_WAIT seconds, then errors.RateLimited (nothing was sent)."""
        rate = self.per_minute / 60.0
        floor = 0.0 if interactive else float(self.reserve)
        waited = 0.0
        while True:
            try:
                tokens = self.store.take(self.scope, self.clock(), rate, self.burst, floor)
            except (SQLAlchemyError, OSError, ConnectionError) as exc:
                log.warning("panel budget store failed (%s): sending unmetered", exc)
                return
            except Exception as exc:  # noqa: BLE001 - redis errors are not importable here
                if type(exc).__module__.startswith("redis"):
                    log.warning("panel budget store failed (%s): sending unmetered", exc)
                    return
                raise
            if tokens < 0:
                return
            wait = max((floor + 1 - tokens) / rate, 0.001)
            if interactive and waited + wait > INTERACTIVE_WAIT:
                raise busy(method, path, waited + wait)
            self.sleep(wait)
            waited += wait


def busy(method: str, path: str, seconds: float) -> errors.RateLimited:
    entry = errors.ErrorEntry(
        "TooManyRequestsHttpException", 429, "not sent: pteroca's panel request budget is spent"
    )
    return errors.RateLimited(
        status=429, method=method, path=path, retry_after=math.ceil(seconds), entries=[entry]
    )


class VirtualClock:
    """A clock that only ``sleep`` moves (tests and the bench): pacing costs no wall time,
    yet a rate limiter on the same clock (the simulator's) sees exactly the paced times."""

    def __init__(self, start: float | None = None) -> None:
        self.now = time.time() if start is None else float(start)
        self.slept = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        seconds = max(0.0, float(seconds))
        self.now += seconds
        self.slept += seconds
