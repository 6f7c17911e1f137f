"""Rate-limit counters outlive an app: in Redis with PTEROCA_REDIS_URL, in the database otherwise.
Every process, and every app the hot swap builds, counts against one limit."""

from __future__ import annotations

from kernel.testing import build_app, rebuild
from tests.helpers import post_login

LIMIT = {"RATELIMIT_LOGIN": "3 per minute"}


def wrong_login(app):
    return post_login(app.test_client(), "x@example.com", "wrong password!").status_code


def test_two_app_instances_share_one_login_limit(instance, plugins_dir, redis_url):
    first = build_app(instance, REDIS_URL=redis_url, **LIMIT)
    second = build_app(instance, REDIS_URL=redis_url, **LIMIT)
    assert first.extensions["pteroca_limiter"] is not second.extensions["pteroca_limiter"]
    assert [wrong_login(first), wrong_login(second), wrong_login(first)] == [400, 400, 400]
    assert wrong_login(second) == 429
    assert wrong_login(first) == 429


def test_without_redis_the_database_counts_for_every_app(instance, plugins_dir):
    first = build_app(instance, **LIMIT)
    second = build_app(instance, **LIMIT)  # another process on the same database
    assert [wrong_login(first) for _ in range(3)] == [400] * 3
    assert wrong_login(first) == 429
    assert wrong_login(second) == 429


def test_a_hot_swap_does_not_reset_the_counters(instance, plugins_dir, cli):
    app = build_app(instance, **LIMIT)
    assert [wrong_login(app) for _ in range(3)] == [400] * 3
    assert cli("plugin", "enable", "hello_world", "--accept-risk").exit_code == 0  # a new generation
    swapped = rebuild(app)  # what every process builds after the change
    assert "hello_world" in swapped.extensions["pteroca"].loaded
    assert wrong_login(swapped) == 429


def test_a_hot_swap_does_not_reset_redis_counters(instance, plugins_dir, redis_url):
    app = build_app(instance, REDIS_URL=redis_url, **LIMIT)
    assert [wrong_login(app) for _ in range(3)] == [400] * 3
    assert wrong_login(rebuild(app)) == 429


def test_counters_expire_with_their_window(instance, plugins_dir):
    import time

    from kernel.accounts.limit_storage import RateLimitCounter, prune
    from kernel.extensions import db

    app = build_app(instance, RATELIMIT_LOGIN="2 per 1 second")
    assert [wrong_login(app) for _ in range(3)] == [400, 400, 429]
    time.sleep(1.1)
    assert wrong_login(app) == 400  # a new window
    time.sleep(1.1)
    with app.app_context():
        assert prune() >= 1
        assert db.session.scalars(db.select(RateLimitCounter)).all() == []


def test_redis_down_does_not_lock_people_out(instance, plugins_dir):
    app = build_app(instance, REDIS_URL="redis://127.0.0.1:9/0", **LIMIT)
    assert [wrong_login(app) for _ in range(3)] == [400] * 3
    assert wrong_login(app) == 429  # limits still hold, in this process's memory


def test_a_silent_redis_does_not_hang_logins(instance, plugins_dir):
    import socket
    import time

    with socket.socket() as silent:  # accepts connections (backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        app = build_app(instance, REDIS_URL=f"redis://127.0.0.1:{port}/0", **LIMIT)
        started = time.monotonic()
        assert [wrong_login(app) for _ in range(4)] == [400, 400, 400, 429]
        assert time.monotonic() - started < 10
