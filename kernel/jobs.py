"""Background jobs: ``enqueue(fn, *args, **kwargs)``, inline or on rq.

Jobs are plain module-level functions (addressable by import path) taking plain
arguments (ids and strings, not ORM objects):

- **inline** (no ``PTEROCA_REDIS_URL``): ``fn`` runs at once in the caller's app
  context; ``enqueue`` returns its result and its exceptions reach the caller.
  One process, nothing else to run.
- **rq** (``PTEROCA_REDIS_URL`` set): the call goes on a Redis queue and returns
  the rq job; a ``pteroca worker`` runs it inside an app built from the same
  configuration (and following the plugin generation, like the web processes).
  If Redis cannot be reached, the job runs inline instead (logged), as without rq.

Per function defaults come from the :func:`job` decorator (queue, retries with
backoff, timeout); one call can override them with the reserved keywords
``retry=`` and ``queue=``. Retries only apply on rq: inline, the caller sees the
error at once. Arguments travel as JSON, so they must be plain values.

The failed-jobs helpers at the end are what the admin's Jobs page uses.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flask import current_app, has_app_context
from rq.job import Job

if TYPE_CHECKING:
    import redis


def plain_result(value: Any) -> Any:
    """What rq stores as a job's result: the value when it is plain JSON, else a short text."""
    try:
        json.dumps(value, allow_nan=False)
        return value
    except (TypeError, ValueError):
        return repr(value)[:200]


class PterocaJob(Job):
    """An rq job whose stored result is always JSON (jobs may return ORM objects)."""

    def _execute(self) -> Any:
        return plain_result(super()._execute())


# The order a worker listens in when given no --queues: provisioning first.
QUEUES = ("provisioning", "mail", "default")
DEFAULT_QUEUE = "default"
DEFAULT_TIMEOUT = 300  # seconds a job may run before the worker stops it
FAILED_TTL = 30 * 24 * 3600  # failed jobs stay listed (and retryable) for 30 days
RESULT_TTL = 24 * 3600


class JobError(Exception):
    """A job operation was refused (no Redis, unknown job, ...); the message says why."""


@dataclass(frozen=True)
class Retry:
    """Run a failed job again up to ``max`` times, waiting ``backoff[i]`` seconds before try i+1
    (the last value repeats)."""

    max: int
    backoff: tuple[int, ...] = (0,)

    def __post_init__(self):
        if self.max < 1:
            raise ValueError("Retry(max=...) must be at least 1")
        backoff = tuple(int(s) for s in (self.backoff or (0,)))
        if any(s < 0 for s in backoff):
            raise ValueError("Retry backoff seconds cannot be negative")
        object.__setattr__(self, "backoff", backoff)

    def intervals(self) -> list[int]:
        """Seconds to wait before each of the ``max`` retries."""
        return [self.backoff[min(i, len(self.backoff) - 1)] for i in range(self.max)]


@dataclass(frozen=True)
class JobOptions:
    queue: str = DEFAULT_QUEUE
    retry: Retry | None = None
    timeout: int = DEFAULT_TIMEOUT


def job(
    *,
    queue: str = DEFAULT_QUEUE,
    retries: int = 0,
    backoff: Sequence[int] = (0,),
    timeout: int = DEFAULT_TIMEOUT,
) -> Callable[[Callable], Callable]:
    """Declare a function's job defaults: ``@job(queue="mail", retries=3, backoff=[10, 60, 300])``.

    The function itself is returned unchanged (it stays addressable by its import path).
    """
    if queue not in QUEUES:
        raise ValueError(f"unknown job queue {queue!r} (queues: {', '.join(QUEUES)})")
    options = JobOptions(
        queue=queue, retry=Retry(retries, tuple(backoff)) if retries else None, timeout=int(timeout)
    )

    def decorate(fn: Callable) -> Callable:
        fn.__pteroca_job__ = options
        return fn

    return decorate


def options_for(fn: Callable) -> JobOptions:
    return getattr(fn, "__pteroca_job__", None) or JobOptions()


def import_path(fn: Callable) -> str:
    """``module.function`` for a module-level function; TypeError for anything else."""
    module, qualname = getattr(fn, "__module__", None), getattr(fn, "__qualname__", "")
    if not module or "<" in qualname or "." in qualname:
        raise TypeError(f"{fn!r} is not a module-level function; jobs are addressed by import path")
    if getattr(sys.modules.get(module), qualname, None) is not fn:
        raise TypeError(
            f"{module}.{qualname} does not name {fn!r}; jobs are addressed by import path"
        )
    return f"{module}.{qualname}"


def resolve(path: str) -> Callable:
    """The function a job's import path names."""
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def check_plain(values, where: str) -> None:
    """TypeError unless every value is plain JSON (the job contract)."""
    for value in values:
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError):
            raise TypeError(
                f"job {where} must be plain values (numbers, strings, lists, dicts: "
                f"ids, not ORM objects); got {type(value).__name__}"
            ) from None


def redis_url() -> str:
    if has_app_context():
        return current_app.config.get("REDIS_URL") or ""
    from kernel.config import load_config

    return load_config().get("REDIS_URL") or ""


def uses_rq() -> bool:
    return bool(redis_url())


_connections: dict[str, Any] = {}


def connection(url: str | None = None):
    """A Redis client for ``url`` (default: the app's ``PTEROCA_REDIS_URL``), one pool per URL."""
    url = url or redis_url()
    if not url:
        raise JobError("PTEROCA_REDIS_URL is not set: jobs run inline, there is no queue")
    client = _connections.get(url)
    if client is None:
        import redis

        # Timeouts: a silent Redis must not hang the request that enqueues (it then runs inline).
        client = redis.Redis.from_url(
            url, socket_connect_timeout=5, socket_timeout=5, health_check_interval=30
        )
        _connections[url] = client
    return client


def shared_redis() -> redis.Redis | None:
    """The site's Redis client (the pool :func:`connection` keeps for its URL), or None when
    no ``PTEROCA_REDIS_URL`` is set: for plugins that keep state every process shares (a
    cache, a rate budget) and fall back to the database without Redis."""
    url = redis_url()
    return connection(url) if url else None


def queue(name: str, conn=None):
    from rq import Queue
    from rq.serializers import JSONSerializer

    return Queue(
        name, connection=conn or connection(), serializer=JSONSerializer, job_class=PterocaJob
    )


def enqueue(
    fn: Callable,
    *args: Any,
    retry: Retry | int | None = None,
    queue: str | None = None,
    _job_id: str | None = None,
    **kwargs: Any,
) -> Any:
    """Run ``fn(*args, **kwargs)`` as a job.

    Inline: returns its result (exceptions propagate). On rq: returns the queued rq job.
    ``retry`` (a :class:`Retry` or a number of retries) and ``queue`` override the
    function's :func:`job` defaults for this call; they are not passed to ``fn``.
    ``_job_id`` names the rq job (the outbox uses its row id).
    """
    path = import_path(fn)
    check_plain(args, "arguments")
    check_plain(kwargs.values(), "keyword arguments")
    if not uses_rq():
        return fn(*args, **kwargs)
    options = options_for(fn)
    if isinstance(retry, int):
        retry = Retry(retry, options.retry.backoff if options.retry else (0,)) if retry else None
    elif retry is None:
        retry = options.retry
    name = queue or options.queue
    if name not in QUEUES:
        raise ValueError(f"unknown job queue {name!r} (queues: {', '.join(QUEUES)})")
    from redis.exceptions import ConnectionError as RedisDown
    from redis.exceptions import TimeoutError as RedisSlow
    from rq import Retry as RqRetry

    try:
        return _queue(name).enqueue_call(
            func=path,
            args=list(args),
            kwargs=kwargs,
            timeout=options.timeout,
            job_id=_job_id,
            result_ttl=RESULT_TTL,
            failure_ttl=FAILED_TTL,
            retry=RqRetry(max=retry.max, interval=retry.intervals()) if retry else None,
        )
    except (RedisDown, RedisSlow) as exc:
        # The caller has usually committed already (a purchase, a sign-up): doing the work now
        # beats leaving it undone. /-/health reports Redis down meanwhile.
        current_app.logger.warning("Redis unreachable (%s); running job %s inline", exc, path)
        from kernel.extensions import db

        db.session.expire_all()  # the job reads current rows, not what the caller's session held
        return fn(*args, **kwargs)


_queue = queue  # ``enqueue`` takes a keyword called ``queue``


# --- failed jobs: what the admin's Jobs page shows ---------------------------------


@dataclass
class FailedJob:
    id: str
    queue: str
    function: str
    args: list
    kwargs: dict
    error: str  # the last line of the traceback
    traceback: str
    failed_at: datetime | None
    enqueued_at: datetime | None
    attempts: int


def _failed_registries(conn):
    from rq.registry import FailedJobRegistry
    from rq.serializers import JSONSerializer

    return [
        FailedJobRegistry(name, connection=conn, serializer=JSONSerializer, job_class=PterocaJob)
        for name in QUEUES
    ]


def _latest_results(conn, found: list, serializer) -> list:
    """The latest rq result of each job (None when it has none), in one pipelined round trip.

    ``job.latest_result()`` asks Redis once per job: 200 failed jobs made the Jobs page wait on
    200 round trips. The same ``XREVRANGE ... COUNT 1`` per result stream, sent as one pipeline,
    costs one.
    """
    from rq.results import Result

    if not found:
        return []
    with conn.pipeline(transaction=False) as pipe:
        for job in found:
            pipe.xrevrange(Result.get_key(job.id), "+", "-", count=1)
        answers = pipe.execute(raise_on_error=False)
    results = []
    for job, answer in zip(found, answers, strict=True):
        result = None
        if answer and not isinstance(answer, Exception):
            result_id, payload = answer[0]
            try:
                result = Result.restore(
                    job.id, result_id.decode(), payload, connection=conn, serializer=serializer
                )
            except Exception:  # noqa: BLE001 - an unreadable result still lists the job
                result = None
        results.append(result)
    return results


def _describe(job, queue_name: str, result) -> FailedJob:
    text = (getattr(result, "exc_string", "") or "").strip()
    try:
        function, args, kwargs = job.func_name or "?", list(job.args or []), dict(job.kwargs or {})
    except Exception as exc:  # noqa: BLE001 - data written by something else
        function, args, kwargs = f"(unreadable: {type(exc).__name__})", [], {}
    # enqueue() gives rq one interval per retry, so the tries made are 1 + intervals - left.
    attempts = 1 + len(job.retry_intervals or []) - int(job.retries_left or 0)
    return FailedJob(
        id=job.id,
        queue=queue_name,
        function=function,
        args=args,
        kwargs=kwargs,
        error=text.splitlines()[-1] if text else "(no traceback recorded)",
        traceback=text,
        failed_at=job.ended_at,
        enqueued_at=job.enqueued_at,
        attempts=max(attempts, 1),
    )


def failed_jobs(limit: int = 200) -> list[FailedJob]:
    """Failed jobs on every queue, newest first.

    A constant number of Redis round trips whatever the number of jobs: per queue, the
    registry's ids, the jobs (``fetch_many``, pipelined) and their latest results (pipelined).
    """
    conn = connection()
    out = []
    for registry in _failed_registries(conn):
        ids = registry.get_job_ids(0, limit - 1, desc=True)
        found = [
            job
            for job in PterocaJob.fetch_many(ids, connection=conn, serializer=registry.serializer)
            if job is not None
        ]
        for job, result in zip(
            found, _latest_results(conn, found, registry.serializer), strict=True
        ):
            out.append(_describe(job, registry.name, result))
    out.sort(key=lambda j: j.failed_at or datetime.min, reverse=True)
    return out[:limit]


def _find_failed(job_id: str):
    conn = connection()
    for registry in _failed_registries(conn):
        if job_id and registry.connection.zscore(registry.key, job_id) is not None:
            return registry
    raise JobError(f"no failed job {job_id!r} (it may have been retried or deleted already)")


def retry_failed(job_id: str) -> str:
    """Put a failed job back on its queue; returns its function's import path."""
    registry = _find_failed(job_id)
    job = registry.requeue(job_id)
    return job.func_name or job_id


def delete_failed(job_id: str) -> str:
    """Forget a failed job; returns its function's import path."""
    registry = _find_failed(job_id)
    job = PterocaJob.fetch(job_id, connection=registry.connection, serializer=registry.serializer)
    registry.remove(job, delete_job=True)
    return job.func_name or job_id


def summary() -> dict[str, Any]:
    """Queue lengths, failed and scheduled (waiting for a retry) counts, live workers."""
    from rq import Worker
    from rq.registry import ScheduledJobRegistry

    conn = connection()
    queues = {}
    for name in QUEUES:
        q = _queue(name, conn)
        queues[name] = {
            "queued": q.count,
            "failed": q.failed_job_registry.count,
            "retrying": ScheduledJobRegistry(queue=q).count,
        }
    return {"queues": queues, "workers": Worker.count(connection=conn)}
