"""Cron tasks: the registry from ``register_cron_tasks`` and a runner with one run per slot.

A *slot* is the scheduled minute a run belongs to. A row per (task, slot) in
``cron_run`` is the lease: inserting it is how a runner claims the slot, so a
task runs once per slot however many runners race for it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from croniter import croniter
from flask import current_app
from sqlalchemy import DateTime, Integer, String, Text, UniqueConstraint
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from kernel.extensions import db
from kernel.models import utcnow


@dataclass(frozen=True)
class CronTask:
    name: str
    schedule: str  # 5-field cron expression, UTC
    func: Callable[[], object]
    description: str = ""

    def __post_init__(self):
        if not croniter.is_valid(self.schedule) or len(self.schedule.split()) != 5:
            raise ValueError(f"cron task {self.name!r}: {self.schedule!r} is not a 5-field cron expression")

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
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="running")  # running|ok|failed
    error: Mapped[str] = mapped_column(Text, default="")


def registered_tasks() -> dict[str, CronTask]:
    tasks: dict[str, CronTask] = {}
    for result in current_app.extensions["pteroca"].pm.hook.register_cron_tasks():
        for task in result or []:
            tasks[task.name] = task
    return tasks


def last_run(name: str) -> CronRun | None:
    return db.session.scalar(db.select(CronRun).where(CronRun.task == name)
                             .order_by(CronRun.slot.desc()).limit(1))


def claim(task: CronTask, slot: datetime) -> CronRun | None:
    """Insert the (task, slot) lease; None when another runner already has it."""
    run = CronRun(task=task.name, slot=slot)
    db.session.add(run)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return None
    return run


def run_task(task: CronTask, run: CronRun) -> CronRun:
    try:
        task.func()
    except Exception as exc:  # noqa: BLE001 - one failing task must not stop the others
        db.session.rollback()
        run.status, run.error = "failed", f"{type(exc).__name__}: {exc}"
        current_app.logger.exception("cron task %s failed", task.name)
    else:
        run.status = "ok"
    run.finished_at = utcnow()
    db.session.commit()
    return run


def run_due(now: datetime | None = None, only: str | None = None, force: bool = False) -> list[CronRun]:
    """Run every task whose current slot has not run yet (or ``only`` one task, ``force`` to ignore the schedule)."""
    now = now or utcnow()
    tasks = registered_tasks()
    if only is not None:
        if only not in tasks:
            raise KeyError(f"no cron task named {only!r} (tasks: {', '.join(sorted(tasks)) or 'none'})")
        tasks = {only: tasks[only]}
    done = []
    for task in tasks.values():
        slot = now.replace(microsecond=0) if force else task.slot(now)
        run = claim(task, slot)
        if run is not None:
            done.append(run_task(task, run))
    return done
