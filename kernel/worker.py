"""``pteroca worker``: an rq worker that runs jobs inside a pteroca app.

The worker process keeps an app built from the same configuration as the web
processes (``PTEROCA_*`` environment). Before each job it reads the plugin
generation from the database and rebuilds that app when an admin changed the
plugin set, exactly as the web processes' hot swap does, so a job of a plugin
enabled a second ago finds the plugin loaded.

Each job runs in a forked work horse (rq's default): a job that crashes or leaks
does not take the worker down. The horse drops the database connections it
inherited and opens its own.

Recovering from crashes takes seconds, not rq's ten-minute maintenance
(docs/deployment.md, "What a crash costs"):

- the worker heartbeats a running job every :data:`MONITOR_SECONDS`, and its entry
  in the started-jobs registry expires :data:`HEARTBEAT_GRACE` seconds after the last
  beat; every worker looks for expired entries every :data:`MAINTENANCE_SECONDS`
  (and at start) and puts such an *abandoned* job back at the front of its queue at
  once (its worker died: it did not fail), at most :data:`MAX_ABANDONED` times;
- a worker's name is unique per start (``<name>.<pid>.<random>``), so a restarted
  worker never waits for its predecessor's name to expire;
- rq's delayed-job scheduler (retries with backoff) runs in a child process that dies
  with the Redis connection; it is restarted on the first loop after Redis answers
  again, and the worker retries a lost Redis every :data:`REDIS_RETRY_SECONDS` at most;
- each maintenance pass also dispatches outbox rows left behind (:mod:`kernel.outbox`).

Queues take turns (rq's round-robin dequeue): after a job from one queue, the next job comes
from the next queue that has one. A backlog in one queue, such as 2,000 suspensions paced by
a panel's request budget or a mailing to every customer, never holds back the jobs of the
others (the suspension mails, a purchase's provisioning); within a queue, jobs run in order.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import time

from flask import Flask
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import Queue, Worker
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.registry import StartedJobRegistry
from rq.serializers import JSONSerializer
from rq.utils import as_text, current_timestamp
from rq.worker import DequeueStrategy

from kernel import jobs
from kernel.extensions import db
from kernel.jobs import PterocaJob
from kernel.wsgi import HotSwapApplication, app_factory

log = logging.getLogger("pteroca.worker")

MONITOR_SECONDS = 5  # a running job's heartbeat
HEARTBEAT_GRACE = 10  # a job silent this long after its last beat is abandoned
MAINTENANCE_SECONDS = 10  # how often a worker looks for abandoned jobs and outbox rows
MAX_ABANDONED = 3  # then rq's own cleanup fails (or retries) the job: it may be the killer
REDIS_RETRY_SECONDS = 5.0
REDIS_AWAY = (RedisConnectionError, RedisTimeoutError)


def unique_name(prefix: str | None = None) -> str:
    """``<prefix or host>.<pid>.<random>``: a name no earlier start of this worker had."""
    base = (prefix or socket.gethostname() or "worker").strip() or "worker"
    return f"{base}.{os.getpid()}.{secrets.token_hex(3)}"


class PterocaWorker(Worker):
    """rq's forking worker, following the plugin generation and running jobs in an app context."""

    job_class = PterocaJob
    max_connection_wait_time = REDIS_RETRY_SECONDS

    def __init__(self, queues, *, hotswap, **kwargs):
        kwargs.setdefault("serializer", JSONSerializer)
        kwargs.setdefault("job_class", PterocaJob)
        kwargs.setdefault("job_monitoring_interval", MONITOR_SECONDS)
        kwargs.setdefault("maintenance_interval", MAINTENANCE_SECONDS)
        super().__init__(queues, **kwargs)
        self.hotswap = hotswap

    def work(self, *args, **kwargs):
        """rq's loop, with the queues taking turns (the module's docstring says why)."""
        kwargs.setdefault("dequeue_strategy", DequeueStrategy.ROUND_ROBIN)
        return super().work(*args, **kwargs)

    # --- crash recovery -------------------------------------------------------------

    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        """How long a running job's registry entry lives without a beat (rq: interval + 60 s)."""
        interval = self.job_monitoring_interval
        if job.timeout and job.timeout > 0:
            interval = max(1, min(int(job.timeout - working_time), interval))
        return int(interval) + HEARTBEAT_GRACE

    @property
    def should_run_maintenance_tasks(self) -> bool:
        """rq's schedule, and at once when the delayed-job scheduler process died (Redis
        went away): this loop only runs once Redis answers again."""
        scheduler = self.scheduler
        process = scheduler._process if scheduler is not None else None
        if process is not None and not process.is_alive():
            return True
        return super().should_run_maintenance_tasks

    @property
    def dequeue_timeout(self) -> int:
        """Wait for a job at most until the next maintenance (rq: about 7 minutes)."""
        return MAINTENANCE_SECONDS

    def run_maintenance_tasks(self):
        try:
            self.requeue_abandoned()
            super().run_maintenance_tasks()
        except REDIS_AWAY as exc:  # the dequeue loop waits for Redis; try again after
            self.log.warning("maintenance skipped, Redis is away: %s", exc)
        except Exception:  # noqa: BLE001 - rq would quit for it; the next pass tries again
            self.log.exception("maintenance failed")
        self.dispatch_outbox()

    # rq quits (exit status 0, which systemd does not restart) when Redis fails in these
    # calls of its main loop; only its dequeue waits for Redis. Let the dequeue do the waiting.

    def check_for_suspension(self, burst: bool) -> None:
        try:
            super().check_for_suspension(burst)
        except REDIS_AWAY as exc:
            self.log.warning("Redis is away (%s); waiting for it", exc)
            time.sleep(1)

    def heartbeat(self, timeout: int | None = None, pipeline=None):
        try:
            return super().heartbeat(timeout, pipeline)
        except REDIS_AWAY as exc:
            if pipeline is not None:
                raise
            self.log.warning("heartbeat skipped, Redis is away: %s", exc)

    def set_state(self, state: str, pipeline=None):
        # rq sets the worker's state (advisory, for `rq info`) outside its own error handling
        # when it goes back to waiting for a job: a Redis outage at that moment made the
        # worker quit. The state is written again on the next change.
        try:
            return super().set_state(state, pipeline)
        except REDIS_AWAY as exc:
            if pipeline is not None:
                raise
            self._state = state
            self.log.warning("worker state %s not recorded, Redis is away: %s", state, exc)

    def requeue_abandoned(self) -> list[str]:
        """Put jobs whose worker stopped beating back at the front of their queue."""
        found = []
        cutoff = current_timestamp()
        for queue in self.queues:
            registry = StartedJobRegistry(
                queue.name,
                connection=self.connection,
                job_class=self.job_class,
                serializer=self.serializer,
            )
            for entry in self.connection.zrangebyscore(registry.key, 0, cutoff):
                entry = as_text(entry)
                try:
                    job = self.job_class.fetch(
                        registry.parse_job_id(entry),
                        connection=self.connection,
                        serializer=self.serializer,
                    )
                except NoSuchJobError:
                    continue
                abandoned = int((job.meta or {}).get("abandoned", 0)) + 1
                if job.get_status(refresh=False) != JobStatus.STARTED or abandoned > MAX_ABANDONED:
                    continue  # rq's cleanup handles it
                if not self.connection.zrem(registry.key, entry):
                    continue  # another worker took it first
                job.meta["abandoned"] = abandoned
                job.save_meta()
                queue.enqueue_job(job, at_front=True)
                self.log.warning(
                    "job %s (%s) was abandoned by worker %s: queued again (%s)",
                    job.id,
                    job.func_name,
                    job.worker_name,
                    abandoned,
                )
                found.append(job.id)
        return found

    def dispatch_outbox(self) -> None:
        """Hand outbox rows whose writer died to the queue (kernel.outbox)."""
        from kernel import outbox

        try:
            with self.app.app_context():
                try:
                    outbox.dispatch_due()
                finally:
                    db.session.remove()
        except Exception:  # noqa: BLE001 - the database may be away; the next pass tries again
            self.log.exception("dispatching the outbox failed")

    @property
    def app(self) -> Flask:
        return self.hotswap.app

    def follow_generation(self) -> bool:
        """Rebuild the app if the plugin generation moved; True when it did."""
        try:
            swapped = self.hotswap.maybe_swap()
        except Exception:  # noqa: BLE001 - keep working with the current plugin set
            self.log.exception(
                "rebuilding the app failed; still on plugin generation %s", self.hotswap.generation
            )
            return False
        if swapped:
            self.log.info("plugin generation %s: app rebuilt", self.hotswap.generation)
        return swapped

    def execute_job(self, job, queue):
        self.follow_generation()
        try:
            return super().execute_job(job, queue)
        except REDIS_AWAY as exc:
            # Redis went away while the job ran: rq stops watching it. Let it end before taking
            # another; if its result was lost, the job is found abandoned and queued again.
            self.log.warning(
                "Redis went away during job %s (%s): waiting for it to end", job.id, exc
            )
            pid = getattr(self, "_horse_pid", 0)
            if pid:
                try:
                    os.waitpid(pid, 0)
                except ChildProcessError:
                    pass

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
    unknown = [q for q in queue_names if q not in jobs.QUEUES]
    if unknown:
        raise jobs.JobError(
            f"unknown queue {', '.join(unknown)} (queues: {', '.join(jobs.QUEUES)})"
        )
    url = app.config.get("REDIS_URL")
    if not url:
        raise jobs.JobError(
            "PTEROCA_REDIS_URL is not set: jobs run inline in the web process, "
            "there is nothing for a worker to do"
        )
    import redis

    # Its own client: rq lengthens the socket timeout for its blocking dequeue.
    conn = redis.Redis.from_url(url, socket_connect_timeout=5, health_check_interval=30)
    hotswap = HotSwapApplication(app_factory(app), poll_seconds=0)
    queues = [
        Queue(q, connection=conn, serializer=JSONSerializer, job_class=PterocaJob)
        for q in queue_names
    ]
    return PterocaWorker(queues, connection=conn, name=unique_name(name), hotswap=hotswap)


def run(
    app: Flask,
    queue_names: list[str],
    *,
    burst: bool = False,
    name: str | None = None,
    max_jobs: int | None = None,
) -> bool:
    """Work the queues until stopped (or, with ``burst``, until they are empty)."""
    worker = build_worker(app, queue_names, name=name)
    return worker.work(burst=burst, with_scheduler=True, logging_level="INFO", max_jobs=max_jobs)
