"""Kernel overhead: pteroca's dashboard against a bare Flask app rendering the same page.

    .venv/bin/python bench/bench_overhead.py [--workers N] [--seconds S] [--rounds R]
                                             [--plugins 30] [--tool auto|wrk|python] [--json]

A throw-away site (SQLite in a temp folder, the store enabled, one customer with
a balance, three servers, a message of the day) is served by gunicorn with N
sync workers running the real ``kernel.wsgi:application``; the bare app
(``fixtures/bare_app.py``) serves the same page from the same database under the
same gunicorn settings. Both are loaded in turn from another process (wrk, or
``loadgen.py``) with the session cookie a real login produced; the rounds
alternate between them so drift on a shared machine hits both alike. Then
``--plugins`` synthetic drop-ins, each implementing the page's hooks, are scanned
and enabled, the bare app renders their additions inline, and both are measured
again. Reported: requests/s and p50/p99 per app and the ratio pteroca / bare,
plus the CPU time the workers spent per request and how many cores they kept
busy (from /proc), which tell work done per request from waiting.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import FIXTURES, Gunicorn, emit, http_get, load, quiet_logs, say, workers_default  # noqa: E402


def queries_per_request(app, cookie: str) -> int:
    """SQL statements pteroca runs for one dashboard request (in this process)."""
    from sqlalchemy import event

    from kernel.extensions import db

    client = app.test_client()
    client.set_cookie("session", cookie.split("=", 1)[1])
    client.get("/dashboard")  # warm: template compiled, settings cached per request anyway
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        status = client.get("/dashboard").status_code
    finally:
        event.remove(engine, "before_cursor_execute", count)
    if status != 200:
        raise RuntimeError(f"in-process dashboard answered {status}")
    return len(seen)


def measure_pair(pteroca: Gunicorn, bare: Gunicorn, cookie: str, extras: int, args) -> dict:
    url = "/dashboard"
    sizes = {}
    # the store's widget, and the last synthetic plugin's widget when there are any
    markers = [b"My servers"] + ([f"Widget {extras:02d}".encode()] if extras else [])
    for side, server in (("pteroca", pteroca), ("bare", bare)):
        status, body = http_get(server.url + url, cookie)
        if status != 200 or not all(m in body for m in markers):
            raise RuntimeError(f"{side} dashboard answered {status} without all its widgets")
        sizes[side] = len(body)
    for server in (pteroca, bare):  # warm-up: templates compiled, connections pooled
        load(
            server.url + url, seconds=1, connections=args.connections, cookie=cookie, tool=args.tool
        )
    runs: dict[str, list[dict]] = {"pteroca": [], "bare": []}
    for round_no in range(args.rounds):
        order = [("pteroca", pteroca), ("bare", bare)]
        if round_no % 2:
            order.reverse()
        for side, server in order:
            cpu = server.cpu_seconds()
            result = load(
                server.url + url,
                seconds=args.seconds,
                connections=args.connections,
                cookie=cookie,
                tool=args.tool,
            )
            cpu = server.cpu_seconds() - cpu
            if result["errors"]:
                raise RuntimeError(f"{side}: {result['errors']} failed requests under load")
            # CPU the workers spent per request, and how many cores they kept busy
            result["cpu_ms"] = cpu / max(result["requests"], 1) * 1000
            result["cores"] = cpu / args.seconds
            runs[side].append(result)
            say(
                f"  round {round_no + 1} {side:<8} {result['rps']:8.1f} req/s  "
                f"p50 {result['p50_ms']:7.2f} ms  p99 {result['p99_ms']:7.2f} ms  "
                f"{result['cpu_ms']:5.2f} ms CPU/request on {result['cores']:.2f} cores"
            )
    out = {"page_bytes": sizes, "tool": runs["pteroca"][0]["tool"]}
    for side, results in runs.items():
        out[side] = {
            key: statistics.median(r[key] for r in results)
            for key in ("rps", "p50_ms", "p99_ms", "cpu_ms", "cores")
        }
        out[side]["rounds"] = [round(r["rps"], 1) for r in results]
    out["ratio"] = out["pteroca"]["rps"] / out["bare"]["rps"]
    return out


def run_config(label: str, instance: Path, extras: int, cookie: str | None, args):
    from benchsite import bare_env, log_in, server_env

    env = server_env(instance)
    with (
        Gunicorn("kernel.wsgi:application", env, args.workers, name="pteroca") as pteroca,
        Gunicorn(
            "bare_app:application",
            bare_env(instance, extras),
            args.workers,
            pythonpath=str(FIXTURES),
            name="bare",
        ) as bare,
    ):
        cookie = cookie or log_in(pteroca.url)
        say(
            f"{label}: pteroca at {pteroca.url}, bare Flask at {bare.url}, "
            f"{args.workers} workers each"
        )
        return measure_pair(pteroca, bare, cookie, extras, args), cookie


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=workers_default())
    parser.add_argument("--seconds", type=float, default=4.0, help="length of one load run")
    parser.add_argument("--rounds", type=int, default=3, help="load runs per app (median)")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--plugins", type=int, default=30, help="synthetic plugins (0: skip)")
    parser.add_argument("--tool", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    quiet_logs()
    import benchsite as fixture

    result = {
        "workers": args.workers,
        "connections": args.connections,
        "seconds": args.seconds,
        "rounds": args.rounds,
    }
    with tempfile.TemporaryDirectory(prefix="pteroca-bench-") as tmp:
        instance = Path(tmp) / "instance"
        app = fixture.build_site(instance)
        base, cookie = run_config("base", instance, 0, None, args)
        base["queries"] = queries_per_request(app, cookie)
        result["base"] = base
        say(
            f"base: ratio {base['ratio']:.2f} (pteroca {base['pteroca']['rps']:.1f} / "
            f"bare {base['bare']['rps']:.1f} req/s), pages {base['page_bytes']}"
        )
        if args.plugins:
            app = fixture.add_plugins(app, args.plugins)
            extra, _ = run_config(f"+{args.plugins} plugins", instance, args.plugins, cookie, args)
            extra["queries"] = queries_per_request(app, cookie)
            extra["count"] = args.plugins
            result["plugins"] = extra
            say(
                f"+{args.plugins} plugins: ratio {extra['ratio']:.2f} "
                f"(pteroca {extra['pteroca']['rps']:.1f} / bare {extra['bare']['rps']:.1f} "
                f"req/s), pages {extra['page_bytes']}"
            )
    result["tool"] = base["tool"]
    emit(result, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
