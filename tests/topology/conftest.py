"""Real processes: `pteroca serve`, `pteroca worker`, `pteroca scheduler`, as systemd runs them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from kernel.testing import HEALTH_TOKEN

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(check, timeout: float, what: str, interval: float = 0.1):
    """Call ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except (httpx.TransportError, OSError) as exc:
            last = exc
        if last and not isinstance(last, Exception):
            return last
        time.sleep(interval)
    raise AssertionError(f"{what}: still not true after {timeout}s (last: {last!r})")


def pteroca_env(instance: Path, **extra) -> dict:
    """The environment of a pteroca process whose instance folder is ``instance``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PTEROCA_") or k.startswith("PTEROCA_TEST_")
    }
    env.update(
        {
            "PTEROCA_INSTANCE_PATH": str(instance),
            "PTEROCA_PLUGINS_DIR": str(instance / "plugins"),
            "PTEROCA_THEMES_DIR": str(instance / "themes"),
            "PTEROCA_SECRET_KEY": "test-secret-key",
            "PTEROCA_PLUGIN_POLL_SECONDS": "0.5",
            "PTEROCA_OSV_URL": "http://127.0.0.1:9",
            "PTEROCA_HEALTH_TOKEN": HEALTH_TOKEN,  # HEALTH_HEADERS show the whole report
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update({k: str(v) for k, v in extra.items()})
    return env


def pteroca(env: dict, *args, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run one ``pteroca`` command to completion."""
    return subprocess.run(
        [sys.executable, "-m", "kernel", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


class Process:
    """A long-running ``pteroca`` command, its output collected in a log file."""

    def __init__(self, env: dict, args: list[str], log: Path):
        self.args, self.log = args, log
        self._out = open(log, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kernel", *args],
            env=env,
            cwd=ROOT,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def signal(self, sig) -> None:
        self.proc.send_signal(sig)

    def stop(self, timeout: float = 15) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)  # the group: gunicorn/rq children too
                self.proc.wait(5)
        self._out.close()
        return self.proc.returncode


@pytest.fixture
def processes():
    """Start ``pteroca`` processes; all are stopped (SIGTERM, then SIGKILL) after the test."""
    started: list[Process] = []

    def start(env: dict, *args, log: Path) -> Process:
        proc = Process(env, list(args), log)
        started.append(proc)
        return proc

    yield start
    for proc in reversed(started):
        proc.stop()


def env_for(app, **extra) -> dict:
    """The environment of a process sharing ``app``'s instance, database and Redis."""
    instance = Path(app.config["INSTANCE_PATH"])
    values = {"PTEROCA_DATABASE_URL": app.config["DATABASE_URL"]}
    for key in ("REDIS_URL", "MAIL_URL"):
        if app.config.get(key):
            values[f"PTEROCA_{key}"] = app.config[key]
    return pteroca_env(instance, **values, **extra)


def csrf_token(html: str) -> str:
    import re

    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def http_login(client: httpx.Client, email: str, password: str, **headers) -> httpx.Response:
    """Log in through the real form (CSRF token included); fails unless it redirects."""
    token = csrf_token(client.get("/login", headers=headers).text)
    response = client.post(
        "/login", data={"email": email, "password": password, "csrf_token": token}, headers=headers
    )
    assert response.status_code in (302, 303), f"login of {email}: {response.status_code}"
    return response


def post_form(
    client: httpx.Client, page: str, action: str, data: dict, **headers
) -> httpx.Response:
    """POST ``data`` to ``action`` with the CSRF token found on ``page``."""
    token = csrf_token(client.get(page, headers=headers).text)
    return client.post(action, data={**data, "csrf_token": token}, headers=headers)
