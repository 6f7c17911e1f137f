"""``/-/health``: what a load balancer and an operator need to know about this process.

Required (a failure answers 503): the database, and Redis when ``PTEROCA_REDIS_URL``
is set (jobs and rate limits live there). Informative: the scheduler heartbeat
(a single machine may run ``pteroca cron run`` from crontab instead, so a missing
scheduler is reported, not failed), the job queues, the plugin generation and
the plugins' own health checks.

Anyone gets ``{"status": "ok"}`` or ``{"status": "down"}`` (the required checks only):
plugin names, versions and problems tell an attacker what to try. The whole report
needs ``Authorization: Bearer <PTEROCA_HEALTH_TOKEN>`` or an admin's session.
"""

from __future__ import annotations

import hmac
import time
from typing import Any

from flask import current_app, request
from flask_login import current_user
from sqlalchemy import text

from kernel import clock
from kernel.extensions import db
from kernel.hooks import answers
from kernel.plugins.host import plugin_host

PING_TIMEOUT = 1.0  # seconds; a health check must answer fast even when Redis hangs

_clients: dict[str, Any] = {}


def _redis(url: str):
    client = _clients.get(url)
    if client is None:
        import redis

        client = redis.Redis.from_url(
            url, socket_connect_timeout=PING_TIMEOUT, socket_timeout=PING_TIMEOUT
        )
        _clients[url] = client
    return client


def redis_status() -> str:
    """``not configured``, ``ok`` or ``down: <reason>``."""
    url = current_app.config.get("REDIS_URL") or ""
    if not url:
        return "not configured"
    try:
        _redis(url).ping()
    except Exception as exc:  # noqa: BLE001 - any failure is "down", with its kind
        return f"down: {type(exc).__name__}"
    return "ok"


def scheduler_status() -> dict[str, Any]:
    from kernel import cron

    seen = cron.last_heartbeat()
    if seen is None:
        return {"last_heartbeat": None, "age_seconds": None}
    return {
        "last_heartbeat": seen.isoformat(timespec="seconds") + "Z",
        "age_seconds": round(max((clock.now() - seen).total_seconds(), 0.0), 1),
    }


def jobs_status(redis: str) -> Any:
    if redis == "not configured":
        return "inline"
    if redis != "ok":
        return "unavailable"
    from kernel import jobs

    try:
        summary = jobs.summary()
    except Exception as exc:  # noqa: BLE001
        return f"unavailable: {type(exc).__name__}"
    queues = summary["queues"].values()
    return {
        "queued": sum(q["queued"] for q in queues),
        "failed": sum(q["failed"] for q in queues),
        "retrying": sum(q["retrying"] for q in queues),
        "workers": summary["workers"],
    }


def may_see_details() -> bool:
    """The caller shows the health token, or is signed in with ``admin.access``."""
    token = current_app.config.get("HEALTH_TOKEN") or ""
    scheme, _sep, given = request.headers.get("Authorization", "").partition(" ")
    if (
        token
        and scheme.lower() == "bearer"
        and hmac.compare_digest(given.strip().encode(), token.encode())
    ):
        return True
    return bool(current_user.is_authenticated and current_user.has_permission("admin.access"))


def summary() -> dict[str, Any]:
    """Up or down, from the required checks only (what an anonymous caller gets)."""
    try:
        db.session.execute(text("SELECT 1"))
        database_ok = True
    except Exception:  # noqa: BLE001 - any failure is "down"
        db.session.rollback()
        database_ok = False
    redis_ok = not redis_status().startswith("down")
    return {"status": "ok" if database_ok and redis_ok else "down"}


def report() -> dict[str, Any]:
    """The whole health report; ``status`` is ``ok`` or ``down``."""
    out = health_report()  # database, plugin generation and plugin checks
    database_ok = out["database"] == "ok"
    out["redis"] = redis_status()
    out["jobs"] = jobs_status(out["redis"])
    if database_ok:
        try:
            from kernel.outbox import backlog

            out["outbox"] = backlog()
        except Exception as exc:  # noqa: BLE001 - a database older than the outbox table
            out["outbox"] = {"error": type(exc).__name__}
            db.session.rollback()
        try:
            out["scheduler"] = scheduler_status()
        except Exception as exc:  # noqa: BLE001 - a database older than the heartbeat table
            out["scheduler"] = {
                "last_heartbeat": None,
                "age_seconds": None,
                "error": type(exc).__name__,
            }
            db.session.rollback()
    else:
        out["scheduler"] = {"last_heartbeat": None, "age_seconds": None}
    down = [
        name
        for name, ok in (("database", database_ok), ("redis", not out["redis"].startswith("down")))
        if not ok
    ]
    out["status"] = "down" if down else "ok"
    out["down"] = down
    return out


def run_health_checks() -> dict[str, dict[str, str]]:
    """Run every plugin health check: ``{plugin: {check: "ok" | problem}}``.

    A ``health_checks`` hook that raises shows as a failing check of that plugin."""
    out: dict[str, dict[str, str]] = {}
    for plugin, checks, error in answers("health_checks"):
        if error is not None:
            out.setdefault(plugin, {})["health_checks"] = f"{type(error).__name__}: {error}"
            continue
        for name, check in checks or []:
            try:
                problem = check()
            except Exception as exc:  # noqa: BLE001 - a failing check is a result, not a crash
                problem = f"{type(exc).__name__}: {exc}"
            out.setdefault(plugin, {})[name] = problem or "ok"
    return out


def health_report() -> dict[str, Any]:
    host = plugin_host()
    started = time.perf_counter()
    try:
        db.session.execute(text("SELECT 1"))
        database = "ok"
    except Exception as exc:  # noqa: BLE001
        database = f"down: {type(exc).__name__}"
    checks = run_health_checks() if database == "ok" else {}
    failing = {p: c for p, c in checks.items() if any(v != "ok" for v in c.values())}
    return {
        "status": "ok" if database == "ok" else "down",
        "database": database,
        "plugin_generation": host.generation,
        "plugins_loaded": sorted(host.loaded),
        "plugin_problems": host.problems,
        "plugin_health": checks,
        "degraded": sorted(failing),
        "elapsed_ms": round((time.perf_counter() - started) * 1000, 1),
    }
