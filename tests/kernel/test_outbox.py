"""The transactional outbox: a job is written with the change that calls for it, and a job
whose writer died before handing it over is dispatched by someone else, once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kernel import audit, outbox
from kernel.clock import now as utcnow
from kernel.extensions import commit_keeping, db
from kernel.models import AuditLog
from kernel.outbox import OutboxMessage

RUNS: list = []
FAILS = {"left": 0}


def remember(value, flag=False):
    """An outbox job: records its arguments (and fails while FAILS says so)."""
    if FAILS["left"]:
        FAILS["left"] -= 1
        raise RuntimeError("the node is away")
    RUNS.append((value, flag))
    return value


@pytest.fixture(autouse=True)
def _reset():
    RUNS.clear()
    FAILS["left"] = 0


def rows():
    return db.session.scalars(db.select(OutboxMessage).order_by(OutboxMessage.id)).all()


def test_the_job_commits_with_the_change_and_runs_once_after(app):
    with app.app_context():
        audit.record("thing.changed", "thing:1", commit=False)
        outbox.add(remember, 7, flag=True)
        assert RUNS == []  # nothing runs before the commit
        assert outbox.commit() == 1
        assert RUNS == [(7, True)]
        [row] = rows()
        assert row.status == "dispatched" and row.attempts == 1 and row.dispatched_at
        assert outbox.dispatch_due(grace=0).dispatched == []  # never twice
        assert RUNS == [(7, True)]


def test_a_rolled_back_change_takes_its_job_with_it(app):
    with app.app_context():
        audit.record("thing.changed", "thing:1", commit=False)
        outbox.add(remember, 1)
        db.session.rollback()
        audit.record("other.changed", "thing:2", commit=False)
        assert outbox.commit() == 0  # this transaction added no job
        assert RUNS == [] and rows() == []
        assert db.session.scalar(db.select(db.func.count(AuditLog.id))) == 1


def test_a_writer_that_dies_after_the_commit_leaves_the_job_for_the_dispatcher(app):
    with app.app_context():
        outbox.add(remember, "left behind")
        db.session.commit()
        db.session.info.clear()  # the process died before dispatching
        assert outbox.dispatch_due().dispatched == []  # young rows are their writer's
        db.session.execute(
            db.update(OutboxMessage).values(
                created_at=utcnow() - timedelta(seconds=outbox.GRACE_SECONDS + 1)
            )
        )
        db.session.commit()
        report = outbox.dispatch_due()
        assert len(report.dispatched) == 1 and RUNS == [("left behind", False)]
        assert outbox.run_dispatcher()["dispatched"] == 0


def test_a_claim_is_won_by_one_dispatcher(app):
    with app.app_context():
        row = outbox.add(remember, 1)
        db.session.commit()
        db.session.info.clear()
        now = utcnow()
        row_id = row.id

        def claimed(at):
            return [won[0] for won in outbox._claim([row_id], at)]

        assert claimed(now) == [row_id]
        assert claimed(now) == []  # the second dispatcher gets nothing
        later = now + timedelta(seconds=outbox.CLAIM_SECONDS + 1)
        assert claimed(later) == [row_id]  # a dead claimer's row comes back
        # the claim returns what the dispatcher needs: no second query for the row
        assert outbox._claim([row_id], later + (later - now))[0][1:] == (
            f"{__name__}.remember",
            [1],
            {},
            "",
            3,
        )


def test_a_failing_inline_job_is_tried_again_with_backoff_then_given_up(app):
    FAILS["left"] = outbox.MAX_ATTEMPTS + 5
    with app.app_context():
        outbox.add(remember, 3)
        assert outbox.commit() == 0
        [row] = rows()
        assert row.status == "pending" and row.attempts == 1
        assert "the node is away" in row.last_error
        assert row.available_at >= utcnow() + timedelta(seconds=outbox.BACKOFF[0] - 1)
        assert outbox.dispatch_due(grace=0).retrying == {}  # not due yet
        for _ in range(outbox.MAX_ATTEMPTS - 1):
            db.session.execute(db.update(OutboxMessage).values(available_at=utcnow()))
            db.session.commit()
            outbox.dispatch_due(grace=0)
        db.session.expire_all()
        [row] = rows()
        assert row.status == "failed" and row.attempts == outbox.MAX_ATTEMPTS
        assert outbox.backlog()["failed"] == 1 and RUNS == []


def test_a_job_that_fails_once_runs_on_the_next_pass(app):
    FAILS["left"] = 1
    with app.app_context():
        outbox.add(remember, "eventually")
        outbox.commit()
        db.session.execute(db.update(OutboxMessage).values(available_at=utcnow()))
        db.session.commit()
        assert len(outbox.dispatch_due(grace=0).dispatched) == 1
        assert RUNS == [("eventually", False)]


def test_delayed_rows_wait(app):
    with app.app_context():
        outbox.add(remember, "later", delay=60)
        assert outbox.commit() == 0 and RUNS == []
        assert outbox.backlog()["pending"] == 1


def test_jobs_take_plain_arguments_and_a_known_queue(app):
    with app.app_context():
        with pytest.raises(TypeError, match="plain values"):
            outbox.add(remember, object())
        with pytest.raises(ValueError, match="unknown job queue"):
            outbox.add(remember, 1, queue="nowhere")
        with pytest.raises(TypeError, match="module-level"):
            outbox.add(lambda: None)
        assert rows() == []


def test_an_unknown_job_path_is_recorded_not_raised(app):
    with app.app_context():
        outbox.add("tests.kernel.test_outbox.no_such_job")
        assert outbox.commit() == 0
        [row] = rows()
        assert row.status == "pending" and "no_such_job" in row.last_error


def test_the_dispatcher_is_a_cron_task_and_forgets_old_rows(app):
    from kernel.cron import registered_tasks

    with app.app_context():
        assert registered_tasks()["kernel.outbox"].schedule == "* * * * *"
        outbox.add(remember, 1)
        outbox.commit()
        db.session.execute(
            db.update(OutboxMessage).values(
                dispatched_at=utcnow() - outbox.KEEP - timedelta(minutes=1)
            )
        )
        db.session.commit()
        outbox.run_dispatcher()
        assert rows() == []


def test_health_reports_the_outbox(app):
    client = app.test_client()
    with app.app_context():
        outbox.add(remember, 1, delay=60)
        db.session.commit()
    from kernel.testing import HEALTH_HEADERS

    assert "outbox" not in client.get("/-/health").get_json()  # details need the token
    report = client.get("/-/health", headers=HEALTH_HEADERS).get_json()
    assert report["outbox"]["pending"] == 1 and report["outbox"]["failed"] == 0


# --- rq: the writer hands fresh rows over without claiming them ----------------------------


class RecordingQueue:
    """An rq queue that records what it is handed, or refuses it (``broken``)."""

    def __init__(self):
        self.jobs: list[str] = []
        self.broken = False

    def enqueue_call(self, func, args, kwargs, job_id=None, **options):
        if self.broken:
            raise ValueError("queue refused the job")
        self.jobs.append(job_id)


@pytest.fixture
def rq_queue(monkeypatch):
    from kernel import jobs

    queue = RecordingQueue()
    monkeypatch.setattr(jobs, "uses_rq", lambda: True)
    monkeypatch.setattr(jobs, "_queue", lambda name: queue)
    return queue


def outbox_statements(app):
    from tests.kernel.test_request_cost import statements

    return statements(app)


def test_a_fresh_row_goes_to_rq_unclaimed_and_is_counted_once(app, rq_queue):
    with app.app_context():
        outbox.add(remember, 1)
        commit_keeping()  # the writer kept its rows loaded
        with outbox_statements(app) as seen:
            assert outbox.dispatch_committed() == 1
        assert rq_queue.jobs == [f"outbox-{rows()[0].id}"]
        assert RUNS == []  # queued, not run
        updates = [s for s in seen if s.startswith("UPDATE outbox")]
        assert len(updates) == 1 and "status" in updates[0], seen  # no claim, one mark
        [row] = rows()
        assert row.status == "dispatched" and row.attempts == 1 and row.claimed_until is None
        assert outbox.dispatch_due(grace=0).dispatched == []  # never twice


def test_a_row_older_than_half_the_grace_is_claimed_first(app, rq_queue):
    from kernel import clock

    with app.app_context():
        outbox.add(remember, 2)
        commit_keeping()  # the writer kept its rows loaded
        clock.advance(timedelta(seconds=outbox.GRACE_SECONDS / 2))
        try:
            with outbox_statements(app) as seen:
                assert outbox.dispatch_committed() == 1
        finally:
            clock.reset()
        claims = [s for s in seen if s.startswith("UPDATE outbox SET claimed_until")]
        assert len(claims) == 1, seen  # a dispatcher may look at it now: claimed as usual
        [row] = rows()
        assert row.status == "dispatched" and row.attempts == 1


def test_an_unclaimed_row_the_queue_refuses_is_counted_and_retried(app, rq_queue):
    with app.app_context():
        outbox.add(remember, 3)
        commit_keeping()  # the writer kept its rows loaded
        rq_queue.broken = True
        assert outbox.dispatch_committed() == 0
        [row] = rows()
        assert row.status == "pending" and row.attempts == 1 and "refused" in row.last_error
        assert row.available_at > utcnow()  # backoff, then the dispatcher tries again
        rq_queue.broken = False
        row.available_at = utcnow()
        db.session.commit()
        assert outbox.dispatch_due(grace=0).dispatched == [row.id]
        assert rows()[0].attempts == 2
