"""Alembic histories: the kernel's and one per plugin, each with its own version table.

No ``env.py`` is involved: we drive Alembic's ``EnvironmentContext`` directly so a
plugin's migration folder needs only ``versions/*.py`` revision files. Alembic is
imported only when a history is actually run: importing it takes longer than the
rest of a ``pteroca plugin ...`` command, and most commands never migrate.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect
from sqlalchemy.engine import Connection

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

KERNEL_MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
KERNEL_VERSION_TABLE = "alembic_version"


class MigrationError(Exception):
    """A migration could not be applied; the message names the history and revision."""


def version_table(plugin: str | None) -> str:
    return KERNEL_VERSION_TABLE if plugin is None else f"alembic_version_{plugin}"


def _script(directory: Path) -> tuple[Config, ScriptDirectory]:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(directory))
    return cfg, ScriptDirectory.from_config(cfg)


def _run(conn: Connection, directory: Path, table: str, target: str, downgrade: bool) -> None:
    from alembic.runtime.environment import EnvironmentContext

    cfg, script = _script(directory)

    def step(rev, context):
        if downgrade:
            return script._downgrade_revs(target, rev)
        return script._upgrade_revs(target, rev)

    with EnvironmentContext(cfg, script, fn=step, destination_rev=target) as env:
        env.configure(
            connection=conn, version_table=table, render_as_batch=conn.dialect.name == "sqlite"
        )
        with env.begin_transaction():
            env.run_migrations()


# Migrations run on the caller's connection (``db.session.connection()``), inside the
# caller's transaction: enabling a plugin migrates and records the new state atomically
# (on PostgreSQL, whose DDL is transactional), and SQLite never waits on itself.


def upgrade(
    conn: Connection, directory: Path, plugin: str | None = None, target: str = "heads"
) -> None:
    if not (Path(directory) / "versions").is_dir():
        return
    label = plugin or "kernel"
    try:
        _run(conn, Path(directory), version_table(plugin), target, downgrade=False)
    except Exception as exc:  # noqa: BLE001 - report any migration failure in one line
        raise MigrationError(f"migrating {label} failed: {type(exc).__name__}: {exc}") from exc


def downgrade_all(conn: Connection, directory: Path, plugin: str) -> None:
    """Undo every migration of a plugin (``uninstall --purge``) and drop its version table."""
    if not (Path(directory) / "versions").is_dir():
        return
    try:
        _run(conn, Path(directory), version_table(plugin), "base", downgrade=True)
    except Exception as exc:  # noqa: BLE001
        raise MigrationError(f"reverting {plugin} failed: {type(exc).__name__}: {exc}") from exc
    if inspect(conn).has_table(version_table(plugin)):
        conn.exec_driver_sql(f'DROP TABLE "{version_table(plugin)}"')
