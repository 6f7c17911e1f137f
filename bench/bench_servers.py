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

from harness import emit, quiet_logs, say  # noqa: E402

EMAIL = "fleet@example.com"
PASSWORD = "fleet-password-1"


def build(instance: Path, sim, servers: int):
    from flask import current_app

    from builtin_plugins.pterodactyl.client import PanelClient
    from builtin_plugins.pterodactyl.models import ServerLink, UserLink
    from builtin_plugins.store.models import PricePlan, Product, Service
    from kernel import now as utcnow
    from kernel.accounts.services import create_user
    from kernel.extensions import db
    from kernel.plugin_lifecycle.services import enable
    from kernel.plugins.settings import set_settings
    from kernel.testing import build_app, rebuild

    app = build_app(instance, MAIL_URL=f"file://{instance}/mail.log")
    with app.app_context():
        enable("pterodactyl", with_dependencies=True, accept_risk=True, actor="bench")
    app = rebuild(app)
    with app.app_context():
        set_settings(
            current_app.extensions["pteroca"].discovered["pterodactyl"].manifest,
            {
                "panel_url": sim.url,
                "application_key": sim.application_key,
                "client_key": sim.client_key,
                "default_location": "sim-eu",
                "sync_users": False,
            },
        )
        with PanelClient(sim.url, sim.application_key) as client:
            nest = next(n for n in client.app.list_nests() if n["name"] == "Minecraft")
            egg = client.app.list_eggs(nest["id"])[0]
        settings = {
            "nest_id": nest["id"],
            "egg_id": egg["id"],
            "memory": 0,
            "disk": 0,
            "cpu": 100,
            "io": 500,
            "swap": 0,
            "databases": 0,
            "allocations": 1,
            "backups": 0,
            "location": "sim-eu",
        }
        product = Product(
            name="Fleet",
            slug="fleet",
            provisioner="pterodactyl",
            stock=None,
            per_customer_limit=None,
            allow_auto_renew=True,
            description="",
            images=[],
            resources={},
            provisioner_settings=settings,
            active=True,
            featured=False,
            priority=0,
        )
        product.plans.append(
            PricePlan(
                kind="fixed",
                label="",
                period_unit="days",
                period_count=30,
                price=100,
                min_slots=1,
                max_slots=1,
                slot_variable="",
            )
        )
        db.session.add(product)
        user = create_user(EMAIL, PASSWORD, name="Fleet", verified=True)
        [panel_user] = sim.seed_users([EMAIL])
        db.session.add(
            UserLink(
                user_id=user.id,
                panel_user_id=panel_user,
                panel_username="fleet",
                origin="linked",
                last_error="",
            )
        )
        db.session.flush()
        rows = [
            Service(
                user_id=user.id,
                product_id=product.id,
                plan_id=product.plans[0].id,
                name=f"server {n}",
                state="active",
                suspension="",
                expires_at=utcnow(),
                auto_renew=False,
                slots=1,
                price=100,
                charged=100,
                options={},
                last_error="",
                desired_state="active",
                panel_state="active",
                sync_status="ok",
            )
            for n in range(servers)
        ]
        db.session.add_all(rows)
        db.session.flush()
        ids = sim.seed_servers(
            [panel_user] * servers,
            names=[s.name for s in rows],
            external_ids=[f"pteroca-{s.id}" for s in rows],
            limits={"memory": 0, "disk": 0},
        )
        for service, server_id in zip(rows, ids, strict=True):
            uuid = sim.state.servers[server_id].uuid
            db.session.add(
                ServerLink(
                    service_id=service.id,
                    server_id=server_id,
                    identifier=uuid[:8],
                    uuid=uuid,
                    origin="imported",
                )
            )
        db.session.commit()
        db.session.remove()
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
