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
