"""Money path: purchases per second with 16 concurrent buyers on PostgreSQL, invariant checked.

    .venv/bin/python bench/bench_money.py [--postgres URL] [--buyers 16] [--seconds 10] [--json]

A fresh PostgreSQL database (created on the server ``--postgres`` points at,
default ``$PTEROCA_TEST_POSTGRES_URL``, dropped afterwards) gets the store with
a product sold through the manual provisioner. Each of ``--buyers`` threads is
one customer with a balance for ``--budget`` servers; it buys servers one after
another through ``builtin_plugins.store.services`` (a purchase token, then
``purchase``: wallet lock, debit, service row, audit, inline provisioning)
until the time is up or its money runs out, the last purchase being refused.
Afterwards every wallet must equal the sum of its ledger and be >= 0, every
active server must have been charged once, and the refusals must be "balance
too low" only.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import POSTGRES_ENV, emit, postgres_database, quiet_logs, say  # noqa: E402

PRICE = 100


def setup(app, buyers: int, budget: int) -> tuple[list[int], int, int]:
    from builtin_plugins.store.models import PricePlan, Product
    from kernel.accounts.services import create_user
    from kernel.extensions import db
    from kernel.payments import ledger

    with app.app_context():
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
                price=PRICE,
                min_slots=1,
                max_slots=1,
                slot_variable="",
            )
        )
        db.session.add(product)
        db.session.commit()
        users = []
        for i in range(buyers):
            user = create_user(f"buyer{i}@example.com", "buyer-password-1", verified=True)
            ledger.credit(user.id, PRICE * budget, "adjustment", f"bench:{i}")
            users.append(user.id)
        ids = (users, product.id, product.plans[0].id)
        db.session.remove()
        return ids


def buy_loop(
    app,
    user_id: int,
    product_id: int,
    plan_id: int,
    deadline: float,
    out: dict,
    lock: threading.Lock,
) -> None:
    from builtin_plugins.store import services
    from kernel.accounts.models import User
    from kernel.extensions import db

    bought, refused, errors, latencies = 0, [], [], []
    with app.app_context():
        try:
            while time.perf_counter() < deadline:
                user = db.session.get(User, user_id)
                started = time.perf_counter()
                try:
                    token = services.new_purchase_token(user)
                    service = services.purchase(
                        user,
                        token=token,
                        product_id=product_id,
                        plan_id=plan_id,
                        name=f"u{user_id}-{bought}",
                    )
                except services.StoreError as exc:
                    refused.append(str(exc))
                    break  # out of money: this buyer is done
                latencies.append(time.perf_counter() - started)
                if service.state != "active":
                    errors.append(f"service {service.id} is {service.state}")
                bought += 1
                db.session.remove()
        except Exception as exc:  # noqa: BLE001 - reported, and fails the benchmark
            errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            db.session.remove()
    with lock:
        out["bought"] += bought
        out["refused"] += refused
        out["errors"] += errors
        out["latencies"] += latencies


def check(app, users: list[int], budget: int, bought: int) -> list[str]:
    """What is wrong with the money after the run (empty: the invariant holds)."""
    from builtin_plugins.store.models import Service
    from kernel.extensions import db
    from kernel.payments import ledger

    problems = []
    with app.app_context():
        bad = ledger.invariant_violations()
        if bad:
            problems.append(f"wallet != sum(ledger) or negative, (user, balance, sum): {bad[:5]}")
        services = db.session.scalar(db.select(db.func.count(Service.id)))
        if services != bought:
            problems.append(f"{services} servers exist for {bought} purchases")
        for user_id in users:
            count = db.session.scalar(
                db.select(db.func.count(Service.id)).where(Service.user_id == user_id)
            )
            expected = PRICE * budget - PRICE * count
            balance = ledger.balance(user_id)
            if balance != expected or balance < 0:
                problems.append(
                    f"user {user_id}: balance {balance}, expected {expected} after {count} servers"
                )
        db.session.remove()
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--postgres",
        default=os.environ.get(POSTGRES_ENV, ""),
        help=f"admin URL of a PostgreSQL server (default ${POSTGRES_ENV})",
    )
    parser.add_argument("--buyers", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--budget", type=int, default=400, help="servers each buyer can afford")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not args.postgres:
        say(f"no PostgreSQL: pass --postgres URL or set {POSTGRES_ENV}")
        emit({"skipped": f"no PostgreSQL ({POSTGRES_ENV} not set)"}, args.json)
        return 0
    quiet_logs()
    import benchsite

    from kernel.testing import build_app, rebuild

    with (
        tempfile.TemporaryDirectory(prefix="pteroca-bench-") as tmp,
        postgres_database(args.postgres) as url,
    ):
        instance = Path(tmp) / "instance"
        cfg = benchsite.config(instance, url)
        # one connection per buyer, as a deployment sizes its pool to its threads
        cfg["SQLALCHEMY_ENGINE_OPTIONS"] = {
            "pool_pre_ping": True,
            "pool_size": args.buyers,
            "max_overflow": 4,
        }
        app = build_app(instance, **cfg)
        with app.app_context():
            from kernel.plugin_lifecycle.services import enable

            enable("store", actor="bench")
        app = rebuild(app)
        users, product_id, plan_id = setup(app, args.buyers, args.budget)
        out: dict = {"bought": 0, "refused": [], "errors": [], "latencies": []}
        lock = threading.Lock()
        started = time.perf_counter()
        deadline = started + args.seconds
        threads = [
            threading.Thread(
                target=buy_loop, args=(app, uid, product_id, plan_id, deadline, out, lock)
            )
            for uid in users
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
        problems = check(app, users, args.budget, out["bought"])
        with app.app_context():
            from kernel.extensions import db

            db.engine.dispose()
    wrong_refusals = [r for r in out["refused"] if "balance is too low" not in r]
    problems += out["errors"][:5] + [f"unexpected refusal: {r}" for r in wrong_refusals[:5]]
    lat = sorted(out["latencies"])
    result = {
        "buyers": args.buyers,
        "seconds": elapsed,
        "purchases": out["bought"],
        "rate": out["bought"] / elapsed,
        "refused": len(out["refused"]),
        "p50_ms": lat[len(lat) // 2] * 1000 if lat else None,
        "p99_ms": lat[int(len(lat) * 0.99)] * 1000 if lat else None,
        "invariant_ok": not problems,
        "problems": problems,
    }
    say(
        f"{out['bought']} purchases by {args.buyers} buyers in {elapsed:.1f} s: "
        f"{result['rate']:.1f}/s (p50 {result['p50_ms'] or 0:.1f} ms, "
        f"p99 {result['p99_ms'] or 0:.1f} ms); {len(out['refused'])} refused for lack of money; "
        f"invariant {'holds' if not problems else 'BROKEN: ' + '; '.join(problems)}"
    )
    emit(result, args.json)
    return 0 if not problems else 1


if __name__ == "__main__":
    raise SystemExit(main())
