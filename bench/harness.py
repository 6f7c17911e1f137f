"""Shared pieces of the benchmarks: servers under gunicorn, load from another process, results.

Not a benchmark itself. Every ``bench_*.py`` script prints readable lines and, with
``--json``, one JSON object on the last line of stdout, which ``run_all.py`` reads.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
FIXTURES = BENCH / "fixtures"
PYTHON = sys.executable
WRK = shutil.which("wrk")
POSTGRES_ENV = "PTEROCA_TEST_POSTGRES_URL"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def isolate_environment() -> None:
    """Forget the caller's ``PTEROCA_*`` settings (``make`` exports PTEROCA_INSTANCE_PATH, and a
    PTEROCA_DATABASE_URL would point a benchmark at a real database): every benchmark builds its
    own throw-away instance. Only the PostgreSQL admin URL for test databases is kept."""
    for key in [k for k in os.environ if k.startswith("PTEROCA_") and k != POSTGRES_ENV]:
        del os.environ[key]


isolate_environment()  # on import, before any benchmark reads its configuration


def say(*parts) -> None:
    """Progress and readable results: stderr, so stdout's last line stays the JSON."""
    print(*parts, file=sys.stderr, flush=True)


def emit(result: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, sort_keys=True), flush=True)


def quiet_logs() -> None:
    import logging

    logging.getLogger("kernel").setLevel(logging.ERROR)  # "database not initialised" at bootstrap


def workers_default() -> int:
    return os.cpu_count() or 2


# --- processes ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_get(url: str, cookie: str = "", timeout: float = 5.0) -> tuple[int, bytes]:
    """(status, body) without following redirects; (0, b"") when nothing answers."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.request(
            "GET",
            parts.path + (f"?{parts.query}" if parts.query else ""),
            headers={"Cookie": cookie} if cookie else {},
        )
        response = conn.getresponse()
        return response.status, response.read()
    except OSError:
        return 0, b""
    finally:
        conn.close()


def wait_for(url: str, status: int = 200, timeout: float = 60.0, interval: float = 0.05) -> float:
    """Seconds until ``url`` answers ``status``; raises after ``timeout``."""
    start = time.monotonic()
    last = None
    while time.monotonic() - start < timeout:
        last, _body = http_get(url, timeout=2)
        if last == status:
            return time.monotonic() - start
        time.sleep(interval)
    raise RuntimeError(f"{url} still answers {last}, not {status}, after {timeout:.0f}s")


class Gunicorn:
    """``python -m gunicorn -w N`` serving ``target`` on a free port, its log in a temp file."""

    def __init__(
        self,
        target: str,
        env: dict,
        workers: int,
        *,
        pythonpath: str | None = None,
        name: str = "server",
        health: str = "/-/health",
    ):
        self.target, self.env, self.workers = target, env, workers
        self.pythonpath, self.name, self.health = pythonpath, name, health
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.log = tempfile.NamedTemporaryFile(prefix=f"bench-{name}-", suffix=".log", delete=False)

    def start(self, timeout: float = 90.0) -> Gunicorn:
        cmd = [
            PYTHON,
            "-m",
            "gunicorn",
            "-w",
            str(self.workers),
            "-b",
            f"127.0.0.1:{self.port}",
            "--graceful-timeout",
            "5",
            "--log-level",
            "warning",
        ]
        if self.pythonpath:
            cmd += ["--pythonpath", self.pythonpath]
        self.proc = subprocess.Popen(
            cmd + [self.target], cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT
        )
        try:
            start = time.monotonic()
            while time.monotonic() - start < timeout:
                if self.proc.poll() is not None:
                    raise RuntimeError(
                        f"{self.name} exited with {self.proc.returncode}:\n" + self.tail()
                    )
                status, _ = http_get(self.url + self.health, timeout=2)
                if status == 200 and len(self.worker_pids()) >= self.workers:
                    return self
                time.sleep(0.1)
            raise RuntimeError(
                f"{self.name} did not answer {self.health} in {timeout:.0f}s:\n" + self.tail()
            )
        except BaseException:
            self.stop()
            raise

    def tail(self, lines: int = 30) -> str:
        self.log.flush()
        text = Path(self.log.name).read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def worker_pids(self) -> list[int]:
        if self.proc is None:
            return []
        path = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        try:
            return [int(p) for p in path.read_text().split()]
        except OSError:
            return []

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the workers have used so far."""
        total = 0.0
        for pid in self.worker_pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime
        return total

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None
        try:
            os.unlink(self.log.name)
        except OSError:
            pass

    def __enter__(self) -> Gunicorn:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def proc_status_kib(pid: int, field: str) -> int:
    """A ``kB`` field of /proc/<pid>/status (VmRSS: resident now, VmHWM: peak resident)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


# --- load ------------------------------------------------------------------------------------

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def _wrk_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not match:
        raise ValueError(f"unreadable wrk latency {text!r}")
    value, unit = float(match.group(1)), match.group(2)
    return value * (60_000.0 if unit == "m" else _UNITS[unit])


def parse_wrk(output: str) -> dict:
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    total = re.search(r"(\d+) requests in", output)
    if not rps or not total:
        raise RuntimeError("wrk printed no result:\n" + output)
    latency = {
        m.group(1): _wrk_ms(m.group(2))
        for m in re.finditer(r"^\s+(50|75|90|99)%\s+(\S+)", output, re.M)
    }
    errors = 0
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    if bad:
        errors += int(bad.group(1))
    sock = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    if sock:
        errors += sum(int(x) for x in sock.groups())
    return {
        "rps": float(rps.group(1)),
        "requests": int(total.group(1)),
        "p50_ms": latency.get("50"),
        "p99_ms": latency.get("99"),
        "errors": errors,
    }


def load(
    url: str, *, seconds: float, connections: int, cookie: str = "", tool: str = "auto"
) -> dict:
    """Load ``url`` from another process for ``seconds``: rps, p50/p99 in ms, errors, tool used."""
    use_wrk = WRK is not None and tool in ("auto", "wrk")
    if tool == "wrk" and WRK is None:
        raise RuntimeError("wrk is not installed (apt-get install wrk)")
    if use_wrk:
        cmd = [
            WRK,
            "-t",
            "1",
            "-c",
            str(connections),
            "-d",
            f"{seconds:g}s",
            "--latency",
            "--timeout",
            "10s",
        ]
        if cookie:
            cmd += ["-H", f"Cookie: {cookie}"]
        out = subprocess.run(cmd + [url], capture_output=True, text=True, timeout=seconds + 60)
        if out.returncode != 0:
            raise RuntimeError(f"wrk failed ({out.returncode}): {out.stderr or out.stdout}")
        result = parse_wrk(out.stdout)
        result["tool"] = "wrk"
        return result
    return pyload(url, seconds=seconds, connections=connections, cookie=cookie)


def pyload(
    url: str,
    *,
    seconds: float | None = None,
    requests: int | None = None,
    connections: int = 4,
    cookie: str = "",
) -> dict:
    """The Python load generator (``bench/loadgen.py``) in its own process."""
    cmd = [PYTHON, str(BENCH / "loadgen.py"), url, "--connections", str(connections)]
    if seconds is not None:
        cmd += ["--seconds", f"{seconds:g}"]
    if requests is not None:
        cmd += ["--requests", str(requests)]
    if cookie:
        cmd += ["--header", f"Cookie: {cookie}"]
    out = subprocess.run(
        cmd, capture_output=True, text=True, timeout=(seconds or 0) + (requests or 0) / 20 + 120
    )
    if out.returncode != 0:
        raise RuntimeError(f"loadgen failed ({out.returncode}): {out.stderr}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["tool"] = "python"
    return result


def load_tool_note() -> str:
    if WRK:
        return f"wrk ({WRK})"
    return "Python load generator (bench/loadgen.py): wrk is not installed, apt-get install wrk"


# --- machine --------------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return 0.0


def postgres_version(admin_url: str) -> str:
    if not admin_url:
        return ""
    try:
        import psycopg
        from sqlalchemy.engine import make_url

        plain = (
            make_url(admin_url).set(drivername="postgresql").render_as_string(hide_password=False)
        )
        with psycopg.connect(plain, connect_timeout=5) as conn:
            return conn.execute("SHOW server_version").fetchone()[0].split()[0]
    except Exception as exc:  # noqa: BLE001 - a description, not a measurement
        return f"unreachable ({type(exc).__name__})"


def machine(postgres_url: str = "") -> dict:
    return {
        "cores": os.cpu_count(),
        "cpu": _cpu_model(),
        "ram_gib": round(_ram_gib(), 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": postgres_version(postgres_url),
        "load_tool": load_tool_note(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


@contextmanager
def postgres_database(admin_url: str):
    """A fresh PostgreSQL database for one run, dropped afterwards; yields its URL."""
    from tests.services import fresh_postgres_database

    url, drop = fresh_postgres_database(admin_url)
    try:
        yield url
    finally:
        from kernel.extensions import db

        try:
            db.session.remove()
        except Exception:  # noqa: BLE001 - outside an app context there is nothing to remove
            pass
        drop()
