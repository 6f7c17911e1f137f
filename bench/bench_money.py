"""Money path: purchases per second with 16 concurrent buyers, against a raw-SQL loop that
does the same writes, on SQLite and PostgreSQL, invariant checked.

    .venv/bin/python bench/bench_money.py [--postgres URL] [--buyers 16] [--seconds 10] [--json]

Each database (a fresh SQLite file, and a fresh PostgreSQL database created on the server
``--postgres`` points at, default ``$PTEROCA_TEST_POSTGRES_URL``, dropped afterwards; without
it SQLite only) gets the store with a product sold through the manual provisioner, and the jobs
go to a private Redis (``redis-server`` on a free port), as in production: the purchase is what
the checkout request does, the provisioning is a worker's (none runs here). Without
``redis-server`` the jobs run inline and the result says so.

Real path: each of ``--buyers`` threads is one customer with a balance for ``--budget``
servers; it buys servers one after another through ``builtin_plugins.store.services`` (a
purchase token, then ``purchase``: wallet lock, token, service row, its job, debit, audit row,
the job handed over) until the time is up or its money runs out. Raw baseline, in the same run,
as many threads and as long: other customers, and each purchase writes the same rows with
plain SQL statements (SQLAlchemy Core, no ORM, no hooks): the token (its own transaction); the
wallet row locked, the token deleted, the service, its outbox row, the guarded balance update,
the ledger entry and the audit row (one transaction); the outbox row claimed and marked handed
over (two more). The baseline hands nothing to Redis, so the ratio is on the safe side.
The goal (issue 20): real >= 0.3 x raw.

Afterwards every wallet must equal the sum of its ledger and be >= 0, every server must have
been charged once, and the refusals must be "balance too low" only.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import sys
import tempfile
import threading
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import POSTGRES_ENV, emit, postgres_database, quiet_logs, say  # noqa: E402

PRICE = 100
GOAL = 0.3  # real purchases/s >= GOAL x the raw loop's


def setup(app, buyers: int, budget: int, prefix: str) -> list[int]:
    """``buyers`` customers with a balance for ``budget`` servers each; their ids."""
    from kernel.accounts.services import create_user
    from kernel.extensions import db
    from kernel.payments import ledger

    with app.app_context():
        users = []
        for i in range(buyers):
            user = create_user(f"{prefix}{i}@example.com", "buyer-password-1", verified=True)
            ledger.credit(user.id, PRICE * budget, "adjustment", f"bench:{prefix}:{i}")
            users.append(user.id)
        db.session.remove()
        return users


def make_product(app) -> tuple[int, int]:
    from builtin_plugins.store.models import PricePlan, Product
    from kernel.extensions import db

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
        ids = (product.id, product.plans[0].id)
        db.session.remove()
        return ids


class Tally:
    """What the threads of one loop did (shared, under a lock)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.bought, self.refused, self.errors, self.latencies = 0, [], [], []

    def add(self, bought: int, refused: list, errors: list, latencies: list) -> None:
        with self.lock:
            self.bought += bought
            self.refused += refused
            self.errors += errors
            self.latencies += latencies


def buy_loop(app, user_id: int, product_id: int, plan_id: int, deadline: float, tally: Tally):
    """The real path: what the checkout page and its POST do, one purchase after another."""
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
                if service.state not in ("provisioning", "active"):
                    errors.append(f"service {service.id} is {service.state}")
                bought += 1
                db.session.remove()
        except Exception as exc:  # noqa: BLE001 - reported, and fails the benchmark
            errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            db.session.remove()
    tally.add(bought, refused, errors, latencies)


def raw_loop(app, user_id: int, product_id: int, plan_id: int, deadline: float, tally: Tally):
    """The baseline: the rows a purchase writes, with plain statements on one connection."""
    from sqlalchemy import delete, func, select, update

    from builtin_plugins.store.models import PurchaseToken, Service
    from kernel import clock
    from kernel.extensions import db
    from kernel.models import AuditLog
    from kernel.outbox import OutboxMessage
    from kernel.payments.models import LedgerEntry, Wallet

    tokens, servers, outbox = PurchaseToken.__table__, Service.__table__, OutboxMessage.__table__
    wallets, entries, audit = Wallet.__table__, LedgerEntry.__table__, AuditLog.__table__
    bought, refused, errors, latencies = 0, [], [], []
    with app.app_context():
        engine = db.engine
    try:
        with engine.connect() as conn:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                now = clock.now()
                token = secrets.token_urlsafe(24)
                with conn.begin():
                    conn.execute(tokens.insert().values(token=token, user_id=user_id))
                with conn.begin() as txn:
                    balance = conn.execute(
                        select(wallets.c.balance)
                        .where(wallets.c.user_id == user_id)
                        .with_for_update()
                    ).scalar()
                    conn.execute(
                        delete(tokens).where(tokens.c.token == token, tokens.c.user_id == user_id)
                    )
                    if balance < PRICE:
                        txn.rollback()
                        refused.append("the balance is too low")
                        break
                    service_id = conn.execute(
                        servers.insert()
                        .values(
                            user_id=user_id,
                            product_id=product_id,
                            plan_id=plan_id,
                            name=f"r{user_id}-{bought}",
                            state="provisioning",
                            expires_at=now,
                            price=PRICE,
                            charged=PRICE,
                            options={},
                            purchase_token=token,
                            desired_state="running",
                            sync_status="pending",
                            sync_version=1,
                            sync_next_at=now,
                        )
                        .returning(servers.c.id)
                    ).scalar()
                    job = conn.execute(
                        outbox.insert()
                        .values(
                            job="builtin_plugins.store.reconciler.converge",
                            args=[[service_id], secrets.token_hex(8)],
                            kwargs={},
                            queue="",
                            status="pending",
                            available_at=now,
                            attempts=0,
                            last_error="",
                        )
                        .returning(outbox.c.id)
                    ).scalar()
                    moved = conn.execute(
                        update(wallets)
                        .where(wallets.c.user_id == user_id, wallets.c.balance >= PRICE)
                        .values(balance=wallets.c.balance - PRICE, updated_at=now)
                    ).rowcount
                    if moved != 1:
                        raise RuntimeError("the locked balance moved")
                    conn.execute(
                        entries.insert().values(
                            user_id=user_id,
                            amount=-PRICE,
                            kind="purchase",
                            reference=f"purchase:{service_id}",
                            created_at=now,
                            meta={"service": service_id, "product": "Bench"},
                        )
                    )
                    conn.execute(
                        audit.insert().values(
                            created_at=now,
                            actor="system",
                            action="store.purchase",
                            target=f"service:{service_id}",
                            details={"product": "Bench", "price": PRICE, "free": False},
                            ip="",
                        )
                    )
                with conn.begin():
                    conn.execute(
                        update(outbox)
                        .where(outbox.c.id == job, outbox.c.status == "pending")
                        .values(claimed_until=now, attempts=outbox.c.attempts + 1)
                    )
                with conn.begin():
                    conn.execute(
                        update(outbox)
                        .where(outbox.c.id == job)
                        .values(status="dispatched", dispatched_at=func.now(), claimed_until=None)
                    )
                latencies.append(time.perf_counter() - started)
                bought += 1
    except Exception as exc:  # noqa: BLE001 - reported, and fails the benchmark
        errors.append(f"raw: {type(exc).__name__}: {exc}")
    tally.add(bought, refused, errors, latencies)


def run_loop(target, app, users, product_id, plan_id, seconds: float) -> tuple[Tally, float]:
    tally = Tally()
    started = time.perf_counter()
    deadline = started + seconds
    threads = [
        threading.Thread(target=target, args=(app, uid, product_id, plan_id, deadline, tally))
        for uid in users
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return tally, time.perf_counter() - started


def check(app, users: list[int], budget: int, bought: int) -> list[str]:
    """What is wrong with the money of ``users`` after a loop (empty: the invariant holds)."""
    from builtin_plugins.store.models import Service
    from kernel.extensions import db
    from kernel.payments import ledger

    problems = []
    with app.app_context():
        bad = ledger.invariant_violations()
        if bad:
            problems.append(f"wallet != sum(ledger) or negative, (user, balance, sum): {bad[:5]}")
        services = db.session.scalar(
            db.select(db.func.count(Service.id)).where(Service.user_id.in_(users))
        )
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


def summary(tally: Tally, elapsed: float) -> dict:
    lat = sorted(tally.latencies)
    return {
        "purchases": tally.bought,
        "seconds": elapsed,
        "rate": tally.bought / elapsed,
        "refused": len(tally.refused),
        "p50_ms": lat[len(lat) // 2] * 1000 if lat else None,
        "p99_ms": lat[int(len(lat) * 0.99)] * 1000 if lat else None,
    }


def statements_per_purchase(app, user_id: int, product_id: int, plan_id: int) -> int:
    """The SQL statements of one purchase (``services.purchase``; SQLite's BEGIN not counted,
    as in tests/store/test_statement_budget.py)."""
    from sqlalchemy import event

    from builtin_plugins.store import services
    from kernel.accounts.models import User
    from kernel.extensions import db

    seen: list[str] = []

    def note(conn, cursor, statement, *args):
        seen.append(statement)

    with app.app_context():
        token = services.new_purchase_token(db.session.get(User, user_id))
        db.session.remove()
        user = db.session.get(User, user_id)
        event.listen(db.engine, "before_cursor_execute", note)
        try:
            services.purchase(
                user, token=token, product_id=product_id, plan_id=plan_id, name="counted"
            )
        finally:
            event.remove(db.engine, "before_cursor_execute", note)
        db.session.remove()
    return len([s for s in seen if not s.lstrip().startswith("BEGIN")])


@contextmanager
def private_redis():
    """A private Redis's URL, or "" (jobs run inline) when ``redis-server`` is missing."""
    from tests.services import REDIS_SERVER, RedisServer

    if not shutil.which(REDIS_SERVER):
        yield ""
        return
    redis = RedisServer(REDIS_SERVER).start()
    try:
        yield redis.url
    finally:
        redis.stop()


def measure(database: str, url: str | None, args) -> dict:
    """Both loops on one database; the result of that database."""
    import benchsite

    from kernel.testing import build_app, rebuild

    with ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="pteroca-bench-"))
        redis_url = stack.enter_context(private_redis())
        instance = Path(tmp) / "instance"
        cfg = benchsite.config(instance, url)
        if redis_url:
            cfg["REDIS_URL"] = redis_url
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
        product_id, plan_id = make_product(app)
        real_users = setup(app, args.buyers, args.budget, "buyer")
        raw_users = setup(app, args.buyers, args.budget, "raw")
        counter = setup(app, 1, 1, "counter")[0]
        counted = statements_per_purchase(app, counter, product_id, plan_id)
        say(f"{database}: {counted} SQL statements per purchase; real path for {args.seconds} s")
        real, real_s = run_loop(buy_loop, app, real_users, product_id, plan_id, args.seconds)
        say(f"{database}: raw-SQL baseline for {args.seconds} s")
        raw, raw_s = run_loop(raw_loop, app, raw_users, product_id, plan_id, args.seconds)
        problems = check(app, real_users, args.budget, real.bought)
        problems += check(app, raw_users, args.budget, raw.bought)
        with app.app_context():
            from kernel.extensions import db

            db.engine.dispose()
    wrong = [r for r in real.refused + raw.refused if "balance is too low" not in r]
    problems += real.errors[:5] + raw.errors[:5] + [f"unexpected refusal: {r}" for r in wrong[:5]]
    result = {
        "database": database,
        "buyers": args.buyers,
        "queue": "redis" if redis_url else "inline",
        "statements": counted,
        "real": summary(real, real_s),
        "raw": summary(raw, raw_s),
        "invariant_ok": not problems,
        "problems": problems,
    }
    raw_rate = result["raw"]["rate"]
    result["ratio"] = result["real"]["rate"] / raw_rate if raw_rate else None
    r, b = result["real"], result["raw"]
    say(
        f"{database}: real {r['rate']:.1f}/s ({r['purchases']} in {r['seconds']:.1f} s, p50 "
        f"{r['p50_ms'] or 0:.1f} ms), raw {b['rate']:.1f}/s ({b['purchases']}, p50 "
        f"{b['p50_ms'] or 0:.1f} ms): ratio {result['ratio'] or 0:.2f} (goal >= {GOAL}); "
        f"invariant {'holds' if not problems else 'BROKEN: ' + '; '.join(problems)}"
    )
    return result


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
    parser.add_argument(
        "--databases", default="sqlite,postgresql", help="which of sqlite,postgresql to measure"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    quiet_logs()
    wanted = {d.strip() for d in args.databases.split(",") if d.strip()}
    results: dict = {"goal_ratio": GOAL, "databases": {}}
    if "sqlite" in wanted:
        results["databases"]["sqlite"] = measure("sqlite", None, args)
    if "postgresql" in wanted:
        if not args.postgres:
            say(f"no PostgreSQL: pass --postgres URL or set {POSTGRES_ENV}")
            results["databases"]["postgresql"] = {
                "skipped": f"no PostgreSQL ({POSTGRES_ENV} not set)"
            }
        else:
            with postgres_database(args.postgres) as url:
                results["databases"]["postgresql"] = measure("postgresql", url, args)
    measured = [r for r in results["databases"].values() if "real" in r]
    emit(results, args.json)
    return 0 if measured and all(r["invariant_ok"] for r in measured) else 1


if __name__ == "__main__":
    raise SystemExit(main())
