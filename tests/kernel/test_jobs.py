"""kernel.jobs without Redis: jobs run inline, in the caller's app context, as before rq existed."""

from __future__ import annotations

import pytest
from flask import current_app

from kernel import jobs

CALLS: list = []


@jobs.job(queue="mail", retries=3, backoff=[10, 60, 300], timeout=30)
def mailer(to, subject="hi"):
    CALLS.append((to, subject, current_app.config["TESTING"]))
    return {"to": to}


def explode(message):
    raise RuntimeError(message)


def test_inline_runs_at_once_with_args_and_returns_the_result(app):
    CALLS.clear()
    with app.app_context():
        assert jobs.uses_rq() is False
        assert jobs.enqueue(mailer, "a@example.com", subject="yo") == {"to": "a@example.com"}
    assert CALLS == [("a@example.com", "yo", True)]


def test_inline_errors_reach_the_caller(app):
    with app.app_context(), pytest.raises(RuntimeError, match="boom"):
        jobs.enqueue(explode, "boom")


def test_retry_and_queue_are_enqueue_options_not_job_arguments(app):
    CALLS.clear()
    with app.app_context():
        jobs.enqueue(mailer, "b@example.com", retry=5, queue="default")
    assert CALLS == [("b@example.com", "hi", True)]


def test_decorator_records_defaults_and_returns_the_function():
    options = jobs.options_for(mailer)
    assert mailer.__name__ == "mailer" and jobs.resolve(jobs.import_path(mailer)) is mailer
    assert options.queue == "mail" and options.timeout == 30
    assert options.retry == jobs.Retry(3, (10, 60, 300))
    assert jobs.options_for(explode) == jobs.JobOptions()


def test_backoff_gives_one_interval_per_retry_repeating_the_last():
    assert jobs.Retry(3, (10, 60, 300)).intervals() == [10, 60, 300]
    assert jobs.Retry(4, (5, 30)).intervals() == [5, 30, 30, 30]
    assert jobs.Retry(2).intervals() == [0, 0]


@pytest.mark.parametrize(
    "bad, message",
    [
        (lambda: jobs.Retry(0), "at least 1"),
        (lambda: jobs.Retry(2, (5, -1)), "negative"),
        (lambda: jobs.job(queue="nope"), "unknown job queue 'nope'"),
    ],
)
def test_bad_job_options_are_refused(bad, message):
    with pytest.raises(ValueError, match=message):
        bad()


def test_only_module_level_functions_can_be_jobs(app):
    def local(x):
        return x

    with app.app_context():
        with pytest.raises(TypeError, match="not a module-level function"):
            jobs.enqueue(local, 1)
        with pytest.raises(TypeError, match="not a module-level function"):
            jobs.enqueue(lambda: 1)


def test_arguments_must_be_plain_values(app):
    from kernel.accounts.models import User

    with app.app_context():
        with pytest.raises(TypeError, match="ids, not ORM objects\\); got User"):
            jobs.enqueue(mailer, User(email="x@example.com"))
        with pytest.raises(TypeError, match="keyword arguments must be plain.*got object"):
            jobs.enqueue(mailer, "x", subject=object())


def test_unknown_queue_on_a_call_is_refused_on_rq(app):
    app.config["REDIS_URL"] = "redis://127.0.0.1:9/0"  # never reached: the queue name fails first
    with app.app_context(), pytest.raises(ValueError, match="unknown job queue 'fast'"):
        jobs.enqueue(mailer, "x", queue="fast")


def test_without_redis_there_is_no_queue(app):
    with app.app_context(), pytest.raises(jobs.JobError, match="PTEROCA_REDIS_URL is not set"):
        jobs.connection()


def test_redis_unreachable_runs_the_job_inline(app, caplog):
    CALLS.clear()
    app.config["REDIS_URL"] = "redis://127.0.0.1:9/0"  # nothing listens there
    with app.app_context():
        assert jobs.uses_rq()
        assert jobs.enqueue(mailer, "c@example.com") == {"to": "c@example.com"}
    assert CALLS == [("c@example.com", "hi", True)]
    assert "Redis unreachable" in caplog.text
    assert "running job tests.kernel.test_jobs.mailer inline" in caplog.text
