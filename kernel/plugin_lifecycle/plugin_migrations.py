"""A plugin's migrations, run from verified bytes only; the tables they made, recorded.

Alembic loads revision files by path (``spec_from_file_location``), past any import
hook, and would read a ``__pycache__`` beside them. So the revision files are
copied, each read through its admission (hash checked), into a private temporary
folder, and Alembic runs from there: what it executes is what the scan read.

Every upgrade also records which tables belong to the plugin (those its
migrations created, plus those named ``<plugin>_...``), so that a purge of a
plugin that may no longer be imported can drop them without running its code.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import MetaData, inspect
from sqlalchemy.engine import Connection

from kernel.plugins.files import SYMLINK
from kernel.plugins.migrations import MigrationError, downgrade_all, upgrade, version_table
from kernel.plugins.verified import Admission, PluginImportRefused

if TYPE_CHECKING:
    from kernel.plugins.discovery import DiscoveredPlugin
    from kernel.plugins.models import PluginRecord

SKIPPED_SUFFIXES = (".pyc", ".pyo")


def migrations_rel(admission: Admission, directory: str | os.PathLike) -> str:
    """The plugin's migration folder relative to its root; refused when it lies outside."""
    rel = admission.relative(directory)
    if rel is None:
        raise PluginImportRefused(
            admission.name,
            f"its migrations folder {directory} is outside "
            "its plugin folder, so its files were never scanned",
        )
    return rel


@contextmanager
def verified_folder(admission: Admission, rel_dir: str) -> Iterator[Path]:
    """A temporary copy of the verified files below ``rel_dir`` (no bytecode, no symlinks)."""
    prefix = f"{rel_dir}/" if rel_dir else ""
    with tempfile.TemporaryDirectory(prefix=f"pteroca-{admission.name}-migrations-") as tmp:
        for rel, digest in admission.files.items():
            if not rel.startswith(prefix) or digest.startswith(SYMLINK):
                continue
            inner = rel[len(prefix) :]
            if "__pycache__" in inner.split("/") or inner.endswith(SKIPPED_SUFFIXES):
                continue
            target = Path(tmp) / inner
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(admission.read(rel))
        yield Path(tmp)


def existing_tables(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names())


def owned_tables(
    name: str,
    now: set[str],
    before: set[str],
    recorded: Iterable[str] | None,
    other_plugins: Iterable[str] = (),
) -> list[str]:
    """The plugin's tables: made by its migrations, recorded earlier, or named ``<name>_...``."""
    longer = [o for o in other_plugins if o != name and o.startswith(name + "_")]
    prefixed = {
        t
        for t in now
        if t.startswith(name + "_") and not any(t.startswith(o + "_") for o in longer)
    }
    own = (now - before) | (set(recorded or ()) & now) | prefixed
    return sorted(t for t in own if not t.startswith("alembic_version"))


def upgrade_verified(
    conn: Connection,
    admission: Admission,
    rel_dir: str,
    recorded: Iterable[str] | None,
    other_plugins: Iterable[str] = (),
) -> list[str]:
    """Run the plugin's upgrades from verified bytes; return the tables it owns afterwards."""
    before = existing_tables(conn)
    with verified_folder(admission, rel_dir) as folder:
        upgrade(conn, folder, plugin=admission.name)
    return owned_tables(admission.name, existing_tables(conn), before, recorded, other_plugins)


def revert_verified(conn: Connection, admission: Admission, rel_dir: str) -> None:
    """Undo every migration of the plugin, running its downgrades from verified bytes."""
    with verified_folder(admission, rel_dir) as folder:
        downgrade_all(conn, folder, admission.name)


def drop_recorded(conn: Connection, name: str, tables: Iterable[str]) -> list[str]:
    """Drop the recorded tables (foreign keys first) and the version table; runs no plugin code."""
    present = existing_tables(conn)
    names = sorted(t for t in tables if t in present)
    try:
        if names:
            meta = MetaData()
            meta.reflect(conn, only=names)
            meta.drop_all(conn)
        if version_table(name) in present:
            conn.exec_driver_sql(f'DROP TABLE "{version_table(name)}"')
    except Exception as exc:  # noqa: BLE001 - report any database refusal in one line
        raise MigrationError(
            f"dropping the tables of {name} failed: {type(exc).__name__}: {exc}"
        ) from exc
    return names


def purge_tables(
    name: str,
    plugin: DiscoveredPlugin | None,
    record: PluginRecord | None,
    migrations_dir: Callable[[DiscoveredPlugin, Admission], str],
    other_plugins: Iterable[str] = (),
) -> None:
    """``uninstall --purge``: revert the migrations if the plugin may be imported, else drop
    what was recorded, in the session's transaction (the caller commits).

    Nothing of a plugin without a current verdict runs: its tables are dropped from the
    list the kernel recorded when its migrations last ran. Without such a list, and with
    tables it may own still present, the purge is refused and no data is touched.
    """
    from kernel.extensions import db
    from kernel.plugin_lifecycle.admission import NotAdmitted, admission_for

    conn = db.session.connection()
    try:
        try:
            admission = admission_for(plugin, record)
        except NotAdmitted as exc:
            why = exc.reason
        else:
            revert_verified(conn, admission, migrations_dir(plugin, admission))
            drop_recorded(conn, name, (record.tables if record else None) or [])
            return
        if record is not None and record.tables is not None:
            drop_recorded(conn, name, record.tables)
            return
    except (MigrationError, PluginImportRefused):
        db.session.rollback()
        raise
    present = existing_tables(conn)
    if version_table(name) in present or owned_tables(name, present, present, None, other_plugins):
        raise MigrationError(
            f"plugin {name!r} cannot be imported to revert its migrations ({why}), and pteroca "
            "has no record of the tables they created; nothing was dropped. Scan and enable it "
            "once so its migrations can be reverted, or drop its tables by hand"
        )
