"""The audit and email logs at a million rows: the middle page, paged by cursor.

    .venv/bin/python bench/bench_lists.py [--rows 1000000] [--postgres URL] [--no-postgres] [--json]

A throw-away site (SQLite in a temp folder; and a fresh PostgreSQL database when ``--postgres``
or ``PTEROCA_TEST_POSTGRES_URL`` gives an admin URL) with ``--rows`` audit entries and as many
email log entries, bulk-inserted (``executemany`` on SQLite, ``COPY`` on PostgreSQL), then
``ANALYZE``d. An admin, signed in through Flask's test client, asks for the page in the middle
of each log (``?before=<the middle row's id>``, 50 rows) and for the middle page of one filter
(audit: one action, a tenth of the rows; email: status "failed", a fifth), 15 times each after
one warm-up; the median is set against the 100 ms goal of issue 20. Beside it: the CPU time of
the thread that served the request and the time spent in SQL (medians), and the load average,
since a shared machine stretches the wall time but not those. For reference, the same
page read as Flask-Admin read it before (``COUNT(*)`` of the matching rows and
``OFFSET <half>``), in SQL alone, once.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness import POSTGRES_ENV, emit, postgres_database, quiet_logs, say  # noqa: E402

PAGE = 50
REPEAT = 15
GOAL_MS = 100.0
ACTIONS = [f"bench.action{n}" for n in range(10)]
T0 = datetime(2026, 1, 1)
AUDIT_COLUMNS = ("created_at", "actor", "action", "target", "details", "ip")
EMAIL_COLUMNS = ("created_at", "recipient", "subject", "template", "status", "error", "body")


def audit_row(n: int) -> tuple:
    return (
        T0 + timedelta(seconds=n),
        f"staff{n % 7}@example.com",
        ACTIONS[n % 10],
        f"user:{n}",
        f'{{"n": {n}}}',
        "203.0.113.7",
    )


def email_row(n: int) -> tuple:
    return (
        T0 + timedelta(seconds=n),
        f"customer{n}@example.com",
        f"Your server #{n} was renewed",
        "store/renewed",
        "failed" if n % 5 == 0 else "sent",
        "",
        "",
    )


def bulk_insert(engine, table: str, columns: tuple, make, rows: int) -> float:
    """``rows`` rows into ``table`` as fast as the database takes them; seconds spent."""
    started = time.perf_counter()
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if engine.dialect.name == "postgresql":
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for n in range(rows):
                    copy.write_row(make(n))
        else:
            marks = ", ".join("?" for _ in columns)
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
            chunk = 50_000
            cursor.execute("BEGIN")  # the kernel's sqlite3 connections autocommit otherwise
            for start in range(0, rows, chunk):
                cursor.executemany(
                    sql,
                    [
                        tuple(v.isoformat(" ") if isinstance(v, datetime) else v for v in make(n))
                        for n in range(start, min(rows, start + chunk))
                    ],
                )
        raw.commit()
        cursor.execute(f"ANALYZE {table}")
        raw.commit()
    finally:
        raw.close()
    return time.perf_counter() - started


def timed_page(client, engine, url: str, expect: str) -> dict:
    """Medians over ``REPEAT`` requests of ``url`` (after a warm-up): wall milliseconds, the
    CPU milliseconds of the thread serving it (what a shared, loaded machine does not inflate)
    and the milliseconds spent in SQL; and the rows the page showed."""
    from sqlalchemy import event

    first = client.get(url)
    body = first.get_data(as_text=True)
    if first.status_code != 200 or expect not in body:
        raise SystemExit(f"{url}: {first.status_code}, {expect!r} not on the page")
    sql: list[float] = []
    began: list[float] = []

    def before(*_args) -> None:
        began.append(time.perf_counter())

    def after(*_args) -> None:
        sql.append(time.perf_counter() - began.pop())

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    wall, cpu, in_sql = [], [], []
    try:
        for _ in range(REPEAT):
            sql.clear()
            started, cpu_started = time.perf_counter(), time.thread_time()
            client.get(url).get_data()
            wall.append((time.perf_counter() - started) * 1000)
            cpu.append((time.thread_time() - cpu_started) * 1000)
            in_sql.append(sum(sql) * 1000)
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
    return {
        "p50_ms": round(statistics.median(wall), 1),
        "cpu_ms": round(statistics.median(cpu), 1),
        "sql_ms": round(statistics.median(in_sql), 2),
        "shown": body.count('class="list-buttons-column"'),
    }


def offset_reference(engine, table: str, where: str, half: int) -> float:
    """Milliseconds of the old way to the same page: count the rows, then skip half of them."""
    from sqlalchemy import text

    started = time.perf_counter()
    with engine.connect() as conn:
        conn.execute(text(f"SELECT count(*) FROM {table} {where}")).scalar()
        conn.execute(
            text(f"SELECT * FROM {table} {where} ORDER BY id DESC LIMIT {PAGE} OFFSET {half}")
        ).all()
    return (time.perf_counter() - started) * 1000


def measure(rows: int, database_url: str | None) -> dict:
    from kernel.accounts.services import create_user
    from kernel.extensions import db
    from kernel.testing import build_app, login

    with tempfile.TemporaryDirectory() as tmp:
        config = {"MAIL_URL": f"file://{tmp}/mail.log"}
        if database_url:
            config["DATABASE_URL"] = database_url
        app = build_app(Path(tmp) / "instance", **config)
        with app.app_context():
            create_user("bench-admin@example.com", "bench-password-1", name="Bench", role="admin")
            db.session.remove()  # the kernel's SQLite transactions hold the write lock
            engine = db.engine
            inserted = {
                "audit_s": bulk_insert(engine, "audit_log", AUDIT_COLUMNS, audit_row, rows),
                "email_s": bulk_insert(engine, "email_log", EMAIL_COLUMNS, email_row, rows),
            }
            say(
                f"  inserted {rows:,} audit rows in {inserted['audit_s']:.1f} s, "
                f"{rows:,} email rows in {inserted['email_s']:.1f} s"
            )

            def middle_id(table: str) -> int:
                from sqlalchemy import text

                ids = db.session.execute(
                    text(f"SELECT id FROM {table} ORDER BY id LIMIT 1 OFFSET :half"),
                    {"half": rows // 2},
                )
                return int(ids.scalar())

            audit_mid = middle_id("audit_log")
            email_mid = middle_id("email_log")
            db.session.remove()
        client = app.test_client()
        login(client, "bench-admin@example.com", "bench-password-1")
        cases = {
            "audit": (f"/admin/audit/?before={audit_mid}", "bench.action", "audit_log", "", 2),
            "audit_filtered": (
                # filter 2 of the audit log: action equals
                f"/admin/audit/?flt0_2={ACTIONS[3]}&before={audit_mid}",
                ACTIONS[3],
                "audit_log",
                f"WHERE action = '{ACTIONS[3]}'",
                20,
            ),
            "email": (f"/admin/emails/?before={email_mid}", "customer", "email_log", "", 2),
            "email_filtered": (
                # filter 16 of the email log: status equals
                f"/admin/emails/?flt0_16=failed&before={email_mid}",
                "failed",
                "email_log",
                "WHERE status = 'failed'",
                10,
            ),
        }
        out: dict = {"rows": rows, **inserted, "load": round(os.getloadavg()[0], 1)}
        for name, (url, expect, table, where, share) in cases.items():
            found = timed_page(client, engine, url, expect)
            if found.pop("shown") != PAGE:
                raise SystemExit(f"{url}: not {PAGE} rows shown")
            with app.app_context():
                found["offset_ms"] = round(
                    offset_reference(db.engine, table, where, rows // share), 1
                )
                db.session.remove()
            out[name] = found
            say(
                f"  {name:<15} middle page p50 {found['p50_ms']:7.1f} ms (CPU {found['cpu_ms']:.1f} "
                f"ms, SQL {found['sql_ms']:.2f} ms)   COUNT + OFFSET in SQL alone: "
                f"{found['offset_ms']:7.1f} ms"
            )
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows per log (1,000,000)")
    parser.add_argument(
        "--postgres",
        default=os.environ.get(POSTGRES_ENV, ""),
        help=f"PostgreSQL admin URL (default ${POSTGRES_ENV}); a database is created and dropped",
    )
    parser.add_argument("--no-postgres", action="store_true", help="measure SQLite only")
    parser.add_argument("--json", action="store_true", help="print the result as JSON last")
    args = parser.parse_args()
    if args.rows < 10 * PAGE:
        parser.error(f"--rows must be at least {10 * PAGE}")
    quiet_logs()
    result: dict = {"goal_ms": GOAL_MS, "page": PAGE}
    say(f"sqlite: {args.rows:,} rows per log")
    result["sqlite"] = measure(args.rows, None)
    if args.postgres and not args.no_postgres:
        say(f"postgres: {args.rows:,} rows per log")
        with postgres_database(args.postgres) as url:
            result["postgres"] = measure(args.rows, url)
    emit(result, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
