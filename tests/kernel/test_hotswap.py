"""Hot swap: a change made by one process is served by another running server, no restart."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.helpers import page_plugin

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, status: int, timeout: float) -> float:
    """Seconds until ``url`` answers ``status``; fails after ``timeout``."""
    start = time.monotonic()
    last = None
    while time.monotonic() - start < timeout:
        try:
            last = httpx.get(url, timeout=2).status_code
            if last == status:
                return time.monotonic() - start
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} still answers {last}, not {status}, after {timeout}s")


@pytest.fixture
def server_env(app, instance):
    env = dict(os.environ)
    env.update(
        {
            "PTEROCA_INSTANCE_PATH": str(instance),
            "PTEROCA_PLUGINS_DIR": str(instance / "plugins"),
            "PTEROCA_SECRET_KEY": "test-secret-key",
            "PTEROCA_PLUGIN_POLL_SECONDS": "0.5",
            "PTEROCA_DATABASE_URL": app.config[
                "DATABASE_URL"
            ],  # SQLite, or PostgreSQL in that pass
        }
    )
    return env


@pytest.fixture
def server(server_env):
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            "2",
            "-b",
            f"127.0.0.1:{port}",
            "kernel.wsgi:application",
        ],
        cwd=ROOT,
        env=server_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/-/health", 200, 30)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


def pteroca(env, *args):
    return subprocess.run(
        [sys.executable, "-m", "kernel", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_enable_in_one_process_is_served_by_another(server, server_env, plugins_dir):
    page_plugin(plugins_dir, "swapped")
    url = f"{server}/plugins/swapped/"
    assert httpx.get(url).status_code == 404
    result = pteroca(server_env, "plugin", "enable", "swapped")
    assert result.returncode == 0, result.stderr
    took = wait_for(url, 200, 10)
    assert took < 5
    # Both gunicorn workers follow: several requests all succeed.
    assert {httpx.get(url).status_code for _ in range(10)} == {200}
    result = pteroca(server_env, "plugin", "disable", "swapped")
    assert result.returncode == 0, result.stderr
    wait_for(url, 404, 10)
    assert {httpx.get(url).status_code for _ in range(10)} == {404}
