"""Test files that never open a database: the PostgreSQL pass leaves them out.

``make test-postgres`` runs the suite again with every app on PostgreSQL. A test that builds no
app and opens no database (the scanner's rules, money arithmetic, the repository's own checks)
runs there exactly as it ran in ``make test``: the second run proves nothing new and costs its
whole time again (``test_contracts.py`` runs import-linter in subprocesses, the bandit walk
scans plugins). These files are listed here, and the SQLite pass checks the claim on every run: a
test of a listed file that opens a database connection (any SQLAlchemy engine) fails, so a file
that starts to depend on the database must leave the list, and then runs in both passes.

A file named on the command line still runs (pytest asks ``pytest_ignore_collect`` only about
files it finds by itself).
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

FILES = frozenset(
    {
        "tests/test_meta.py",
        "tests/test_layout.py",
        "tests/test_citations.py",
        "tests/security/test_advisories.py",
        "tests/security/test_bandit.py",
        "tests/security/test_bandit_walk.py",
        "tests/security/test_dynamic_code.py",
        "tests/security/test_file_checks.py",
        "tests/security/test_policy.py",
        "tests/security/test_scan_memory.py",
        "tests/security/test_shared_walks.py",
        "tests/payments/test_money.py",
        "tests/invoices/test_amounts.py",
        "tests/themes/test_contrast.py",
        "tests/kernel/test_markdown.py",
        "tests/kernel/test_clock_file.py",
        "tests/kernel/test_states.py",
        "tests/kernel/test_verified_import.py",
        "tests/test_contracts.py",
        "tests/admin/test_navigation.py",
    }
)


def relative(path) -> str:
    try:
        return Path(path).resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return ""


def listed(path) -> bool:
    return relative(path) in FILES


class ConnectionWatch:
    """Counts SQLAlchemy connections opened while a listed file's test runs (SQLite pass)."""

    def __init__(self):
        self.current: str | None = None
        self.opened = 0

    def install(self) -> None:
        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        event.listen(Engine, "connect", self._connected)

    def _connected(self, _dbapi_connection, _record) -> None:
        if self.current is not None:
            self.opened += 1

    def start(self, path) -> None:
        self.current, self.opened = (relative(path), 0) if listed(path) else (None, 0)

    def verdict(self) -> str | None:
        """A failure message when the test that just ran broke its file's listing."""
        current, opened = self.current, self.opened
        self.current, self.opened = None, 0
        if current is None or not opened:
            return None
        return (
            f"{current} is listed in tests/database_free.py (left out of the PostgreSQL pass) "
            f"but this test opened {opened} database connection(s): take the file off the list"
        )
