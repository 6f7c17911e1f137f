"""Cron leases: one run per task and slot, expiring leases taken over once, heartbeats."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

import pytest

from kernel import cron
from kernel.clock import now as utcnow
from kernel.extensions import db
from tests.helpers import write_plugin

TICKER = """
import os
import time

from kernel import hookimpl
from kernel.cron import CronTask, current_run


def _log(word):
    task, slot = current_run()
    with open(os.environ["CRON_TEST_LOG"], "a") as fh:
        fh.write(f"{word} {task} {slot:%H:%M} {os.getpid()}\\n")


def tick():
    _log("tick")


def slow():
    _log("start")
    time.sleep(float(os.environ.get("CRON_TEST_SLEEP", "1.2")))
    _log("end")


def broken():
    raise ValueError("no luck")


@hookimpl
def register_cron_tasks():
    return [CronTask("ticker.tick", "* * * * *", tick, "every minute"),
            CronTask("ticker.slow", "* * * * *", slow, "takes a while"),
            CronTask("ticker.broken", "0 * * * *", broken, "always fails")]
"""

NOON = datetime(2026, 1, 1, 12, 0, 30)


@pytest.fixture
def log(tmp_path, monkeypatch):
    path = tmp_path / "cron.log"
    path.touch()
    monkeypatch.setenv("CRON_TEST_LOG", str(path))
    monkeypatch.setenv("CRON_TEST_SLEEP", "0")
    return path


@pytest.fixture
def ticker(app, plugins_dir, cli, fresh, log):
    write_plugin(plugins_dir, "ticker", TICKER, capabilities=["cron"])
    assert cli("plugin", "enable", "ticker").exit_code == 0
    app = fresh(app)
    app.config["CRON_LEASE_SECONDS"] = 0.6
    return app


def lines(log):
    return [line.split() for line in log.read_text().splitlines()]


def runs(task=None):
    query = db.select(cron.CronRun).order_by(cron.CronRun.id)
    if task:
        query = query.where(cron.CronRun.task == task)
    return list(db.session.scalars(query))


def test_each_slot_runs_once_however_often_runners_look(ticker, log):
    with ticker.app_context():
        first = cron.run_due(now=NOON, owner="a:1")
        assert {r.task: r.status for r in first} == {
            "ticker.tick": "ok",
            "ticker.slow": "ok",
            "ticker.broken": "failed",
            "kernel.rescan_plugins": "ok",
            "kernel.outbox": "ok",
            "payments.converge": "ok",
            "kernel.prune_login_sessions": "ok",
            "kernel.prune_rate_limits": "ok",
            "kernel.privacy": "ok",
            "kernel.prune_logs": "ok",
            "kernel.prune_idempotency_keys": "ok",
            "kernel.prune_webhook_deliveries": "ok",
        }
        assert cron.run_due(now=NOON + timedelta(seconds=20), owner="b:2") == []
        later = cron.run_due(now=NOON + timedelta(minutes=1), owner="b:2")
        assert sorted(r.task for r in later) == [
            "kernel.outbox",
            "payments.converge",
            "ticker.slow",
            "ticker.tick",
        ]
        tick = runs("ticker.tick")
        assert [(r.slot, r.owner, r.status, r.attempts, r.lease_until) for r in tick] == [
            (datetime(2026, 1, 1, 12, 0), "a:1", "ok", 1, None),
            (datetime(2026, 1, 1, 12, 1), "b:2", "ok", 1, None),
        ]
        assert runs("ticker.broken")[0].error == "ValueError: no luck"
    assert [w[:3] for w in lines(log) if w[0] == "tick"] == [
        ["tick", "ticker.tick", "12:00"],
        ["tick", "ticker.tick", "12:01"],
    ]


def test_a_failed_slot_is_not_run_again(ticker):
    with ticker.app_context():
        cron.run_due(now=NOON)
        time.sleep(0.7)  # longer than the lease: a finished run holds no lease
        assert cron.run_due(now=NOON) == []
        assert cron.expired_runs() == []
        assert [r.status for r in runs("ticker.broken")] == ["failed"]


def dead_run(task, slot, attempts=1, lease_until=None):
    """A run whose runner was killed: still 'running', lease in the past."""
    run = cron.CronRun(
        task=task,
        slot=slot,
        owner="gone:99",
        attempts=attempts,
        lease_until=lease_until or utcnow() - timedelta(seconds=5),
    )
    db.session.add(run)
    db.session.commit()
    return run.id


def test_an_expired_lease_is_taken_over_and_the_slot_runs_once_more(ticker, log):
    with ticker.app_context():
        slot = datetime(2026, 1, 1, 11, 59)
        run_id = dead_run("ticker.tick", slot)
        done = cron.run_due(now=NOON, only="ticker.tick", owner="me:1")
        assert [(r.task, r.slot, r.attempts, r.owner, r.status) for r in done] == [
            ("ticker.tick", datetime(2026, 1, 1, 12, 0), 1, "me:1", "ok"),
            ("ticker.tick", slot, 2, "me:1", "ok"),
        ]
        assert done[1].id == run_id
        # Completed: nobody runs it again.
        assert cron.run_due(now=NOON, only="ticker.tick", owner="other:2") == []
    assert [w[2] for w in lines(log)] == ["12:00", "11:59"]


def test_a_live_lease_is_left_alone(ticker):
    with ticker.app_context():
        dead_run(
            "ticker.tick", datetime(2026, 1, 1, 11, 59), lease_until=utcnow() + timedelta(minutes=1)
        )
        assert cron.expired_runs() == []
        done = cron.run_due(now=NOON, only="ticker.tick")
        assert [r.slot.minute for r in done] == [0]


def test_only_one_runner_wins_a_takeover(ticker):
    with ticker.app_context():
        dead_run("ticker.tick", datetime(2026, 1, 1, 11, 59))
        seen_by_a, seen_by_b = cron.expired_runs(), cron.expired_runs()
        assert cron.take_over(seen_by_a[0], "a:1") is not None
        db.session.expire_all()
        assert cron.take_over(seen_by_b[0], "b:2") is None
        assert runs("ticker.tick")[0].owner == "a:1"


def test_a_slot_whose_runner_keeps_dying_is_given_up(ticker, log):
    with ticker.app_context():
        dead_run("ticker.tick", datetime(2026, 1, 1, 11, 59), attempts=cron.MAX_ATTEMPTS)
        assert cron.run_due(now=NOON, only="ticker.tick") != []
        stuck = runs("ticker.tick")[0]
        assert stuck.status == "failed" and "lease expired 3 times" in stuck.error
    assert [w[2] for w in lines(log)] == ["12:00"]


def test_the_heartbeat_keeps_a_long_run_leased(ticker, log, monkeypatch):
    monkeypatch.setenv("CRON_TEST_SLEEP", "1.5")  # 2.5 leases of 0.6 s
    outcome = {}

    def runner():
        with ticker.app_context():
            outcome["runs"] = cron.run_due(
                now=NOON, only="ticker.slow", owner="long:1", node="long:1"
            )
            outcome["status"] = [r.status for r in outcome["runs"]]
            db.session.remove()

    thread = threading.Thread(target=runner)
    thread.start()
    seen_expired, leases = [], set()
    with ticker.app_context():
        while thread.is_alive():
            seen_expired += cron.expired_runs()
            leases.update(r.lease_until for r in runs("ticker.slow") if r.lease_until)
            db.session.commit()
            time.sleep(0.1)
        thread.join()
        assert outcome["status"] == ["ok"]
        assert seen_expired == []
        assert len(leases) >= 3  # renewed while it ran
        assert cron.last_heartbeat() is not None  # the keeper beats for its scheduler too
    assert [w[0] for w in lines(log)] == ["start", "end"]


def test_current_run_is_none_outside_a_task():
    assert cron.current_run() is None


def test_heartbeats_and_the_latest_one(app):
    with app.app_context():
        assert cron.last_heartbeat() is None
        cron.beat("one:1")
        cron.beat("two:2")
        cron.beat("one:1")
        rows = db.session.scalars(db.select(cron.SchedulerHeartbeat)).all()
        assert sorted(r.node for r in rows) == ["one:1", "two:2"]
        assert (utcnow() - cron.last_heartbeat()).total_seconds() < 5
        # A scheduler silent for over a week is forgotten.
        rows[0].seen_at = utcnow() - timedelta(days=8)
        db.session.commit()
        cron.beat("two:2" if rows[0].node == "one:1" else "one:1")
        assert len(db.session.scalars(db.select(cron.SchedulerHeartbeat)).all()) == 1


def test_cron_run_cli_takes_over_dead_runs_too(ticker, cli, log):
    with ticker.app_context():
        dead_run("ticker.tick", datetime(2000, 1, 1, 0, 0))
    result = cli("cron", "run", "--task", "ticker.tick")
    assert result.exit_code == 0
    assert result.output.count("ticker.tick: ok") == 2
