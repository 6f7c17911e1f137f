"""The admin Jobs page costs the same number of Redis round trips for 20 and for 200 failed
jobs: the jobs and their latest results are fetched in pipelines, never one call per job."""

from __future__ import annotations

import pytest
import redis
from redis.client import Pipeline

from kernel import jobs
from kernel.testing import admin_client, build_app


@pytest.fixture
def rq_app(instance, plugins_dir, redis_url):
    return build_app(instance, REDIS_URL=redis_url)


def fail_jobs(app, start: int, count: int, queue: str = "default") -> list[str]:
    """``count`` jobs failed as a worker leaves them: in the failed registry, with a result
    holding the traceback (written in one pipeline, as the worker does)."""
    from rq.results import Result

    ids = []
    with app.app_context():
        q = jobs.queue(queue)
        registry = q.failed_job_registry
        with q.connection.pipeline() as pipe:
            for n in range(start, start + count):
                job = jobs.PterocaJob.create(
                    "kernel.jobs.plain_result",
                    args=[n],
                    connection=q.connection,
                    serializer=q.serializer,
                    origin=queue,
                    id=f"failed-{queue}-{n:04d}",
                )
                trace = f"Traceback (most recent call last):\nValueError: job {n} broke"
                registry.add(job, exc_string=trace, pipeline=pipe)
                Result.create_failure(job, jobs.FAILED_TTL, trace, pipeline=pipe)
                ids.append(job.id)
            pipe.execute()
    return ids


@pytest.fixture
def round_trips(monkeypatch):
    """Counts Redis round trips: single commands and pipeline executions."""
    calls: list[str] = []
    single = redis.Redis.execute_command
    batch = Pipeline.execute

    def command(self, *args, **options):
        if not isinstance(self, Pipeline):
            calls.append(str(args[0]))
        return single(self, *args, **options)

    def execute(self, *args, **kwargs):
        calls.append(f"pipeline of {len(self.command_stack)}")
        return batch(self, *args, **kwargs)

    monkeypatch.setattr(redis.Redis, "execute_command", command)
    monkeypatch.setattr(Pipeline, "execute", execute)
    return calls


def page_trips(client, calls: list[str]) -> tuple[int, str]:
    calls.clear()
    page = client.get("/admin/jobs/")
    assert page.status_code == 200
    return len(calls), page.get_data(as_text=True)


def test_twenty_and_two_hundred_failed_jobs_cost_the_same_round_trips(rq_app, round_trips):
    client = admin_client(rq_app, "root@example.com")
    fail_jobs(rq_app, 0, 10, "mail")
    fail_jobs(rq_app, 10, 10)
    twenty, page = page_trips(client, round_trips)
    assert page.count('id="job-failed-') == 20
    assert "ValueError: job 19 broke" in page and "ValueError: job 3 broke" in page
    fail_jobs(rq_app, 20, 180)
    many, page = page_trips(client, round_trips)
    assert page.count('id="job-failed-') == 200
    assert "ValueError: job 199 broke" in page and "ValueError: job 25 broke" in page
    assert many == twenty, round_trips
    assert many < 40  # a handful per queue, not one per job


def test_a_job_without_a_result_is_listed_without_a_traceback(rq_app, round_trips):
    from rq.results import Result

    [job_id] = fail_jobs(rq_app, 0, 1)
    with rq_app.app_context():
        jobs.connection().delete(Result.get_key(job_id))
    _, page = page_trips(admin_client(rq_app, "root@example.com"), round_trips)
    assert f'id="job-{job_id}"' in page and "(no traceback recorded)" in page


def test_a_garbled_result_stream_does_not_break_the_page(rq_app, round_trips):
    from rq.results import Result

    [job_id] = fail_jobs(rq_app, 0, 1)
    with rq_app.app_context():
        conn = jobs.connection()
        conn.delete(Result.get_key(job_id))
        conn.set(Result.get_key(job_id), "not a stream")  # XREVRANGE answers WRONGTYPE
    _, page = page_trips(admin_client(rq_app, "root@example.com"), round_trips)
    assert f'id="job-{job_id}"' in page and "(no traceback recorded)" in page
