"""Lifecycle sweep throughput: servers per second for N expired servers, SQLite and PostgreSQL.

    .venv/bin/python bench/bench_sweep.py [--sizes 10000,100000] [--postgres URL]

Every server is past its expiry without auto-renew, so the sweep suspends all of them
through the manual (no-op) provisioner, emailing each customer (to a file). Prints
servers/second per size and the ratio between the largest and smallest size's rate
(1.0 = perfectly linear total time).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def build(instance: Path, database_url: str | None):
    from kernel.testing import build_app

    extra = {"DATABASE_URL": database_url} if database_url else {}
    app = build_app(instance, MAIL_URL=f"file://{instance}/mail.log", **extra)
    with app.app_context():
        from kernel.plugins.services import enable

        enable("store")
    from kernel.testing import rebuild

    return rebuild(app)


def seed(app, count: int) -> None:
    from kernel import clock
    from kernel.accounts.services import create_user
    from kernel.extensions import db

    from builtin_plugins.store.models import PricePlan, Product, Service

    with app.app_context():
        user = create_user("bench@example.com", "bench-password-1")
        product = Product(name="Bench", slug="bench", provisioner="manual", description="",
                          images=[], resources={}, provisioner_settings={}, active=True,
                          featured=False, priority=0, allow_auto_renew=True)
        product.plans.append(PricePlan(kind="fixed", label="", period_unit="days", period_count=30,
                                       price=100, min_slots=1, max_slots=1, slot_variable=""))
        db.session.add(product)
        db.session.commit()
        expired = clock.now() - timedelta(minutes=5)
        rows = [dict(user_id=user.id, product_id=product.id, plan_id=product.plans[0].id,
                     name=f"s{i}", state="active", suspension="", expires_at=expired,
                     auto_renew=False, slots=1, price=100, charged=100, external_id=f"m{i}",
                     options={}, last_error="", created_at=expired) for i in range(count)]
        for start in range(0, count, 5000):
            db.session.execute(db.insert(Service), rows[start:start + 5000])
        db.session.commit()


def measure(count: int, database_url: str | None) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        instance = Path(tmp) / "instance"
        app = build(instance, database_url)
        seed(app, count)
        from builtin_plugins.store import sweep

        with app.app_context():
            started = time.perf_counter()
            result = sweep.run_lifecycle()
            elapsed = time.perf_counter() - started
        assert len(result.suspended) == count, (len(result.suspended), count)
        return count / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--postgres", default=os.environ.get("PTEROCA_TEST_POSTGRES_URL", ""))
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    backends = [("sqlite", None)]
    if args.postgres:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from tests.services import fresh_postgres_database

        backends.append(("postgresql", args.postgres))
    for name, admin_url in backends:
        rates = []
        for size in sizes:
            drop = None
            url = None
            if admin_url:
                url, drop = fresh_postgres_database(admin_url)
            try:
                rate = measure(size, url)
            finally:
                if drop:
                    drop()
            rates.append(rate)
            print(f"{name:<10} {size:>8} servers  {rate:>9.0f} servers/s", flush=True)
        print(f"{name:<10} linearity (rate at {sizes[-1]} / rate at {sizes[0]}): "
              f"{rates[-1] / rates[0]:.2f}", flush=True)


if __name__ == "__main__":
    main()
