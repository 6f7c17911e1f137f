"""The reconciler: drives each server's panel toward its desired state until they match.

Lifecycle changes (checkout, renewals, suspensions, deletions, renames, the sweep) only change a
service and call :func:`want` in their own transaction: the desired panel state follows from
the service's state (lifecycle.DESIRED), its sync status becomes ``pending`` and a converge job
goes into the outbox (kernel.outbox) with the change. The job, and the ``store.converge`` cron
task for anything due that no job carries, then for each server:

1. claims it (a lease, so two runners never push the same server at once; a job run again after
   its worker died takes its own claim back);
2. makes one attempt (attempts.py): create it if it was never created, ask the provisioner to
   converge (suspend, unsuspend, delete, resize, rename, give it back to its owner...) and
   follow an installation;
3. records the attempt and its outcome, guarded by the service's sync version: a change made
   meanwhile is not overwritten, the server is converged again at once instead.

Outcomes: ``ok`` (the panel matches); ``waiting`` (an installation runs: asked again shortly);
``failed`` (tried again after :data:`BACKOFF`, at most :data:`MAX_ATTEMPTS` times, then
``stuck`` and staff are alerted); ``human`` (a difference the provisioner does not repair,
e.g. a server deleted in the panel: ``stuck`` and alerted at once). Staff retry or accept
stuck servers (:func:`retry`, :func:`accept`; Admin > Store > Out of sync).

Everything is idempotent: running a job twice, or a job and the cron task together, pushes
the same desired state twice at worst.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import case, func, or_, select, update

from builtin_plugins.store import alerts, attempts, fulfilment
from builtin_plugins.store.attempts import Outcome
from builtin_plugins.store.desired import ACCEPTED, OK, PENDING, STUCK, enqueue, want
from builtin_plugins.store.models import Service, SyncAttempt
from kernel import KeysetPage, db, job, keyset_page_sorted, outbox_commit, record_audit
from kernel import now as utcnow

__all__ = ["accept", "converge", "converge_observed", "retry", "run_due", "want"]

MAX_ATTEMPTS = 8
BACKOFF = (30, 60, 120, 300, 600, 1800, 3600)  # seconds before try 2, 3, ...
LEASE = timedelta(minutes=15)  # a claim; renewed by nothing: a batch must finish within it
BREAKER = 3  # failures in a row after which the rest of a batch waits for the backoff
AGAIN = 4  # conversions of one server in one run (a create, then its install, then...)
BATCH = 500
GRACE_SECONDS = 60  # the cron task leaves a due server this long to the job queued for it


# --- converging -----------------------------------------------------------------------------


def _claim(ids: list[int], token: str, *, every: bool = False) -> dict[int, int]:
    """Take the due, pending servers of ``ids`` (``every``: whatever their status, accepted
    ones excepted): ``{id: sync version}``."""
    now = utcnow()
    wanted = (
        Service.sync_status.in_((OK, PENDING, STUCK))
        if every
        else (Service.sync_status == PENDING)
        & or_(Service.sync_next_at.is_(None), Service.sync_next_at <= now)
    )
    rows = db.session.execute(
        update(Service)
        .where(
            Service.id.in_(ids),
            wanted,
            or_(
                Service.sync_claimed_until.is_(None),
                Service.sync_claimed_until < now,
                Service.sync_claim == token,
            ),
        )
        .values(sync_claimed_until=now + LEASE, sync_claim=token)
        .returning(Service.id, Service.sync_version)
    ).all()
    db.session.commit()
    return dict(sorted((row[0], row[1]) for row in rows))


@job(queue="provisioning", timeout=int(LEASE.total_seconds()))
def converge(service_ids: list[int], token: str = "") -> dict[str, int]:
    """Job: one attempt for each due, pending server of ``service_ids`` (see the module doc)."""
    token = token or secrets.token_hex(8)
    counts = {"ok": 0, "waiting": 0, "failed": 0, "human": 0, "deferred": 0}
    todo = list(service_ids)
    for _round in range(AGAIN):
        claimed = _claim(todo, token)
        if not claimed:
            break
        todo = _round_of(claimed, token, counts)
        if not todo:
            break
    return counts


def converge_observed(observed: dict[int, Any]) -> dict[int, Outcome]:
    """One attempt for each service of ``observed`` (service id -> its server as a listing of
    the panel shows it) whatever its sync status, accepted ones excepted: a provisioner's full
    reconcile runs the reconciler's own code path with it. A server absent from the listing
    (None) is looked up again: it may have been created after the listing was read."""
    token = secrets.token_hex(8)
    claimed = _claim(list(observed), token, every=True)
    results: dict[int, Outcome] = {}
    again, drivers = [], {}
    for service_id, version in claimed.items():
        service = db.session.get(Service, service_id)
        if service is None:
            continue
        seen = observed[service_id]
        results[service_id] = attempts.attempt(
            service, drivers, attempts.NOT_GIVEN if seen is None else seen
        )
        if _record(service_id, version, results[service_id]):
            again.append(service_id)
    if again:
        converge(again, token)
    return results


def _round_of(claimed: dict[int, int], token: str, counts: dict[str, int]) -> list[int]:
    """Attempt each claimed server once; returns those to converge again at once."""
    again, failures, drivers = [], 0, {}
    ids = list(claimed)
    for position, service_id in enumerate(ids):
        if failures >= BREAKER:  # the panel is failing: spare it, try the rest later
            _defer(ids[position:], token, counts)
            break
        service = db.session.get(Service, service_id)
        if service is None:
            continue
        outcome = attempts.attempt(service, drivers)
        failures = failures + 1 if outcome.kind == "failed" else 0
        counts[outcome.kind if outcome.kind in counts else "ok"] += 1
        if _record(service_id, claimed[service_id], outcome):
            again.append(service_id)
    return again


def _defer(ids: list[int], token: str, counts: dict[str, int]) -> None:
    wait = BACKOFF[0]
    db.session.execute(
        update(Service)
        .where(Service.id.in_(ids), Service.sync_claim == token)
        .values(
            sync_claimed_until=None, sync_claim="", sync_next_at=utcnow() + timedelta(seconds=wait)
        )
    )
    enqueue(ids, delay=wait)
    outbox_commit()
    counts["deferred"] += len(ids)


def _record(service_id: int, version: int, outcome: Outcome) -> bool:
    """Write an attempt's outcome (unless the service changed meanwhile); True when the
    server should be converged again at once."""
    db.session.rollback()  # whatever the attempt read: the record is its own transaction
    service = db.session.get(Service, service_id)
    if service is None:
        return False
    if service.sync_version != version:  # a new want arrived: converge to it now
        _release(service_id)
        return True
    now = utcnow()
    before = (service.panel_state, service.sync_error, service.sync_status)
    if outcome.external_id and not service.external_id:
        service.external_id = outcome.external_id
    if outcome.panel_state:
        service.panel_state = outcome.panel_state
    service.sync_claimed_until, service.sync_claim = None, ""
    if outcome.kind == "ok":
        service.sync_status, service.sync_attempts, service.sync_error = OK, 0, ""
        service.sync_next_at, service.synced_at = None, now
    elif outcome.kind == "waiting":
        service.sync_next_at = now + timedelta(seconds=outcome.delay)
        service.sync_error = outcome.detail
        enqueue([service_id], delay=outcome.delay)
    elif outcome.kind == "human":
        service.sync_status, service.sync_error = STUCK, outcome.detail
        if before[2] != STUCK or before[1] != outcome.detail:
            alerts.staff([service_id], "A server needs a decision", outcome.detail)
    else:
        _failed(service, outcome, now)
    unchanged = before[0] == service.panel_state
    nothing_new = (
        outcome.kind == "ok"
        and not outcome.detail
        and not outcome.events
        and before[2] == OK
        and unchanged
    )  # a full reconcile's "still fine"
    polling = outcome.kind == "waiting" and unchanged  # an installation still running
    if not (nothing_new or polling):
        db.session.add(
            SyncAttempt(
                service_id=service_id,
                desired=service.desired_state,
                outcome=outcome.kind,
                panel_state=service.panel_state,
                detail=outcome.detail[:4000],
                created_at=now,
            )
        )
    moved, after = fulfilment.follow(service, outcome)  # installs, failures: the state moves
    # a state that moved is converged again at once, unless a look is already scheduled
    again = moved and service.sync_status == PENDING and outcome.kind != "waiting"
    outbox_commit()
    for announce in after:  # plugin events and wallet notices, once committed
        announce()
    return again


def _failed(service: Service, outcome: Outcome, now) -> None:
    service.sync_attempts = (service.sync_attempts or 0) + 1
    service.sync_error = outcome.detail
    if service.sync_attempts >= MAX_ATTEMPTS:
        service.sync_status, service.sync_next_at = STUCK, None
        alerts.staff(
            [service.id],
            "The panel did not follow a server",
            f"server #{service.id} should be {service.desired_state} in the panel; "
            f"{service.sync_attempts} attempts failed, the last: {outcome.detail}",
        )
        return
    wait = BACKOFF[min(service.sync_attempts - 1, len(BACKOFF) - 1)]
    service.sync_next_at = now + timedelta(seconds=wait)
    enqueue([service.id], delay=wait)


def _release(service_id: int) -> None:
    db.session.execute(
        update(Service)
        .where(Service.id == service_id)
        .values(sync_claimed_until=None, sync_claim="")
    )
    db.session.commit()


def run_due(grace: float = GRACE_SECONDS) -> dict[str, int]:
    """Cron task ``store.converge``: every pending server overdue by ``grace`` seconds that
    no job is working on (each change queues its own job: this is the net under them, for a
    job lost with Redis or a worker that is not running)."""
    totals: dict[str, int] = {}
    seen: set[int] = set()
    while True:
        now = utcnow()
        ids = [
            i
            for i in db.session.scalars(
                select(Service.id)
                .where(
                    Service.sync_status == PENDING,
                    Service.sync_next_at <= now - timedelta(seconds=grace),
                    or_(Service.sync_claimed_until.is_(None), Service.sync_claimed_until < now),
                )
                .order_by(Service.sync_next_at, Service.id)
                .limit(BATCH)
            )
            if i not in seen
        ]
        db.session.commit()
        if not ids:
            break
        seen.update(ids)
        for kind, count in converge(ids).items():
            totals[kind] = totals.get(kind, 0) + count
    return totals


# --- what staff see and do --------------------------------------------------------------------


def retry(service: Service, *, actor: str) -> Service:
    """A fresh set of attempts for a stuck (or accepted, or waiting) server, now."""
    service.sync_status, service.sync_attempts, service.sync_error = PENDING, 0, ""
    service.sync_next_at, service.sync_claimed_until, service.sync_claim = utcnow(), None, ""
    record_audit(
        "store.sync_retry",
        f"service:{service.id}",
        {"desired": service.desired_state},
        actor=actor,
        commit=False,
    )
    enqueue([service.id])
    outbox_commit()
    return db.session.get(Service, service.id)


def accept(service: Service, *, actor: str) -> Service:
    """Leave the panel as it is: the reconciler stops until the server's next change."""
    record_audit(
        "store.sync_accepted",
        f"service:{service.id}",
        {
            "desired": service.desired_state,
            "panel": service.panel_state,
            "error": service.sync_error,
        },
        actor=actor,
        commit=False,
    )
    service.sync_status, service.sync_next_at = ACCEPTED, None
    service.sync_claimed_until, service.sync_claim = None, ""
    db.session.commit()
    return service


# Stuck first, then the one whose next try is soonest (none yet: first), then the newest id.
SYNC_ORDER = (
    (case((Service.sync_status == STUCK, 0), else_=1), False),
    (func.coalesce(Service.sync_next_at, datetime(1970, 1, 1)), False),
)


def out_of_sync(args=None, per_page: int = 50) -> KeysetPage:
    """One page of the servers whose panel does not (yet) match: pending or stuck; stuck
    first, then by when they are tried next. Paged by cursor (``?before=`` / ``?after=`` a
    server id, ``?per_page=``), no ``OFFSET``; raises ``kernel.PagingError`` for a malformed
    cursor or page size, or a server that is not on the list (any more)."""
    query = select(Service).where(Service.sync_status.in_((PENDING, STUCK)))
    return keyset_page_sorted(db.session, query, SYNC_ORDER, Service.id, args or {}, per_page)


def recent_histories(service_ids: list[int], limit: int = 5) -> dict[int, list[SyncAttempt]]:
    """The latest ``limit`` attempts of each server, newest first, in one query for a whole
    page (``{service_id: attempts}``; a server without attempts maps to ``[]``)."""
    found: dict[int, list[SyncAttempt]] = {service_id: [] for service_id in service_ids}
    if not service_ids:
        return found
    rank = (
        func.row_number()
        .over(partition_by=SyncAttempt.service_id, order_by=SyncAttempt.id.desc())
        .label("rank")
    )
    ranked = select(SyncAttempt.id, rank).where(SyncAttempt.service_id.in_(service_ids)).subquery()
    rows = db.session.scalars(
        select(SyncAttempt)
        .join(ranked, ranked.c.id == SyncAttempt.id)
        .where(ranked.c.rank <= limit)
        .order_by(SyncAttempt.service_id, SyncAttempt.id.desc())
    )
    for attempt in rows:
        found[attempt.service_id].append(attempt)
    return found


def counts() -> dict[str, int]:
    return {
        status: count
        for status, count in db.session.execute(
            select(Service.sync_status, func.count())
            .where(Service.sync_status != OK)
            .group_by(Service.sync_status)
        )
    }


def history(service_id: int, limit: int = 20) -> list[SyncAttempt]:
    return list(
        db.session.scalars(
            select(SyncAttempt)
            .where(SyncAttempt.service_id == service_id)
            .order_by(SyncAttempt.id.desc())
            .limit(limit)
        )
    )


def health() -> str | None:
    """The store's health check: None, or how many servers need staff."""
    stuck = db.session.scalar(select(func.count()).where(Service.sync_status == STUCK)) or 0
    late = (
        db.session.scalar(
            select(func.count()).where(
                Service.sync_status == PENDING,
                Service.sync_next_at < utcnow() - timedelta(minutes=10),
            )
        )
        or 0
    )
    problems = []
    if stuck:
        problems.append(
            f"{stuck} server(s) stuck out of sync with the panel (Admin > Store > Out of sync)"
        )
    if late:
        problems.append(
            f"{late} server(s) waited over 10 minutes for the reconciler (is a "
            "scheduler or a worker running?)"
        )
    if problems:
        current_app.logger.warning("store: %s", "; ".join(problems))
    return "; ".join(problems) or None
