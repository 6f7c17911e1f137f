"""Lifecycle sweep throughput: servers per second for N expired servers, SQLite and PostgreSQL.

    .venv/bin/python bench/bench_sweep.py [--sizes 10000,100000,300000] [--postgres URL] [--json]

Every server is past its expiry without auto-renew, so one ``store.lifecycle`` run suspends
all of them through the manual (no-op) provisioner: claims with the desired panel state, audit
rows, events, and per batch the outbox rows of the suspension emails and of the reconciler's
job that pushes the suspensions to the panel. Those jobs are handed to a real Redis (a
``redis-server`` this script starts) the way a production sweep hands them to ``pteroca
worker``; running them is the worker's throughput, not the sweep's. Without ``redis-server``
the emails and the panel pushes run inline and the table says so.

Prints servers/second per size, and for each database the linearity: the rate at the largest
size over the rate at the smallest (1.0 = total time exactly proportional to the number of
servers; the goal is within 20%). ``--json`` prints the rates as JSON on the last line.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess  # nosec B404 - starts a throwaway redis-server for the measurement
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Redis:
    """A redis-server on a free port in a temporary folder, or nothing when it is not installed."""

    def __init__(self):
        self.binary = shutil.which("redis-server")
        self.process = None
        self.url = ""

    def __enter__(self):
        if not self.binary:
            return self
        self.dir = tempfile.TemporaryDirectory()
        port = free_port()
        self.process = subprocess.Popen(  # nosec B603 - fixed argv, no shell
            [
                self.binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.dir.name,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.05)
        self.url = f"redis://127.0.0.1:{port}/0"
        return self

    def flush(self) -> None:
        if self.url:
            import redis

            redis.Redis.from_url(self.url).flushdb()

    def __exit__(self, *exc):
        if self.process:
            self.process.terminate()
            self.process.wait(10)
            self.dir.cleanup()


def build(instance: Path, database_url: str | None, redis_url: str):
    from kernel.cli import main as cli
    from kernel.testing import build_app, rebuild

    extra = {"DATABASE_URL": database_url} if database_url else {}
    if redis_url:
        extra["REDIS_URL"] = redis_url
    app = build_app(instance, MAIL_URL=f"file://{instance}/mail.log", **extra)
    result = app.test_cli_runner().invoke(cli, ["plugin", "enable", "store", "--yes"])
    if result.exit_code != 0:
        raise SystemExit(f"enabling the store failed:\n{result.output}")
    return rebuild(app)


def seed(app, count: int) -> None:
    from builtin_plugins.store.models import PricePlan, Product, Service
    from kernel import clock
    from kernel.accounts.services import create_user
    from kernel.extensions import db

    with app.app_context():
        user = create_user("bench@example.com", "bench-password-1")
        product = Product(
            name="Bench",
            slug="bench",
            provisioner="manual",
            description="",
            images=[],
            resources={},
            provisioner_settings={},
            active=True,
            featured=False,
            priority=0,
            allow_auto_renew=True,
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
        db.session.commit()
        base = clock.now() - timedelta(days=2)
        for start in range(0, count, 10000):
            # expiries spread over two days, ids in another order: the keyset must do real work
            rows = [
                dict(
                    user_id=user.id,
                    product_id=product.id,
                    plan_id=product.plans[0].id,
                    name=f"s{i}",
                    state="active",
                    suspension="",
                    expires_at=base + timedelta(seconds=(i * 7919) % 172800),
                    auto_renew=False,
                    slots=1,
                    price=100,
                    charged=100,
                    external_id=f"m{i}",
                    options={},
                    last_error="",
                    created_at=base,
                )
                for i in range(start, min(count, start + 10000))
            ]
            db.session.execute(db.insert(Service), rows)
            db.session.commit()


def measure(count: int, database_url: str | None, redis: Redis) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        instance = Path(tmp) / "instance"
        redis.flush()
        app = build(instance, database_url, redis.url)
        seed(app, count)
        from builtin_plugins.store import notify, sweep
        from kernel.extensions import db
        from kernel.models import AuditLog

        with app.app_context():
            started = time.perf_counter()
            result = sweep.run_lifecycle()
            elapsed = time.perf_counter() - started
            audited = db.session.scalar(
                db.select(db.func.count())
                .select_from(AuditLog)
                .where(AuditLog.action == "store.suspended")
            )
            db.session.remove()
        if len(result.suspended) != count or audited != count:
            raise SystemExit(
                f"the sweep suspended {len(result.suspended)} and audited {audited} "
                f"of {count} servers"
            )
        if redis.url:
            from kernel import jobs

            with app.app_context():
                queued = jobs.queue("mail").count
            expected = -(-count // notify.JOB_SIZE)
            if queued != expected:
                raise SystemExit(f"{queued} email jobs queued, expected {expected}")
        return count / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        default="10000,100000",
        help="comma-separated server counts (default 10000,100000)",
    )
    parser.add_argument(
        "--postgres",
        default=os.environ.get("PTEROCA_TEST_POSTGRES_URL", ""),
        help="admin URL of a PostgreSQL server (default $PTEROCA_TEST_POSTGRES_URL)",
    )
    parser.add_argument("--no-postgres", action="store_true", help="measure SQLite only")
    parser.add_argument("--json", action="store_true", help="print the rates as JSON last")
    args = parser.parse_args()
    try:
        sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error(f"--sizes takes numbers separated by commas, not {args.sizes!r}")
    if not sizes or min(sizes) < 1:
        parser.error("--sizes needs at least one positive count")
    backends = [("sqlite", None)]
    if args.postgres and not args.no_postgres:
        backends.append(("postgres", args.postgres))
    out: dict = {
        "emails": "queued on Redis (rq)"
        if shutil.which("redis-server")
        else "sent inline (redis-server not installed)"
    }
    print(f"emails: {out['emails']}", flush=True)
    with Redis() as redis:
        for name, admin_url in backends:
            rates = {}
            for size in sizes:
                url, drop = None, None
                if admin_url:
                    from tests.services import fresh_postgres_database

                    url, drop = fresh_postgres_database(admin_url)
                try:
                    rates[str(size)] = round(measure(size, url, redis), 1)
                finally:
                    if drop:
                        drop()
                print(
                    f"{name:<9} {size:>8} servers  {rates[str(size)]:>9.0f} servers/s", flush=True
                )
            first, last = rates[str(sizes[0])], rates[str(sizes[-1])]
            print(
                f"{name:<9} linearity (rate at {sizes[-1]} / rate at {sizes[0]}): "
                f"{last / first:.2f}",
                flush=True,
            )
            out[name] = rates
    if args.json:
        print(json.dumps(out))


if __name__ == "__main__":
    main()
