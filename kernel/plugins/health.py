"""Plugin health: failures counted per plugin and hook, and the fault of a plugin that keeps failing.

The hook caller (:mod:`kernel.hooks`) reports every implementation that raised, and every
success of one that had failed before, to the app's :class:`HealthTracker`. The tracker
keeps them in memory and writes them at the end of the app context (a request, a command, a
job), after the request's own session is gone: a failure often happens in the middle of the
caller's transaction, which must neither be committed by the bookkeeping nor wait for it
(SQLite has one writer).

Per ``(plugin, hook)`` the database holds the total number of failures, the failures in a
row (a success resets them) and the last error. When the failures in a row of any hook reach
the ``plugin_failure_threshold`` site setting (0: never), the plugin is moved to ``faulted``
with the reason and the plugin generation is bumped, so every process of the cluster rebuilds
its app without it within the plugin poll interval. The process that saw the failures stops
calling the plugin at once. Failures in a row are counted cluster-wide: a success resets the
count when the process that succeeded knew of the failures (its own, or read back when it
wrote one), so failures spread over several processes can fault a little earlier than strictly
"in a row", never later.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime

from flask import Flask
from sqlalchemy import DateTime, Integer, String, Text, and_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from kernel import clock
from kernel.extensions import db
from kernel.plugins.host import HOST_KEY

TRACKER_KEY = "pteroca_health"
THRESHOLD_SETTING = "plugin_failure_threshold"
DEFAULT_THRESHOLD = 10
MAX_ERROR = 500


class PluginHealth(db.Model):
    """Failures of one plugin's implementation of one hook."""

    __tablename__ = "plugin_health"
    plugin: Mapped[str] = mapped_column(String(64), primary_key=True)
    hook: Mapped[str] = mapped_column(String(128), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    consecutive: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    last_error_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


@dataclass
class _Outcome:
    plugin: str
    hook: str
    error: str | None  # None: a success after failures
    at: datetime


def describe_error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:MAX_ERROR]


class HealthTracker:
    """What one app saw since its last write: outcomes to store, and what is failing."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[_Outcome] = []
        # hook -> {plugin: failures in a row as this process knows them}; read on every call
        # to know whether a success must be reported, so it holds failing plugins only.
        self.failing: dict[str, dict[str, int]] = {}
        self.threshold = DEFAULT_THRESHOLD

    def failed(self, app: Flask, plugin: str, hook: str, exc: BaseException) -> None:
        with self._lock:
            self._pending.append(_Outcome(plugin, hook, describe_error(exc), clock.now()))
            streak = self.failing.setdefault(hook, {})
            streak[plugin] = streak.get(plugin, 0) + 1
            reached = 0 < self.threshold <= streak[plugin]
        if reached:
            stop_calling(app, plugin, fault_reason(hook, streak[plugin], describe_error(exc)))

    def succeeded(self, plugin: str, hook: str) -> None:
        with self._lock:
            streak = self.failing.get(hook)
            if streak is None or streak.pop(plugin, None) is None:
                return
            if not streak:
                del self.failing[hook]
            self._pending.append(_Outcome(plugin, hook, None, clock.now()))

    def take(self) -> list[_Outcome]:
        with self._lock:
            pending, self._pending = self._pending, []
            return pending

    def known(self, plugin: str, hook: str, consecutive: int) -> None:
        """Record what the database says after a write (failures from other processes)."""
        with self._lock:
            if consecutive > 0:
                self.failing.setdefault(hook, {})[plugin] = consecutive
            elif hook in self.failing:
                self.failing[hook].pop(plugin, None)
                if not self.failing[hook]:
                    del self.failing[hook]


def tracker(app: Flask) -> HealthTracker:
    found = app.extensions.get(TRACKER_KEY)
    if found is None:
        found = app.extensions.setdefault(TRACKER_KEY, HealthTracker())
    return found


def fault_reason(hook: str, count: int, error: str) -> str:
    return f"faulted after {count} failures in a row of {hook}; last: {error}"


def stop_calling(app: Flask, plugin: str, reason: str) -> None:
    """Take ``plugin`` out of this app's plugin manager now (its fault is stored at the end of
    the app context). Only loaded plugins: objects a test registered are counted, never
    unregistered."""
    host = app.extensions.get(HOST_KEY)
    if host is None or plugin not in host.loaded:
        return
    obj = host.loaded.pop(plugin)
    if host.pm.is_registered(obj):
        host.pm.unregister(obj)
    host.problems[plugin] = reason
    app.logger.error("plugin %s %s", plugin, reason)


def init_app(app: Flask) -> None:
    """Give ``app`` its tracker (threshold read now and at every write) and the write at the
    end of each app context. Call inside an app context."""
    state = tracker(app)
    from kernel import site_settings

    try:
        state.threshold = max(0, int(site_settings.get(THRESHOLD_SETTING)))
    except Exception:  # noqa: BLE001 - no database yet (pteroca init): the default holds
        db.session.rollback()

    @app.teardown_appcontext
    def _store_health(_exc):
        if app.extensions[TRACKER_KEY]._pending:
            flush(app)


def flush(app: Flask) -> None:
    """Write what the tracker saw; fault plugins at the threshold. Call with no open session
    transaction of this thread (the end of an app context): it commits its own."""
    state = tracker(app)
    outcomes = state.take()
    if not outcomes:
        return
    db.session.remove()  # the caller's session is over: never commit its leftovers here
    try:
        with db.engine.begin() as conn:
            state.threshold = _threshold(conn)
            faults = _store(conn, state, outcomes)
            for plugin, reason in faults:
                _fault(conn, plugin, reason)
    except Exception:  # noqa: BLE001 - bookkeeping must never break what already happened
        app.logger.exception("plugin health could not be stored")
        return
    if faults:
        from kernel.generation import mark_local_change

        mark_local_change()
        for plugin, reason in faults:
            stop_calling(app, plugin, reason)


def _threshold(conn) -> int:
    from kernel.site_settings import SiteSetting

    raw = conn.scalar(select(SiteSetting.value).where(SiteSetting.key == THRESHOLD_SETTING))
    try:
        return max(0, int(raw)) if raw not in (None, "") else DEFAULT_THRESHOLD
    except ValueError:
        return DEFAULT_THRESHOLD


def _store(conn, state: HealthTracker, outcomes: list[_Outcome]) -> list[tuple[str, str]]:
    """Upsert one row per (plugin, hook); return the plugins whose count reached the threshold."""
    grouped: dict[tuple[str, str], list[_Outcome]] = {}
    for outcome in outcomes:
        grouped.setdefault((outcome.plugin, outcome.hook), []).append(outcome)
    table = PluginHealth.__table__
    faults: list[tuple[str, str]] = []
    for (plugin, hook), seen in grouped.items():
        errors = [o for o in seen if o.error is not None]
        reset = any(o.error is None for o in seen)
        tail = 0
        for outcome in seen:
            tail = 0 if outcome.error is None else tail + 1
        values = {
            "failures": table.c.failures + len(errors),
            "consecutive": tail if reset else table.c.consecutive + tail,
        }
        if errors:
            values.update(last_error=errors[-1].error, last_error_at=errors[-1].at)
        where = and_(table.c.plugin == plugin, table.c.hook == hook)
        if conn.execute(update(table).where(where).values(**values)).rowcount == 0:
            try:
                with conn.begin_nested():
                    conn.execute(
                        table.insert().values(
                            plugin=plugin,
                            hook=hook,
                            failures=len(errors),
                            consecutive=tail,
                            last_error=errors[-1].error if errors else "",
                            last_error_at=errors[-1].at if errors else None,
                        )
                    )
            except IntegrityError:  # another process inserted it first
                conn.execute(update(table).where(where).values(**values))
        consecutive = conn.scalar(select(table.c.consecutive).where(where)) or 0
        state.known(plugin, hook, consecutive)
        if errors and 0 < state.threshold <= consecutive:
            faults.append((plugin, fault_reason(hook, consecutive, errors[-1].error)))
    return faults


def _fault(conn, plugin: str, reason: str) -> None:
    """Move an enabled plugin to faulted and bump the generation (once, whoever gets there)."""
    from kernel.generation import GENERATION_KEY
    from kernel.models import AuditLog, KernelState
    from kernel.plugins.models import PluginRecord
    from kernel.plugins.states import State

    records = PluginRecord.__table__
    moved = conn.execute(
        update(records)
        .where(records.c.name == plugin, records.c.state == State.ENABLED.value)
        .values(state=State.FAULTED.value, reason=reason[:2000], updated_at=clock.now())
    )
    if moved.rowcount != 1:
        return  # not enabled (a test plugin), or another process faulted it already
    state = KernelState.__table__
    conn.execute(update(state).where(state.c.key == GENERATION_KEY).values(value=state.c.value + 1))
    conn.execute(
        AuditLog.__table__.insert().values(
            actor="system",
            action="plugin.faulted",
            target=plugin,
            details={"reason": reason[:500]},
            ip="",
            created_at=clock.now(),
        )
    )


def reset(plugin: str) -> None:
    """Forget a plugin's failures in a row (it was enabled again); the totals stay."""
    db.session.execute(
        update(PluginHealth).where(PluginHealth.plugin == plugin).values(consecutive=0)
    )


def summary(plugin: str) -> dict:
    """``{"count", "in_a_row", "last_hook", "last_error", "last_error_at"}``: a plugin's hook
    errors, for listings (``plugin list``, the admin's Plugins page)."""
    rows = list(db.session.scalars(select(PluginHealth).where(PluginHealth.plugin == plugin)))
    failed = [r for r in rows if r.failures]
    latest = max(failed, key=lambda r: r.last_error_at or datetime.min, default=None)
    return {
        "count": sum(r.failures for r in rows),
        "in_a_row": max((r.consecutive for r in rows), default=0),
        "last_hook": latest.hook if latest else "",
        "last_error": latest.last_error if latest else "",
        "last_error_at": latest.last_error_at.isoformat(timespec="seconds")
        if latest and latest.last_error_at
        else "",
    }
