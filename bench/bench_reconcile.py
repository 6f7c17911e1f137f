"""Reconcile of a fleet against the Pterodactyl simulator: SQL statements and pteroca's own time.

    .venv/bin/python bench/bench_reconcile.py [--servers 10000] [--drift 20] [--json]
    .venv/bin/python bench/bench_reconcile.py --budget [--servers 100000]

A throw-away site (SQLite in a temp folder) with the store and the Pterodactyl plugin pointed at
the panel simulator; ``--servers`` active services seeded in the simulator and linked, as the
product wants them. ``--drift`` of them are then suspended in the panel behind pteroca's back.
One full ``reconcile()`` is timed twice (the first puts the drifted ones back, the second finds
everything in line); the panel's listing pages are read and timed first and handed to the run,
so the run's time is pteroca's own (plus, in the first run, the repairs it sends). Reported:
statements per 100 servers (goal <= 3; the resume cursor committed after each page is counted)
and pteroca's time (goal < 2 s at 10,000 servers).

``--budget``: the request budget instead. The simulator keeps its DEFAULT rate limits (240
application requests a minute), the plugin its default budget, and one full ``reconcile()``
asks the panel for everything itself, twice in a row (a second run in the same minute is
what used to wait on ``Retry-After``). The simulator's limiter and the budget share one virtual
clock that only sleeping moves, so pacing costs no wall time while the limiter stays exact.
Reported: requests sent, 429 answers (goal 0), virtual minutes, wall seconds.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures"))

import fleet  # noqa: E402
from harness import emit, quiet_logs, say  # noqa: E402


def build(instance: Path, sim, servers: int):
    """The site and ``servers`` live, linked servers, 50 a customer; the panel servers' ids."""
    per_user = 50
    emails = [f"c{n}@example.com" for n in range(-(-servers // per_user))]
    app, seeded = fleet.build(instance, sim, servers, emails=emails)
    return app, seeded.servers


def run(app) -> dict:
    from sqlalchemy import event

    from builtin_plugins.pterodactyl.client import PanelClient
    from builtin_plugins.pterodactyl.panel import load_settings
    from builtin_plugins.pterodactyl.reconcile import PAGE, reconcile
    from kernel.extensions import db

    seen: list[str] = []
    with app.app_context():
        engine = db.engine
        settings = load_settings()
        client = PanelClient(settings.url, settings.application_key, settings.client_key)
        started = time.perf_counter()
        pages = [client.app.servers_page(1, per_page=PAGE)]
        while pages[-1].current_page < pages[-1].total_pages:
            pages.append(client.app.servers_page(len(pages) + 1, per_page=PAGE))
        listing = [server for page in pages for server in page.items]
        listing_s = time.perf_counter() - started
        # the run below gets these pages without asking again: its time is pteroca's own
        # (plus the repairs it sends, when something drifted)
        client.app.servers_page = lambda number, per_page: pages[number - 1]

        def note(conn, cursor, statement, *args):
            seen.append(statement)

        event.listen(engine, "before_cursor_execute", note)
        started = time.perf_counter()
        try:
            report = reconcile(client=client)
        finally:
            event.remove(engine, "before_cursor_execute", note)
        total = time.perf_counter() - started
        db.session.remove()
    return {
        "servers_listed": len(listing),
        "checked": report.checked,
        "repaired": len(report.repaired),
        "findings": len(report.findings),
        "statements": len(seen),
        "listing_s": listing_s,
        "pteroca_s": total,
    }


def run_paced(app, sim, clock) -> dict:
    """Two full reconcile runs through the plugin's own (budgeted) client, back to back."""
    from builtin_plugins.panel_kit.api import max_rate
    from builtin_plugins.pterodactyl import panel
    from builtin_plugins.pterodactyl.reconcile import reconcile
    from kernel.extensions import db

    panel.CLIENT_OPTIONS.update(sleep=clock.sleep, clock=clock)
    panel.forget_clients()
    sim.clear_requests()
    sent_before = dict(sim.status_counts)
    started_wall, started_virtual = time.perf_counter(), clock()
    checked = []
    with app.app_context():
        per_minute = max_rate(panel.load_settings().application_requests_per_minute)
        for _ in range(2):
            checked.append(reconcile().checked)
            db.session.remove()
    counts = {k: v - sent_before.get(k, 0) for k, v in sim.status_counts.items()}
    return {
        "checked": checked,
        "requests": sum(counts.values()),
        "throttled": counts.get(429, 0),
        "virtual_minutes": (clock() - started_virtual) / 60,
        "wall_s": time.perf_counter() - started_wall,
        "application_per_minute": per_minute,
    }


def budget_main(args) -> int:
    from builtin_plugins.panel_kit.api import VirtualClock
    from simulators.pterodactyl import Simulator

    clock = VirtualClock()
    sim = Simulator(install_seconds=0.0, power_seconds=0.0, clock=clock)
    sim.start()
    try:
        with tempfile.TemporaryDirectory(prefix="pteroca-bench-budget-") as tmp:
            say(f"seeding {args.servers} servers ...")
            app, _ = build(Path(tmp) / "instance", sim, args.servers)
            say("two reconcile runs against the default limits ...")
            result = run_paced(app, sim, clock)
    finally:
        sim.stop()
    result["servers"] = args.servers
    result["limit"] = sim.switch("application_rate_limit")
    say(
        f"{args.servers} servers, two runs: {result['requests']} requests, "
        f"{result['throttled']} answered 429, {result['virtual_minutes']:.1f} virtual minutes "
        f"(budget {result['application_per_minute']}/min, panel {result['limit']}/min), "
        f"{result['wall_s']:.1f} s wall"
    )
    emit(result, args.json)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, default=10_000)
    parser.add_argument("--drift", type=int, default=20)
    parser.add_argument("--budget", action="store_true", help="the request budget (see above)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    quiet_logs()
    if args.budget:
        return budget_main(args)
    from simulators.pterodactyl import Simulator

    sim = Simulator(install_seconds=0.0, power_seconds=0.0)
    sim.set_switches(application_rate_limit=1_000_000)  # the budget is not what this measures
    sim.start()
    try:
        with tempfile.TemporaryDirectory(prefix="pteroca-bench-reconcile-") as tmp:
            say(f"seeding {args.servers} servers ...")
            app, server_ids = build(Path(tmp) / "instance", sim, args.servers)
            step = max(1, len(server_ids) // max(1, args.drift))
            with sim.state.lock:
                for server_id in server_ids[::step][: args.drift]:
                    sim.state.servers[server_id].status = "suspended"
            repairing = run(app)
            in_line = run(app)
    finally:
        sim.stop()
    result = {
        "servers": args.servers,
        "drift": args.drift,
        "repairing": repairing,
        "in_line": in_line,
        "per_100": in_line["statements"] / max(1, in_line["checked"]) * 100,
    }
    say(
        f"{args.servers} servers: in line {in_line['statements']} statements "
        f"({result['per_100']:.2f} per 100), pteroca {in_line['pteroca_s']:.2f} s "
        f"(listing {in_line['listing_s']:.2f} s); with {args.drift} drifted: "
        f"{repairing['statements']} statements, pteroca {repairing['pteroca_s']:.2f} s, "
        f"{repairing['repaired']} repaired"
    )
    emit(result, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
