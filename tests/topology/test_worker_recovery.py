"""Workers recover in seconds: a killed worker's job runs again soon after, a restarted worker
never waits for its old name, and delayed retries keep their time across a Redis outage."""

from __future__ import annotations

import os
import signal
import sys
import time

import pytest

from kernel import jobs
from kernel.testing import build_app
from kernel.worker import MAINTENANCE_SECONDS
from tests.helpers import write_plugin
from tests.services import RedisServer, require_redis_server
from tests.topology.conftest import env_for, wait_until

SLOWPOKE = '''
import os
import time

from kernel import jobs


def slow(path, seconds):
    """Sleeps ``seconds`` on its first run only (later runs finish at once)."""
    with open(path, "a") as fh:
        fh.write(f"start {os.getpid()} {time.time()}\\n")
    with open(path) as fh:
        first = sum(1 for line in fh if line.startswith("start")) == 1
    if first:
        time.sleep(seconds)
    with open(path, "a") as fh:
        fh.write(f"end {os.getpid()} {time.time()}\\n")
    return "done"


@jobs.job(retries=1, backoff=[3])
def flaky(path):
    with open(path, "a") as fh:
        fh.write(f"{time.time()}\\n")
    with open(path) as fh:
        if len(fh.read().splitlines()) == 1:
            raise RuntimeError("first try fails")
    return "ok"
'''


@pytest.fixture
def slow_app(instance, plugins_dir, redis_url, cli, fresh):
    app = build_app(instance, REDIS_URL=redis_url)
    return _with_plugin(app, cli, fresh)


def _with_plugin(app, cli, fresh):
    write_plugin(app.config["PLUGINS_DIR"], "slowpoke", SLOWPOKE)
    result = cli("plugin", "enable", "slowpoke")
    assert result.exit_code == 0, result.output
    app = fresh(app)
    return app, sys.modules[app.extensions["pteroca"].discovered["slowpoke"].module]


def lines(path) -> list[list[str]]:
    return [line.split() for line in path.read_text().splitlines()] if path.exists() else []


def showing(worker, check, timeout: float, what: str) -> None:
    """wait_until, with the worker's log in the failure."""
    try:
        wait_until(check, timeout, what)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\nworker log:\n{worker.output()[-3000:]}") from None


def listening(worker) -> bool:
    return "listening on" in worker.output().lower()


def test_worker_names_are_unique_per_start(slow_app, processes, tmp_path):
    from rq import Worker

    app, _ = slow_app
    first = processes(env_for(app), "worker", "--name", "node-1", log=tmp_path / "w1.log")
    second = processes(env_for(app), "worker", "--name", "node-1", log=tmp_path / "w2.log")
    wait_until(lambda: listening(first) and listening(second), 30, "both workers listen")
    with app.app_context():
        names = sorted(w.name for w in Worker.all(connection=jobs.connection()))
    assert len(names) == 2 and names[0] != names[1]
    assert all(name.startswith("node-1.") for name in names)
    assert first.alive() and second.alive()  # neither refused for a taken name


def test_a_killed_workers_job_runs_again_within_seconds(slow_app, processes, tmp_path):
    app, slowpoke = slow_app
    out = tmp_path / "slow.txt"
    with app.app_context():
        job = jobs.enqueue(slowpoke.slow, str(out), 120)
    worker = processes(env_for(app), "worker", log=tmp_path / "w1.log")
    wait_until(lambda: any(parts[0] == "start" for parts in lines(out)), 30, "the job started")
    horse = int(lines(out)[0][1])
    # The machine dies: the worker, its scheduler child and the work horse (its own group).
    os.killpg(worker.pid, signal.SIGKILL)
    os.kill(horse, signal.SIGKILL)
    worker.proc.wait(10)
    restarted = time.monotonic()
    processes(env_for(app), "worker", log=tmp_path / "w2.log")
    wait_until(lambda: any(parts[0] == "end" for parts in lines(out)), 60, "the job ran again")
    took = time.monotonic() - restarted
    assert took < 40, f"the abandoned job waited {took:.0f} s"  # rq alone: about 10 minutes
    with app.app_context():
        job.refresh()
        wait_until(lambda: job.get_status(refresh=True) == "finished", 10, "job finished")
        assert job.meta.get("abandoned") == 1
        assert jobs.summary()["queues"]["default"]["failed"] == 0
    assert [parts[0] for parts in lines(out)] == ["start", "start", "end"]


def persistent_redis(tmp_path) -> RedisServer:
    """A Redis keeping its data over a restart (as one with AOF in production would)."""
    storage = tmp_path / "redis-data"
    storage.mkdir()
    return RedisServer(require_redis_server(), persist_dir=str(storage)).start()


def test_a_worker_survives_redis_dying_under_a_running_job(
    instance, plugins_dir, cli, fresh, processes, tmp_path
):
    redis = persistent_redis(tmp_path)
    try:
        app, slowpoke = _with_plugin(build_app(instance, REDIS_URL=redis.url), cli, fresh)
        worker = processes(env_for(app), "worker", log=tmp_path / "worker.log")
        wait_until(lambda: listening(worker), 30, "worker listens")
        slow, quick = tmp_path / "slow.txt", tmp_path / "quick.txt"
        with app.app_context():
            jobs.enqueue(slowpoke.slow, str(slow), 8)
        wait_until(lambda: lines(slow), 30, "the slow job started")
        redis.stop()
        time.sleep(4)
        redis.start()
        wait_until(lambda: any(p[0] == "end" for p in lines(slow)), 60, "the slow job ended")
        with app.app_context():
            jobs.enqueue(slowpoke.slow, str(quick), 0)
        showing(
            worker,
            lambda: any(p[0] == "end" for p in lines(quick)),
            60,
            "a job after the outage ran",
        )
        assert worker.alive()
    finally:
        redis.stop()


def test_delayed_retries_keep_their_time_after_a_redis_outage(
    instance, plugins_dir, cli, fresh, processes, tmp_path
):
    redis = persistent_redis(tmp_path)
    try:
        app, slowpoke = _with_plugin(build_app(instance, REDIS_URL=redis.url), cli, fresh)
        worker = processes(env_for(app), "worker", log=tmp_path / "worker.log")
        wait_until(lambda: listening(worker), 30, "worker listens")
        wait_until(lambda: "Scheduler for" in worker.output(), 30, "its scheduler runs")
        redis.stop()
        # rq's scheduler child loses its connection and dies.
        wait_until(lambda: "raised an exception" in worker.output(), 30, "the scheduler died")
        # Longer than a dequeue wait: the worker's own loop meets the outage too, and survives.
        time.sleep(MAINTENANCE_SECONDS + 3)
        assert worker.alive(), worker.output()[-2000:]
        redis.start()
        out = tmp_path / "tries.txt"
        with app.app_context():
            job = jobs.enqueue(slowpoke.flaky, str(out))  # fails, then retries after 3 s
        showing(worker, lambda: len(lines(out)) == 1, 90, "the first try")
        wait_until(lambda: len(lines(out)) == 2, 60, "the delayed retry")
        first, second = (float(parts[0]) for parts in lines(out))
        # rq alone restarts its scheduler at the next ten-minute maintenance
        assert 2.5 <= second - first < 30, f"the retry came {second - first:.0f} s later"
        with app.app_context():
            wait_until(lambda: job.get_status(refresh=True) == "finished", 10, "job finished")
        assert worker.alive()
    finally:
        redis.stop()


def test_going_back_to_wait_survives_redis_being_away(tmp_path):
    """rq writes the worker's state when it goes back to waiting for a job, outside its own
    error handling: a Redis outage at that instant made the worker quit (the cause of this
    file's flaky outage test). The state write is advisory and may fail; the dequeue waits."""
    from redis.exceptions import ConnectionError as RedisConnectionError
    from rq.worker import WorkerStatus

    from kernel.worker import build_worker

    with RedisServer(require_redis_server()) as redis_server:
        app = build_app(tmp_path / "instance", REDIS_URL=redis_server.url)
        worker = build_worker(app, ["default"])

        def away(*args, **kwargs):
            raise RedisConnectionError("Connection refused")

        worker.connection.hset = away
        worker.set_state(WorkerStatus.IDLE)  # does not raise
        assert worker.get_state() == WorkerStatus.IDLE
        pipeline = worker.connection.pipeline()
        pipeline.hset = away
        with pytest.raises(RedisConnectionError):  # inside a pipeline the caller decides
            worker.set_state(WorkerStatus.BUSY, pipeline=pipeline)
