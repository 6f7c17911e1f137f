"""Jobs on rq: `pteroca worker` runs them in an app context, retries with backoff, follows the
plugin generation; failed jobs are listed in the admin with retry and delete."""

from __future__ import annotations

import json
import sys

import pytest

from kernel import jobs
from kernel.extensions import db
from kernel.testing import admin_client, build_app
from tests.helpers import write_plugin
from tests.topology.conftest import env_for, pteroca, wait_until

JOBBY = """
import json
import os
import time

from flask import current_app

from kernel import jobs
from kernel.extensions import db


def whoami(path):
    host = current_app.extensions["pteroca"]
    row = {"pid": os.getpid(), "generation": host.generation, "loaded": sorted(host.loaded),
           "db": db.session.execute(db.text("SELECT 1")).scalar()}
    with open(path, "a") as fh:
        fh.write(json.dumps(row) + "\\n")
    return row


@jobs.job(retries=2, backoff=[2])
def flaky(path, failures):
    with open(path, "a") as fh:
        fh.write(f"{time.time()}\\n")
    with open(path) as fh:
        tries = len(fh.read().splitlines())
    if tries <= failures:
        raise RuntimeError(f"try {tries} failed")
    return tries


def broken(what):
    raise ValueError(f"cannot {what}")


def mark(path, tag):
    with open(path, "a") as fh:
        fh.write(tag + "\\n")
"""


@pytest.fixture
def rq_app(instance, plugins_dir, redis_url):
    return build_app(instance, REDIS_URL=redis_url)


def enable_jobby(app, cli, fresh):
    write_plugin(app.config["PLUGINS_DIR"], "jobby", JOBBY)
    result = cli("plugin", "enable", "jobby")
    assert result.exit_code == 0, result.output
    app = fresh(app)
    return app, sys.modules[app.extensions["pteroca"].discovered["jobby"].module]


def burst(app):
    result = pteroca(env_for(app), "worker", "--burst")
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def test_enqueue_on_rq_queues_and_the_worker_runs_it_in_an_app(rq_app, cli, fresh, tmp_path):
    app, jobby = enable_jobby(rq_app, cli, fresh)
    out = tmp_path / "who.jsonl"
    with app.app_context():
        job = jobs.enqueue(jobby.whoami, str(out))
        assert job.get_status() == "queued" and job.origin == "default"
        assert job.func_name == f"{jobby.__name__}.whoami" and job.args == [str(out)]
        assert not out.exists()  # not run inline
    burst(app)
    row = json.loads(out.read_text())
    assert row["db"] == 1 and "jobby" in row["loaded"] and row["generation"] == 1
    with app.app_context():
        job.refresh()
        assert job.get_status() == "finished" and job.return_value() == row


def test_a_backlog_in_one_queue_does_not_hold_back_the_others(rq_app, cli, fresh, tmp_path):
    """Queues take turns (round robin): mail queued behind a long provisioning backlog (a
    lifecycle sweep paced by the panel's request budget) goes out between its jobs, and a
    mailing to every customer would not hold back a purchase's provisioning either."""
    app, jobby = enable_jobby(rq_app, cli, fresh)
    out = tmp_path / "order.txt"
    with app.app_context():
        for n in range(6):
            jobs.enqueue(jobby.mark, str(out), f"p{n}", queue="provisioning")
        for n in range(2):
            jobs.enqueue(jobby.mark, str(out), f"m{n}", queue="mail")
        jobs.enqueue(jobby.mark, str(out), "d0", queue="default")
    burst(app)
    order = out.read_text().split()
    assert sorted(order) == sorted([f"p{n}" for n in range(6)] + ["m0", "m1", "d0"])
    assert order[:3] == ["p0", "m0", "d0"], order  # one from each queue, in the listed order
    assert order.index("m1") < order.index("p2"), order  # then round again
    assert [t for t in order if t[0] == "p"] == [f"p{n}" for n in range(6)]  # FIFO within one


def test_the_worker_follows_the_plugin_generation(rq_app, cli, fresh, tmp_path, processes):
    worker = processes(env_for(rq_app), "worker", log=tmp_path / "worker.log")
    wait_until(
        lambda: "Listening on" in worker.output() or "listening" in worker.output().lower(),
        30,
        "worker started",
    )
    app, jobby = enable_jobby(rq_app, cli, fresh)  # after the worker built its app
    out = tmp_path / "who.jsonl"
    with app.app_context():
        jobs.enqueue(jobby.whoami, str(out))
    wait_until(out.exists, 30, "job ran")
    row = json.loads(out.read_text())
    assert row["generation"] == 1 and "jobby" in row["loaded"]
    assert row["pid"] != worker.pid  # a forked work horse ran it


def test_retries_wait_the_backoff_then_succeed(rq_app, cli, fresh, tmp_path, processes):
    app, jobby = enable_jobby(rq_app, cli, fresh)
    out = tmp_path / "tries.txt"
    with app.app_context():
        job = jobs.enqueue(jobby.flaky, str(out), 2)  # fails twice, succeeds on the third try
    processes(env_for(app), "worker", log=tmp_path / "worker.log")
    with app.app_context():
        wait_until(lambda: job.get_status(refresh=True) == "finished", 40, "flaky job finished")
        assert job.return_value() == 3
    times = [float(t) for t in out.read_text().split()]
    assert len(times) == 3
    # rq schedules a retry at a whole second (the time is truncated), so a 2 s backoff waits
    # at least 1 s: enough to tell a waited retry from an immediate one, never flaky
    assert all(later - earlier >= 1.0 for earlier, later in zip(times, times[1:], strict=False))


def test_a_job_failing_every_retry_ends_in_failed_jobs(rq_app, cli, fresh, tmp_path, processes):
    app, jobby = enable_jobby(rq_app, cli, fresh)
    out = tmp_path / "tries.txt"
    with app.app_context():
        job = jobs.enqueue(jobby.flaky, str(out), 99, retry=jobs.Retry(1, (0,)))
    burst(app)
    with app.app_context():
        assert job.get_status(refresh=True) == "failed"
        [failed] = jobs.failed_jobs()
        assert failed.id == job.id and failed.function.endswith(".flaky")
        assert failed.args == [str(out), 99] and failed.attempts == 2
        assert failed.error == "RuntimeError: try 2 failed" and "Traceback" in failed.traceback


@pytest.fixture
def root_client(app_with_jobby):
    app, _ = app_with_jobby
    return admin_client(app, "root@example.com")


@pytest.fixture
def app_with_jobby(rq_app, cli, fresh):
    return enable_jobby(rq_app, cli, fresh)


def test_failed_jobs_page_lists_retries_and_deletes(app_with_jobby, root_client):
    app, jobby = app_with_jobby
    with app.app_context():
        job = jobs.enqueue(jobby.broken, "fly")
    burst(app)
    page = root_client.get("/admin/jobs/").get_data(as_text=True)
    assert f'id="job-{job.id}"' in page and "broken" in page and "ValueError: cannot fly" in page
    assert "&#34;fly&#34;" in page or '"fly"' in page
    assert "No worker is running" in page

    response = root_client.post("/admin/jobs/retry", data={"job_id": job.id})
    assert response.status_code == 303
    with app.app_context():
        assert jobs.summary()["queues"]["default"] == {"queued": 1, "failed": 0, "retrying": 0}
    burst(app)  # fails again
    assert f'id="job-{job.id}"' in root_client.get("/admin/jobs/").get_data(as_text=True)

    assert root_client.post("/admin/jobs/delete", data={"job_id": job.id}).status_code == 303
    page = root_client.get("/admin/jobs/").get_data(as_text=True)
    assert f'id="job-{job.id}"' not in page and "No failed jobs." in page
    from kernel.models import AuditLog

    with app.app_context():
        actions = db.session.scalars(db.select(AuditLog.action).where(AuditLog.target == job.id))
        assert list(actions) == ["job.retry", "job.delete"]

    again = root_client.post("/admin/jobs/retry", data={"job_id": job.id})
    assert again.status_code == 400
    assert "no failed job" in again.get_data(as_text=True)


def test_jobs_page_without_redis_says_jobs_run_inline(app, cli):
    client = admin_client(app, "root@example.com")
    page = client.get("/admin/jobs/")
    assert page.status_code == 200 and 'id="jobs-inline"' in page.get_data(as_text=True)
    refused = client.post("/admin/jobs/retry", data={"job_id": "x"})
    assert refused.status_code == 400 and "Jobs run inline" in refused.get_data(as_text=True)


def test_jobs_page_with_redis_away_says_so(instance, plugins_dir):
    app = build_app(instance, REDIS_URL="redis://127.0.0.1:9/0")
    client = admin_client(app, "root@example.com")
    page = client.get("/admin/jobs/")
    assert page.status_code == 503 and "Redis is not reachable" in page.get_data(as_text=True)


def test_worker_refuses_to_start_without_redis(app):
    result = pteroca(env_for(app), "worker", "--burst")
    assert result.returncode == 1
    assert "PTEROCA_REDIS_URL is not set" in result.stderr


def test_worker_refuses_an_unknown_queue(rq_app):
    result = pteroca(env_for(rq_app), "worker", "--queues", "default,fast", "--burst")
    assert result.returncode == 1 and "unknown queue fast" in result.stderr


def test_a_store_purchase_is_provisioned_by_the_worker(rq_app, cli, fresh):
    from builtin_plugins.store.testing import buy, make_product
    from kernel.testing import make_customer

    assert cli("plugin", "enable", "store").exit_code == 0
    app = fresh(rq_app)
    with app.app_context():
        product = make_product(provisioner="manual", price=500)
        service = buy(make_customer(balance=1000), product)
        service_id = service.id
        assert service.state == "provisioning"
        [queued] = jobs.queue("provisioning").get_jobs()
        assert queued.func_name == "builtin_plugins.store.reconciler.converge"
        assert queued.args[0] == [service_id] and queued.id.startswith("outbox-")
        db.session.remove()
    burst(app)
    from builtin_plugins.store.models import Service

    with app.app_context():
        assert db.session.get(Service, service_id).state == "active"
