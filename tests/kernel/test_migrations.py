"""Per-plugin Alembic histories with their own version tables."""

from __future__ import annotations

from sqlalchemy import create_engine, inspect

from tests.helpers import write_plugin

MIGRATION = '''
"""{table}"""
import sqlalchemy as sa
from alembic import op

revision = "{rev}"
down_revision = {down}
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("{table}", sa.Column("id", sa.Integer, primary_key=True))


def downgrade():
    op.drop_table("{table}")
'''


def migration(table, rev, down=None):
    return MIGRATION.format(table=table, rev=rev, down=repr(down))


def tables(app):
    return set(inspect(create_engine(app.config["SQLALCHEMY_DATABASE_URI"])).get_table_names())


def test_migrations_run_on_enable_and_data_stays_on_disable(app, plugins_dir, cli):
    folder = write_plugin(
        plugins_dir,
        "ledgerx",
        files={"migrations/versions/0001.py": migration("ledgerx_item", "lx1")},
    )
    assert "ledgerx_item" not in tables(app)
    assert cli("plugin", "enable", "ledgerx").exit_code == 0
    assert {"ledgerx_item", "alembic_version_ledgerx", "alembic_version"} <= tables(app)
    cli("plugin", "disable", "ledgerx")
    assert "ledgerx_item" in tables(app)

    # A new version ships a second migration: rescanned and re-enabled, it upgrades.
    (folder / "migrations/versions/0002.py").write_text(migration("ledgerx_extra", "lx2", "lx1"))
    assert cli("plugin", "enable", "ledgerx").exit_code == 0
    assert "ledgerx_extra" in tables(app)


def test_db_upgrade_upgrades_enabled_plugins(app, plugins_dir, cli):
    write_plugin(
        plugins_dir, "grow", files={"migrations/versions/0001.py": migration("grow_a", "g1")}
    )
    cli("plugin", "enable", "grow")
    engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE grow_a")
        conn.exec_driver_sql("DELETE FROM alembic_version_grow")
    result = cli("db", "upgrade")
    assert result.exit_code == 0 and "grow" in result.output
    assert "grow_a" in tables(app)


def test_uninstall_purge_reverts_migrations(app, plugins_dir, cli):
    write_plugin(
        plugins_dir, "purgeme", files={"migrations/versions/0001.py": migration("purgeme_t", "p1")}
    )
    cli("plugin", "enable", "purgeme")
    cli("plugin", "disable", "purgeme")
    result = cli("plugin", "uninstall", "purgeme", "--purge", "--yes")
    assert result.exit_code == 0, result.output
    assert not {"purgeme_t", "alembic_version_purgeme"} & tables(app)


def test_broken_migration_keeps_plugin_disabled(app, plugins_dir, cli):
    write_plugin(
        plugins_dir,
        "brokenmig",
        files={
            "migrations/versions/0001.py": "revision = 'b1'\ndown_revision = None\n"
            "def upgrade():\n    raise ValueError('bad column')\n"
        },
    )
    result = cli("plugin", "enable", "brokenmig")
    assert result.exit_code == 1
    assert "migrating brokenmig failed: ValueError: bad column" in result.output
    assert '"state": "discovered"' in cli("plugin", "info", "brokenmig", "--json").output
