"""A customer's servers list with 50 servers, against the same customer's dashboard.

    .venv/bin/python bench/bench_servers.py [--servers 50] [--requests 200] [--json]

A throw-away site (SQLite in a temp folder) with the store and the Pterodactyl plugin
enabled and pointed at the panel simulator; one customer owns ``--servers`` active servers,
seeded in the simulator and linked. In one process, through Flask's test client (so the
figures are the app's own work, not a web server's), side by side and alternating:

- ``/dashboard`` and ``/servers`` (p50 of ``--requests`` each, the status cache warm and
  cold): the goal is the list within 2x of the dashboard;
- SQL statements and panel requests made while ``/servers`` renders (goal: at most 15
  statements, 0 panel requests);
- ``/servers/statuses`` (the fragment that fills the states in) with a cold cache, and
  with a panel that holds every answer 5 s (goal: under 1 s plus the page's own work);
- for reference, what the list cost before: one synchronous status per server
  (``provisioner.status`` in a loop, through the shared pooled client).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures"))

import fleet  # noqa: E402
from harness import emit, quiet_logs, say  # noqa: E402

EMAIL = "fleet@example.com"
PASSWORD = fleet.PASSWORD


def build(instance: Path, sim, servers: int):
    """The site and one customer (:data:`EMAIL`) owning ``servers`` live, linked servers."""
    app, _ = fleet.build(instance, sim, servers, emails=[EMAIL])
    return app


def statements_of(app, call) -> int:
    from sqlalchemy import event

    from kernel.extensions import db

    seen: list[str] = []
    with app.app_context():
        engine = db.engine

    def note(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        call()
    finally:
        event.remove(engine, "before_cursor_execute", note)
    return len(seen)


def timed(call) -> float:
    started = time.perf_counter()
    response = call()
    took = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"answered {response.status_code}")
    return took


def settle() -> None:
    from builtin_plugins.pterodactyl import statuses

    deadline = time.monotonic() + 30
    while statuses._running and time.monotonic() < deadline:
        time.sleep(0.02)


def forget_states(app) -> None:
    from builtin_plugins.pterodactyl.models import LiveState
    from kernel.extensions import db

    settle()
    with app.app_context():
        db.session.execute(db.delete(LiveState))
        db.session.commit()
        db.session.remove()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, default=50)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    quiet_logs()
    from simulators.pterodactyl import Simulator

    sim = Simulator(install_seconds=0.0, power_seconds=0.0)
    sim.start()
    try:
        with tempfile.TemporaryDirectory(prefix="pteroca-bench-servers-") as tmp:
            app = build(Path(tmp) / "instance", sim, args.servers)
            result = measure(app, sim, args)
    finally:
        sim.stop()
    say(
        f"/servers p50 {result['servers_p50_ms']:.1f} ms vs /dashboard "
        f"{result['dashboard_p50_ms']:.1f} ms: ratio {result['ratio']:.2f}; "
        f"{result['statements']} statements, {result['panel_requests']} panel requests"
    )
    emit(result, args.json)
    return 0


def measure(app, sim, args) -> dict:
    from builtin_plugins.store.models import Service
    from builtin_plugins.store.provisioning import provisioner_for
    from kernel.extensions import db

    client = app.test_client()
    login = client.post("/login", data={"email": EMAIL, "password": PASSWORD})
    if login.status_code not in (302, 303):
        raise RuntimeError(f"login answered {login.status_code}")
    for url in ("/dashboard", "/servers"):  # warm: templates compiled
        client.get(url)
    settle()
    # statements and panel requests of one render with a cold cache (the worst case); the
    # background refresh is held back meanwhile, so every panel request seen is the page's
    from builtin_plugins.pterodactyl import statuses

    forget_states(app)
    real, held = statuses.refresh, []
    statuses.refresh = lambda targets, settings=None: (held.extend(targets), {})[1]
    sim.clear_requests()
    try:
        cold_statements = statements_of(app, lambda: client.get("/servers"))
    finally:
        statuses.refresh = real
    synchronous = len([r for r in sim.requests if r["path"].startswith("/api/")])
    client.get("/servers")
    settle()  # the background refresh finishes; warm statements next
    warm_statements = statements_of(app, lambda: client.get("/servers"))
    # the fragment with a cold cache, then with a hung panel
    forget_states(app)
    fragment_cold = timed(lambda: client.get("/servers/statuses"))
    settle()
    forget_states(app)
    sim.set_switches(answer_delay=5)
    try:
        fragment_hung = timed(lambda: client.get("/servers/statuses"))
    finally:
        sim.set_switches(answer_delay=0)
    time.sleep(5.2)
    settle()
    # p50s, alternating; the cache refreshed as it goes stale (as in production)
    dashboard, servers = [], []
    for _ in range(args.requests):
        dashboard.append(timed(lambda: client.get("/dashboard")))
        servers.append(timed(lambda: client.get("/servers")))
    # before: one synchronous status per server while the page renders
    with app.app_context():
        rows = list(db.session.scalars(db.select(Service)))
        provisioner = provisioner_for(rows[0].product)
        provisioner.status(rows[0])  # warm the pool
        started = time.perf_counter()
        for service in rows:
            provisioner.status(service)
        sequential = time.perf_counter() - started
        db.session.remove()
    d50, s50 = statistics.median(dashboard) * 1000, statistics.median(servers) * 1000
    return {
        "servers": args.servers,
        "dashboard_p50_ms": d50,
        "servers_p50_ms": s50,
        "ratio": s50 / d50,
        "statements": max(cold_statements, warm_statements),
        "statements_cold": cold_statements,
        "statements_warm": warm_statements,
        "panel_requests": synchronous,
        "refreshes_started": len(held),
        "fragment_cold_ms": fragment_cold * 1000,
        "fragment_hung_ms": fragment_hung * 1000,
        "sequential_ms": sequential * 1000,
    }


if __name__ == "__main__":
    sys.exit(main())
