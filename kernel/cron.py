"""Cron tasks: the registry from ``register_cron_tasks`` and a runner with one run per slot.

A *slot* is the scheduled minute a run belongs to. A row per (task, slot) in
``cron_run`` is the lease: inserting it is how a runner claims the slot, so a
task runs once per slot however many runners (``pteroca scheduler`` processes on
any number of machines, or ``pteroca cron run`` from several crontabs) race for it.

The lease has an expiry (``lease_until``) that the runner pushes forward from a
heartbeat thread while the task runs (every third of ``PTEROCA_CRON_LEASE_SECONDS``).
If the runner dies mid-run (killed, machine lost), the lease expires and the next
runner to look takes the slot over and runs it again, once: the takeover is a
guarded update only one runner can win. Finished slots (``ok`` or ``failed``) are
never run again. A slot whose lease expired :data:`MAX_ATTEMPTS` times is marked
failed instead of being retried forever.

Leases compare machine clocks: keep them synchronised (NTP); a skew close to the
lease length could let a slot start twice.
"""

from __future__ import annotations

import contextvars
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from croniter import croniter
from flask import current_app
from sqlalchemy import DateTime, Integer, String, Text, UniqueConstraint, delete, func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from kernel import clock
from kernel.extensions import db
from kernel.hooks import collect

MAX_ATTEMPTS = 3
DEFAULT_LEASE_SECONDS = 60.0
HEARTBEAT_KEEP = timedelta(days=7)  # scheduler heartbeat rows older than this are deleted


@dataclass(frozen=True)
class CronTask:
    name: str
    schedule: str  # 5-field cron expression, UTC
    func: Callable[[], object]
    description: str = ""

    def __post_init__(self):
        if not croniter.is_valid(self.schedule) or len(self.schedule.split()) != 5:
            raise ValueError(
                f"cron task {self.name!r}: {self.schedule!r} is not a 5-field cron expression"
            )

    def slot(self, now: datetime) -> datetime:
        """The latest scheduled minute at or before ``now``."""
        base = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
        return croniter(self.schedule, base).get_prev(datetime)

    def next_run(self, now: datetime) -> datetime:
        return croniter(self.schedule, now).get_next(datetime)


class CronRun(db.Model):
    __tablename__ = "cron_run"
    __table_args__ = (UniqueConstraint("task", "slot"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task: Mapped[str] = mapped_column(String(128), index=True)
    slot: Mapped[datetime] = mapped_column(DateTime)
    started_at: Mapped[datetime] = mapped_column(DateTime, default=clock.now)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="running")  # running|ok|failed
    error: Mapped[str] = mapped_column(Text, default="")
    # Who holds the slot ("host:pid") and until when, unless its heartbeat renews it.
    owner: Mapped[str] = mapped_column(String(128), default="")
    lease_until: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=1)


class SchedulerHeartbeat(db.Model):
    """One row per scheduler process, touched every loop and while tasks run (``/-/health``)."""

    __tablename__ = "scheduler_heartbeat"
    node: Mapped[str] = mapped_column(String(128), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime, default=clock.now)
    seen_at: Mapped[datetime] = mapped_column(DateTime, default=clock.now, index=True)


def node_name() -> str:
    """This process, as it appears in ``cron_run.owner``: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"[:128]


def lease_seconds() -> float:
    return float(current_app.config.get("CRON_LEASE_SECONDS") or DEFAULT_LEASE_SECONDS)


def registered_tasks() -> dict[str, CronTask]:
    tasks: dict[str, CronTask] = {}
    for task in collect("register_cron_tasks", CronTask):
        tasks[task.name] = task
    return tasks


def last_run(name: str) -> CronRun | None:
    return db.session.scalar(
        db.select(CronRun).where(CronRun.task == name).order_by(CronRun.slot.desc()).limit(1)
    )


# --- which run is this? -----------------------------------------------------------

_current: contextvars.ContextVar[tuple[str, datetime] | None] = contextvars.ContextVar(
    "pteroca_cron_run", default=None
)


def current_run() -> tuple[str, datetime] | None:
    """``(task name, slot)`` while a cron task runs (an idempotency key for its work), else None."""
    return _current.get()


# --- leases ----------------------------------------------------------------------


def claim(task: CronTask, slot: datetime, owner: str | None = None) -> CronRun | None:
    """Insert the (task, slot) lease; None when another runner already has it."""
    started = clock.now()
    run = CronRun(
        task=task.name,
        slot=slot,
        started_at=started,
        owner=owner or node_name(),
        lease_until=started + timedelta(seconds=lease_seconds()),
        attempts=1,
    )
    db.session.add(run)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return None
    return run


def _expired(now: datetime):
    return (CronRun.status == "running") & or_(
        CronRun.lease_until.is_(None), CronRun.lease_until < now
    )


def expired_runs(tasks: set[str] | None = None) -> list[CronRun]:
    """Runs still marked running whose lease ran out: their runner died."""
    query = db.select(CronRun).where(_expired(clock.now())).order_by(CronRun.slot)
    if tasks is not None:
        query = query.where(CronRun.task.in_(sorted(tasks)))
    return list(db.session.scalars(query))


def take_over(run: CronRun, owner: str | None = None) -> CronRun | None:
    """Claim an expired run for this runner; None when another runner was faster (or it gave up)."""
    now = clock.now()
    owner = owner or node_name()
    if run.attempts >= MAX_ATTEMPTS:
        db.session.execute(
            update(CronRun)
            .where(CronRun.id == run.id, _expired(now))
            .values(
                status="failed",
                finished_at=now,
                lease_until=None,
                error=f"lease expired {run.attempts} times (the runner was killed or hung each "
                "time); not retried again",
            )
        )
        db.session.commit()
        return None
    won = db.session.execute(
        update(CronRun)
        .where(CronRun.id == run.id, CronRun.attempts == run.attempts, _expired(now))
        .values(
            owner=owner,
            started_at=now,
            attempts=run.attempts + 1,
            lease_until=now + timedelta(seconds=lease_seconds()),
        )
    ).rowcount
    db.session.commit()
    if won != 1:
        return None
    db.session.refresh(run)
    current_app.logger.warning(
        "cron task %s, slot %s: lease expired, taken over (attempt %s)",
        run.task,
        run.slot,
        run.attempts,
    )
    return run


class LeaseKeeper:
    """A thread renewing one run's lease (and this scheduler's heartbeat) while the task runs."""

    def __init__(self, run_id: int, owner: str, lease: float, node: str | None = None):
        self.engine = db.engine
        self.run_id, self.owner, self.lease, self.node = run_id, owner, lease, node
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"cron-lease-{run_id}", daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        # A renewal may be waiting for a lock the task's own transaction holds (SQLite): do not
        # wait for it; once the run is finished its renewal changes nothing (status guard).
        self._thread.join(timeout=1)

    def renew(self) -> bool:
        now = clock.now()
        table = CronRun.__table__
        with self.engine.begin() as conn:
            kept = conn.execute(
                table.update()
                .where(
                    table.c.id == self.run_id,
                    table.c.owner == self.owner,
                    table.c.status == "running",
                )
                .values(lease_until=now + timedelta(seconds=self.lease))
            ).rowcount
            if self.node:
                _beat(conn, self.node, now)
        return kept == 1

    def _loop(self) -> None:
        while not self._stop.wait(self.lease / 3):
            try:
                if not self.renew():
                    return  # another runner took the slot over: nothing left to renew
            except Exception:  # noqa: BLE001 - a database blip; the next beat tries again
                pass


def _finish(run: CronRun, owner: str, status: str, error: str = "") -> None:
    kept = db.session.execute(
        update(CronRun)
        .where(CronRun.id == run.id, CronRun.owner == owner, CronRun.status == "running")
        .values(status=status, error=error, finished_at=clock.now(), lease_until=None)
    ).rowcount
    db.session.commit()
    if kept != 1:
        current_app.logger.warning(
            "cron task %s, slot %s finished (%s) after its lease passed to another runner",
            run.task,
            run.slot,
            status,
        )
    db.session.expire(run)


def run_task(task: CronTask, run: CronRun, node: str | None = None) -> CronRun:
    """Run ``task`` for the claimed ``run``, keeping its lease alive, and record the outcome."""
    owner, slot, run_id = run.owner, run.slot, run.id
    # End this read: on SQLite an open transaction holds the write lock the lease keeper needs.
    db.session.commit()
    token = _current.set((task.name, slot))
    try:
        with LeaseKeeper(run_id, owner, lease_seconds(), node):
            task.func()
    except Exception as exc:  # noqa: BLE001 - one failing task must not stop the others
        db.session.rollback()
        current_app.logger.exception("cron task %s failed", task.name)
        _finish(run, owner, "failed", f"{type(exc).__name__}: {exc}")
    else:
        _finish(run, owner, "ok")
    finally:
        _current.reset(token)
    return run


def run_due(
    now: datetime | None = None,
    only: str | None = None,
    force: bool = False,
    owner: str | None = None,
    node: str | None = None,
) -> list[CronRun]:
    """Run every task whose current slot has not run yet (or ``only`` one task, ``force`` to ignore
    the schedule), then re-run slots whose runner died (expired leases)."""
    now = now or clock.now()
    owner = owner or node_name()
    tasks = registered_tasks()
    if only is not None:
        if only not in tasks:
            raise KeyError(
                f"no cron task named {only!r} (tasks: {', '.join(sorted(tasks)) or 'none'})"
            )
        tasks = {only: tasks[only]}
    done = []
    for task in tasks.values():
        slot = now.replace(microsecond=0) if force else task.slot(now)
        run = claim(task, slot, owner)
        if run is not None:
            done.append(run_task(task, run, node))
    if not force:
        for stuck in expired_runs(set(tasks)):
            run = take_over(stuck, owner)
            if run is not None:
                done.append(run_task(tasks[run.task], run, node))
    return done


# --- scheduler heartbeats ----------------------------------------------------------


def _beat(executor, node: str, now: datetime) -> None:
    """``executor``: a session or a connection (the lease keeper's thread has its own)."""
    table = SchedulerHeartbeat.__table__
    # Only this process writes its row, and its loop beats before any lease keeper starts.
    touched = executor.execute(table.update().where(table.c.node == node).values(seen_at=now))
    if touched.rowcount == 0:
        executor.execute(table.insert().values(node=node, started_at=now, seen_at=now))


def beat(node: str) -> None:
    """Record that scheduler ``node`` is alive (and forget schedulers silent for a week)."""
    now = clock.now()
    _beat(db.session, node, now)
    db.session.execute(
        delete(SchedulerHeartbeat).where(SchedulerHeartbeat.seen_at < now - HEARTBEAT_KEEP)
    )
    db.session.commit()


def last_heartbeat() -> datetime | None:
    """When any scheduler last showed signs of life; None if none ever ran."""
    return db.session.scalar(db.select(func.max(SchedulerHeartbeat.seen_at)))
