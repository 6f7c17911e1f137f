"""The PostgreSQL pass's per-app databases are copies of a template: a copy must not fail
because something is still connected to the template (CI saw "source database is being
accessed by other users")."""

from __future__ import annotations

import psycopg
from sqlalchemy.engine import make_url

from tests.services import PostgresPerInstance, require_postgres


def test_a_connection_left_on_the_template_does_not_stop_the_next_copy(tmp_path):
    databases = PostgresPerInstance(require_postgres())
    try:
        template = databases.template()
        left_open = psycopg.connect(
            make_url(databases.admin_url)
            .set(drivername="postgresql", database=template)
            .render_as_string(hide_password=False)
        )
        url = databases(tmp_path / "instance")
        with psycopg.connect(
            make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        ) as copy:
            tables = {
                row[0]
                for row in copy.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                )
            }
        assert {"user", "ledger_entry", "plugin"} <= tables  # a migrated copy
        assert left_open.closed or left_open.broken or _ended(left_open)
    finally:
        databases.close()


def _ended(connection) -> bool:
    try:
        connection.execute("SELECT 1")
    except psycopg.OperationalError:
        return True
    return False


def test_copies_made_ahead_are_fresh_copies_and_go_with_their_template():
    from tests.services import _AHEAD, fresh_postgres_database

    admin = require_postgres()
    template_url, drop_template = fresh_postgres_database(admin)
    template = make_url(template_url).database
    plain = make_url(admin).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(
        make_url(template_url).set(drivername="postgresql").render_as_string(hide_password=False),
        autocommit=True,
    ) as conn:
        conn.execute("CREATE TABLE marker (x int)")

    first, drop_first = fresh_postgres_database(admin, template=template, ahead=True)
    made_ahead = _AHEAD[(admin, template)].result()[0]  # the next copy, made in the background
    second, drop_second = fresh_postgres_database(admin, template=template, ahead=True)
    third_ahead = _AHEAD[(admin, template)].result()[0]
    assert second == made_ahead and len({first, second, third_ahead}) == 3
    for url in (first, second):
        with psycopg.connect(
            make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        ) as copy:
            assert copy.execute("SELECT count(*) FROM marker").fetchone() == (0,)
    drop_first()
    drop_second()
    drop_template()  # drops the copy made ahead of it first
    assert (admin, template) not in _AHEAD
    names = [make_url(u).database for u in (template_url, first, second, third_ahead)]
    with psycopg.connect(plain, autocommit=True) as conn:
        left = conn.execute(
            "SELECT datname FROM pg_database WHERE datname = ANY(%s)", (names,)
        ).fetchall()
    assert left == []
