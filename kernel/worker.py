"""``pteroca worker``: an rq worker that runs jobs inside a pteroca app.

The worker process keeps an app built from the same configuration as the web
processes (``PTEROCA_*`` environment). Before each job it reads the plugin
generation from the database and rebuilds that app when an admin changed the
plugin set, exactly as the web processes' hot swap does, so a job of a plugin
enabled a second ago finds the plugin loaded.

Each job runs in a forked work horse (rq's default): a job that crashes or leaks
does not take the worker down. The horse drops the database connections it
inherited and opens its own.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

from flask import Flask
from rq import Queue, Worker
from rq.job import Job
from rq.serializers import JSONSerializer

from kernel.extensions import db

log = logging.getLogger("pteroca.worker")


def plain_result(value):
    """What rq stores as a job's result: the value when it is plain JSON, else a short text."""
    try:
        json.dumps(value, allow_nan=False)
        return value
    except (TypeError, ValueError):
        return repr(value)[:200]


class PterocaJob(Job):
    """An rq job whose stored result is always JSON (jobs may return ORM objects)."""

    def _execute(self):
        return plain_result(super()._execute())


def app_factory(first: Flask) -> Callable[[], Flask]:
    """A factory returning ``first`` once, then new apps built from the same configuration."""
    from kernel.app import create_app

    build_config = first.config.get("PTEROCA_BUILD_CONFIG")  # set by kernel.testing
    pending = [first]

    def factory() -> Flask:
        if pending:
            return pending.pop()
        return create_app(dict(build_config)) if build_config else create_app()

    return factory


class PterocaWorker(Worker):
    """rq's forking worker, following the plugin generation and running jobs in an app context."""

    job_class = PterocaJob

    def __init__(self, queues, *, hotswap, **kwargs):
        kwargs.setdefault("serializer", JSONSerializer)
        kwargs.setdefault("job_class", PterocaJob)
        super().__init__(queues, **kwargs)
        self.hotswap = hotswap

    @property
    def app(self) -> Flask:
        return self.hotswap.app

    def follow_generation(self) -> bool:
        """Rebuild the app if the plugin generation moved; True when it did."""
        try:
            swapped = self.hotswap.maybe_swap()
        except Exception:  # noqa: BLE001 - keep working with the current plugin set
            self.log.exception("rebuilding the app failed; still on plugin generation %s",
                               self.hotswap.generation)
            return False
        if swapped:
            self.log.info("plugin generation %s: app rebuilt", self.hotswap.generation)
        return swapped

    def execute_job(self, job, queue):
        self.follow_generation()
        return super().execute_job(job, queue)

    def perform_job(self, job, queue, *args, **kwargs) -> bool:
        with self.app.app_context():
            if self.is_horse:
                # Connections inherited through fork() belong to the parent: open our own.
                for engine in db.engines.values():
                    engine.dispose(close=False)
            try:
                return super().perform_job(job, queue, *args, **kwargs)
            finally:
                db.session.remove()


def build_worker(app: Flask, queue_names: list[str], *, name: str | None = None) -> PterocaWorker:
    from kernel import jobs
    from kernel.wsgi import HotSwapApplication

    unknown = [q for q in queue_names if q not in jobs.QUEUES]
    if unknown:
        raise jobs.JobError(f"unknown queue {', '.join(unknown)} "
                            f"(queues: {', '.join(jobs.QUEUES)})")
    url = app.config.get("REDIS_URL")
    if not url:
        raise jobs.JobError("PTEROCA_REDIS_URL is not set: jobs run inline in the web process, "
                            "there is nothing for a worker to do")
    import redis

    # Its own client: rq lengthens the socket timeout for its blocking dequeue.
    conn = redis.Redis.from_url(url, socket_connect_timeout=5, health_check_interval=30)
    hotswap = HotSwapApplication(app_factory(app), poll_seconds=0)
    queues = [Queue(q, connection=conn, serializer=JSONSerializer, job_class=PterocaJob)
              for q in queue_names]
    return PterocaWorker(queues, connection=conn, name=name, hotswap=hotswap)


def run(app: Flask, queue_names: list[str], *, burst: bool = False, name: str | None = None,
        max_jobs: int | None = None) -> bool:
    """Work the queues until stopped (or, with ``burst``, until they are empty)."""
    worker = build_worker(app, queue_names, name=name)
    return worker.work(burst=burst, with_scheduler=True, logging_level="INFO", max_jobs=max_jobs)
