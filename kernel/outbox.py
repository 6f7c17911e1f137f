"""The transactional outbox: a job is written in the same transaction as the change it carries out.

A purchase that commits the charge and then enqueues provisioning can die between the two and
leave a paid service nobody provisions. Here the job is a row of ``outbox``, inserted by the
caller's own transaction next to the charge (or the state change, its audit row and its email
intent): either all of it commits or none of it does. Afterwards the row is *dispatched*:
handed to the rq queue, or run inline when there is no Redis. A process that dies after the
commit leaves the row pending, and the dispatcher (every scheduler pass, every worker's
maintenance and the ``kernel.outbox`` cron task) hands it over later::

    from kernel import outbox

    service.state = "suspended"                     # the change...
    audit.record("store.suspended", ..., commit=False)
    outbox.add(converge, service.id)                # ...and the job that carries it out
    outbox.commit()                                 # one transaction, then dispatch at once

``add`` takes a module-level job function (or its import path) and plain arguments, like
:func:`kernel.jobs.enqueue`; ``delay`` holds a row back. ``commit`` commits the session and
dispatches the rows this transaction added; ``dispatch_committed`` does the second half for a
caller that committed itself.

The writer hands its own rows over without claiming them when it can (:func:`_still_ours`:
rq is the queue and the rows are fresh, so no dispatcher looks at them yet): one statement
fewer on every purchase. Otherwise it claims them, like every other dispatcher.

Delivery is *at least once*: a crash between handing a row to the queue and marking it
dispatched hands it over again, so outbox jobs are idempotent (they check state before acting,
or carry a key they record). A row whose inline run raises is tried again with backoff
(:data:`BACKOFF`) and marked ``failed`` after :data:`MAX_ATTEMPTS`; on rq the job's own retries
apply once it is queued. Dispatched rows are deleted after :data:`KEEP`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import (
    JSON,
    DateTime,
    Index,
    Integer,
    String,
    Text,
    case,
    delete,
    event,
    func,
    inspect,
    or_,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from kernel import clock, jobs
from kernel.extensions import commit_keeping, db

SESSION_KEY = "pteroca_outbox"  # session.info: rows added by the current transaction
COMMITTED_KEY = "pteroca_outbox_committed"  # ...and by committed ones, not dispatched yet
CLAIM_SECONDS = 120  # a dispatcher holds a row this long (an inline job may call the panel)
GRACE_SECONDS = 5  # the dispatcher leaves younger rows to the process that wrote them
MAX_ATTEMPTS = 8
BACKOFF = (10, 30, 60, 120, 300, 600, 1800)  # seconds before inline try 2, 3, ...
KEEP = timedelta(days=7)
BATCH = 200


class OutboxMessage(db.Model):
    """One job to hand to the queue: written with the change, dispatched after the commit."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "available_at", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=clock.now)
    job: Mapped[str] = mapped_column(String(255))  # import path of the job function
    args: Mapped[list] = mapped_column(JSON, default=list)
    kwargs: Mapped[dict] = mapped_column(JSON, default=dict)
    queue: Mapped[str] = mapped_column(String(32), default="")  # "" = the function's queue
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|dispatched|failed
    available_at: Mapped[datetime] = mapped_column(DateTime, default=clock.now)
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    dispatched_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")


def add(
    job: Callable | str, *args: Any, delay: float = 0, queue: str | None = None, **kwargs: Any
) -> OutboxMessage:
    """Add a job to the caller's transaction (nothing is committed or sent here).

    ``job``: a module-level function or its import path; arguments must be plain values.
    ``delay``: seconds before the row may be dispatched. ``queue`` overrides the function's.
    """
    path = job if isinstance(job, str) else jobs.import_path(job)
    jobs.check_plain(args, "arguments")
    jobs.check_plain(kwargs.values(), "keyword arguments")
    if queue is not None and queue not in jobs.QUEUES:
        raise ValueError(f"unknown job queue {queue!r} (queues: {', '.join(jobs.QUEUES)})")
    now = clock.now()
    row = OutboxMessage(
        job=path,
        args=list(args),
        kwargs=dict(kwargs),
        queue=queue or "",
        status="pending",
        created_at=now,
        attempts=0,
        last_error="",
        available_at=now + timedelta(seconds=max(0.0, float(delay))),
    )
    db.session.add(row)
    db.session.info.setdefault(SESSION_KEY, []).append(row)
    return row


def commit() -> int:
    """Commit the session, then dispatch the rows its transaction added; returns how many."""
    db.session.commit()
    return dispatch_committed()


def dispatch_committed() -> int:
    """Dispatch the rows this session's committed transactions added; returns how many."""
    rows = db.session.info.pop(COMMITTED_KEY, [])
    ids = [inspect(row).identity[0] for row in rows if inspect(row).identity]
    if not ids:
        return 0
    own = _still_ours(rows) if jobs.uses_rq() else None
    return len(_hand_over(own)) if own else dispatch(ids)


_READ = {"job", "args", "kwargs", "queue", "attempts", "available_at", "created_at"}


def _still_ours(rows: list[OutboxMessage]) -> list[tuple] | None:
    """The rows as claimed rows, when the writer may hand them to rq without claiming them:
    every one is due, never tried, still loaded (the commit kept them) and younger than half
    the grace during which :func:`dispatch_due` leaves a writer's rows alone. Else None."""
    now = clock.now()
    out = []
    for row in rows:
        state = inspect(row)
        if state.expired or state.unloaded & _READ or not state.identity:
            return None
        if row.attempts or row.available_at > now:
            return None
        if (now - row.created_at).total_seconds() >= GRACE_SECONDS / 2:
            return None
        out.append((row.id, row.job, row.args, row.kwargs, row.queue, 0))
    return out


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    """Rows added by a transaction become dispatchable once it commits."""
    added = session.info.pop(SESSION_KEY, None)
    if added:
        session.info.setdefault(COMMITTED_KEY, []).extend(added)


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    """Rows of a rolled-back transaction were never written: forget them."""
    session.info.pop(SESSION_KEY, None)


# --- the dispatcher ------------------------------------------------------------------------


@dataclass
class DispatchReport:
    dispatched: list[int] = field(default_factory=list)
    retrying: dict[int, str] = field(default_factory=dict)  # id -> error (inline run failed)
    failed: dict[int, str] = field(default_factory=dict)  # gave up after MAX_ATTEMPTS

    def __len__(self) -> int:
        return len(self.dispatched)


def _claimable(now: datetime):
    return (OutboxMessage.status == "pending") & or_(
        OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now
    )


def _claim(ids: list[int], now: datetime) -> list[tuple]:
    """Take due rows for this process (a guarded UPDATE: only one dispatcher wins each row);
    the won rows' ``(id, job, args, kwargs, queue, attempts)``, oldest first, in the same
    statement."""
    condition = _claimable(now) & OutboxMessage.id.in_(ids) & (OutboxMessage.available_at <= now)
    won = db.session.execute(
        update(OutboxMessage)
        .where(condition)
        .values(
            claimed_until=now + timedelta(seconds=CLAIM_SECONDS),
            attempts=OutboxMessage.attempts + 1,
        )
        .returning(
            OutboxMessage.id,
            OutboxMessage.job,
            OutboxMessage.args,
            OutboxMessage.kwargs,
            OutboxMessage.queue,
            OutboxMessage.attempts,
        )
        .execution_options(synchronize_session=False)
    ).all()
    # Bookkeeping of outbox rows only: what the session holds stays loaded (a purchase's
    # service is read again after its jobs are handed over). An inline job still starts
    # from fresh rows: _dispatch_one expires everything before running one.
    commit_keeping()
    return sorted(tuple(row) for row in won)


def dispatch(ids: list[int]) -> int:
    """Claim and dispatch the rows ``ids`` that are due (a ``delay``-ed row waits for the
    dispatcher); returns how many were handed over."""
    return len(_dispatch(ids))


def _dispatch(ids: list[int]) -> DispatchReport:
    claimed = _claim(ids, clock.now())
    return _hand_over(claimed) if claimed else DispatchReport()


def _hand_over(claimed: list[tuple]) -> DispatchReport:
    """Enqueue (or run inline) the rows ``(id, job, args, kwargs, queue, attempts)``; an
    ``attempts`` of 0 is a row the writer hands over unclaimed (:func:`_still_ours`)."""
    report = DispatchReport()
    handed: list[int] = []
    for row_id, path, args, kwargs, queue, attempts in claimed:
        _dispatch_one(row_id, path, list(args or []), dict(kwargs or {}), queue, attempts, report)
        if row_id in report.dispatched:
            handed.append(row_id)
    if handed:  # one UPDATE for the batch; a crash before it hands them over again (at least once)
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(handed), OutboxMessage.status == "pending")
            .values(
                status="dispatched",
                dispatched_at=clock.now(),
                claimed_until=None,
                last_error="",
                # a row its writer handed over unclaimed counts its one try here
                attempts=case((OutboxMessage.attempts == 0, 1), else_=OutboxMessage.attempts),
            )
            .execution_options(synchronize_session=False)
        )
        commit_keeping()
    return report


def _dispatch_one(
    row_id: int,
    path: str,
    args: list,
    kwargs: dict,
    queue: str,
    attempts: int,
    report: DispatchReport,
) -> None:
    inline = not jobs.uses_rq()
    if inline:
        db.session.expire_all()  # the job reads current rows, not what this session held
    try:
        fn = jobs.resolve(path)
        jobs.enqueue(fn, *args, queue=queue or None, _job_id=f"outbox-{row_id}", **kwargs)
    except Exception as exc:  # noqa: BLE001 - an inline job failed, or its plugin is gone
        db.session.rollback()
        _failed_try(row_id, path, max(attempts, 1), exc, report, claimed=attempts > 0)
        return
    db.session.rollback()  # whatever an inline job left open (its own work is committed)
    report.dispatched.append(row_id)


def _failed_try(
    row_id: int,
    path: str,
    attempts: int,
    exc: Exception,
    report: DispatchReport,
    *,
    claimed: bool = True,
) -> None:
    """Count a failed try (the claim counted it, unless the writer handed the row over
    unclaimed) and schedule the next one, or give up."""
    error = f"{type(exc).__name__}: {exc}"[:2000]
    if attempts >= MAX_ATTEMPTS:
        values = {"status": "failed", "claimed_until": None, "last_error": error}
        report.failed[row_id] = error
        current_app.logger.error(
            "outbox job %s (%s) failed %s times, given up: %s", row_id, path, attempts, error
        )
    else:
        wait = BACKOFF[min(attempts - 1, len(BACKOFF) - 1)]
        values = {
            "claimed_until": None,
            "last_error": error,
            "available_at": clock.now() + timedelta(seconds=wait),
        }
        report.retrying[row_id] = error
        current_app.logger.warning(
            "outbox job %s (%s) failed (try %s), again in %s s: %s",
            row_id,
            path,
            attempts,
            wait,
            error,
        )
    if not claimed:
        values["attempts"] = OutboxMessage.attempts + 1
    db.session.execute(update(OutboxMessage).where(OutboxMessage.id == row_id).values(**values))
    db.session.commit()


def dispatch_due(limit: int = BATCH, grace: float = GRACE_SECONDS) -> DispatchReport:
    """Dispatch pending rows that are due and older than ``grace`` seconds (younger ones are
    left to the process that wrote them), oldest first."""
    now = clock.now()
    ids = db.session.scalars(
        db.select(OutboxMessage.id)
        .where(
            _claimable(now),
            OutboxMessage.available_at <= now,
            or_(
                OutboxMessage.created_at <= now - timedelta(seconds=grace),
                OutboxMessage.attempts > 0,
            ),
        )
        .order_by(OutboxMessage.id)
        .limit(limit)
    ).all()
    db.session.commit()
    return _dispatch(list(ids)) if ids else DispatchReport()


def run_dispatcher() -> dict:
    """Cron task ``kernel.outbox``: dispatch what is due, forget rows dispatched long ago."""
    report = DispatchReport()
    while True:
        batch = dispatch_due()
        report.dispatched += batch.dispatched
        report.retrying.update(batch.retrying)
        report.failed.update(batch.failed)
        if len(batch.dispatched) + len(batch.retrying) + len(batch.failed) < BATCH:
            break
    db.session.execute(
        delete(OutboxMessage).where(
            OutboxMessage.status == "dispatched", OutboxMessage.dispatched_at < clock.now() - KEEP
        )
    )
    db.session.commit()
    return {
        "dispatched": len(report.dispatched),
        "retrying": len(report.retrying),
        "failed": len(report.failed),
    }


def backlog() -> dict[str, Any]:
    """Pending and failed counts and the age of the oldest pending row (``/-/health``)."""
    counts = dict(
        db.session.execute(
            db.select(OutboxMessage.status, func.count())
            .where(OutboxMessage.status != "dispatched")
            .group_by(OutboxMessage.status)
        ).all()
    )
    oldest = db.session.scalar(
        db.select(func.min(OutboxMessage.created_at)).where(OutboxMessage.status == "pending")
    )
    age = (clock.now() - oldest).total_seconds() if oldest else 0.0
    return {
        "pending": int(counts.get("pending", 0)),
        "failed": int(counts.get("failed", 0)),
        "oldest_pending_seconds": round(max(age, 0.0), 1),
    }
