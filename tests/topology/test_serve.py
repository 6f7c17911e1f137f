"""`pteroca serve`: a real gunicorn master with sensible defaults and a graceful reload."""

from __future__ import annotations

import signal
import subprocess
import threading

import httpx
import pytest

from kernel.serve import MAX_DEFAULT_WORKERS, ServeOptions, default_workers
from tests.topology.conftest import env_for, free_port, http_login, pteroca, wait_until


def test_default_workers_grow_with_cores_and_are_capped():
    assert [default_workers(c) for c in (1, 2, 3, 4, 64)] == [3, 5, 7, MAX_DEFAULT_WORKERS, 8]


def test_settings_handed_to_gunicorn():
    settings = ServeOptions(
        bind=["127.0.0.1:9000", "unix:/run/p.sock"], workers=3, threads=4, access_log="off"
    ).gunicorn_settings()
    assert settings["bind"] == ["127.0.0.1:9000", "unix:/run/p.sock"]
    assert settings["workers"] == 3 and settings["worker_class"] == "gthread"
    assert settings["accesslog"] is None and settings["preload_app"] is False
    assert settings["max_requests_jitter"] == 100
    assert ServeOptions().gunicorn_settings()["worker_class"] == "sync"
    assert ServeOptions().gunicorn_settings()["workers"] == default_workers()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--workers", "0"], "--workers must be at least 1"),
        (["--threads", "0"], "--threads must be at least 1"),
        (["--proxy-hops", "-1"], "--proxy-hops cannot be negative"),
    ],
)
def test_bad_options_are_refused_before_starting(app, args, message):
    result = pteroca(env_for(app), "serve", *args, timeout=60)
    assert result.returncode == 1 and f"error: {message}" in result.stderr


def worker_pids(master: int) -> set[int]:
    out = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(master)], capture_output=True, text=True
    ).stdout
    return {int(p) for p in out.split()}


def test_serve_runs_gunicorn_and_reloads_gracefully_on_hup(app, tmp_path, processes):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = processes(
        env_for(app),
        "serve",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "2",
        log=tmp_path / "serve.log",
    )
    wait_until(lambda: httpx.get(f"{base}/-/health").status_code == 200, 40, "server up")
    wait_until(lambda: len(worker_pids(server.pid)) == 2, 20, "two workers")
    before = worker_pids(server.pid)
    assert "Starting gunicorn" in server.output() and "Using worker: sync" in server.output()
    wait_until(lambda: '"GET /-/health HTTP/1.1" 200' in server.output(), 5, "access log line")

    # Keep asking while the master replaces its workers: no request may fail.
    statuses, stop = [], threading.Event()

    def hammer():
        with httpx.Client(base_url=base, timeout=10) as client:
            while not stop.is_set():
                statuses.append(client.get("/-/health").status_code)

    thread = threading.Thread(target=hammer)
    thread.start()
    server.signal(signal.SIGHUP)
    wait_until(
        lambda: len(worker_pids(server.pid)) == 2 and not worker_pids(server.pid) & before,
        40,
        "workers replaced",
    )
    stop.set()
    thread.join()
    assert statuses and set(statuses) == {200}
    assert "Hang up" in server.output() or "Handling signal: hup" in server.output().lower()

    assert server.stop() == 0
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{base}/-/health", timeout=2)


@pytest.mark.parametrize("hops, seen", [(1, "203.0.113.7"), (0, "127.0.0.1")])
def test_proxy_hops_trust_the_proxy_for_the_client_address(app, tmp_path, processes, hops, seen):
    from kernel.extensions import db
    from kernel.models import AuditLog
    from tests.helpers import make_user

    with app.app_context():
        make_user("proxied@example.com")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    processes(
        env_for(app),
        "serve",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "1",
        "--proxy-hops",
        str(hops),
        log=tmp_path / "serve.log",
    )
    wait_until(lambda: httpx.get(f"{base}/-/health").status_code == 200, 40, "server up")
    with httpx.Client(base_url=base) as client:
        http_login(
            client,
            "proxied@example.com",
            "correct horse battery",
            **{
                "X-Forwarded-For": "203.0.113.7",
                "X-Forwarded-Proto": "https",
                # HTTPS (as the proxy says): Flask-WTF checks the referrer too
                "Referer": f"https://127.0.0.1:{port}/login",
            },
        )
    with app.app_context():
        ips = db.session.scalars(db.select(AuditLog.ip).where(AuditLog.action == "user.login"))
        assert list(ips) == [seen]
