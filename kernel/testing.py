"""Helpers to build throw-away apps for tests (also used by the pytest plugin)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask

NO_OSV = "http://127.0.0.1:9"
HEALTH_TOKEN = "test-health-token"
# Headers that show the whole /-/health report of an app made by build_app.
HEALTH_HEADERS = {"Authorization": f"Bearer {HEALTH_TOKEN}"}

# When set, ``build_app`` asks it for the database of an instance that names none: the test
# suite points every app at a fresh PostgreSQL database this way (PTEROCA_TEST_DATABASE=postgres).
# If it also has ``first_use_of_fresh_copy(url) -> bool`` (True once for a database it just
# copied from one migrated by the kernel's history alone), that first build skips migrating.
database_for_instance: Callable[[Path], str] | None = None


def _never(_url: str) -> bool:
    return False


def build_app(instance: Path, **config) -> Flask:
    """Create a migrated app whose instance, database and plugins folder live under ``instance``."""
    instance = Path(instance)
    (instance / "plugins").mkdir(parents=True, exist_ok=True)
    cfg = {
        "TESTING": True,
        "INSTANCE_PATH": str(instance),
        "PLUGINS_DIR": str(instance / "plugins"),
        "THEMES_DIR": str(instance / "themes"),
        "SECRET_KEY": "test-secret-key",
        "WTF_CSRF_ENABLED": False,
        "PLUGIN_POLL_SECONDS": 0.0,
        "PASSWORD_HASH_FAST": True,
        "HEALTH_TOKEN": HEALTH_TOKEN,
    }
    if "PTEROCA_OSV_URL" not in os.environ:
        # Tests never reach the real advisory service: a closed local port ("not audited").
        cfg["OSV_URL"] = NO_OSV
    cfg.update(config)
    from kernel.app import create_app  # here: the pytest plugin imports this module at start-up

    fresh = False
    if "DATABASE_URL" not in cfg and database_for_instance is not None:
        cfg["DATABASE_URL"] = database_for_instance(instance)
        # A new copy of a database migrated by the kernel's history has nothing left to migrate.
        fresh = getattr(database_for_instance, "first_use_of_fresh_copy", _never)(
            cfg["DATABASE_URL"]
        )
    if not fresh and not _copy_kernel_template(instance, cfg):
        _migrate(cfg)
    app = create_app(cfg)
    app.config["PTEROCA_BUILD_CONFIG"] = dict(cfg)
    return app


def _migrate(cfg: dict) -> None:
    """``pteroca db upgrade`` on ``cfg``'s database (the kernel, then every enabled plugin)."""
    from kernel.app import create_app
    from kernel.extensions import db
    from kernel.plugin_lifecycle.services import upgrade_all

    # This app only migrates: built without routes (the lazy build of the ``pteroca plugin``
    # commands), it costs a third of a full one and serves no request.
    bootstrap = create_app(cfg, lazy_routes=True)
    with bootstrap.app_context():
        upgrade_all()
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


# Kernel migrations folder -> (its signature, a SQLite database migrated by it, nothing else).
_KERNEL_TEMPLATES: dict[str, tuple[tuple, Path]] = {}


def _copy_kernel_template(instance: Path, cfg: dict) -> bool:
    """Give a new SQLite instance a copy of a freshly migrated database; False when it is not one.

    Migrating an empty database gives the same bytes every time (the kernel's history only: no
    plugin is enabled in a new database, and no migration reads the configuration), so each
    test process migrates one, in a folder of its own, and copies it: a test's first app then
    costs one build instead of a build, the kernel's migrations and a bootstrap app. The
    signature (the migration files' names, sizes and times) makes a changed history migrate
    afresh. An instance whose database exists already, or lives anywhere but the instance's
    ``pteroca.db`` (PostgreSQL, a test's own file), is migrated the usual way.
    """
    import shutil
    import tempfile

    from kernel.plugins.migrations import KERNEL_MIGRATIONS

    target = instance / "pteroca.db"
    if cfg.get("DATABASE_URL", f"sqlite:///{target}") != f"sqlite:///{target}":
        return False
    if any(Path(f"{target}{suffix}").exists() for suffix in ("", "-wal", "-shm", "-journal")):
        return False
    versions = Path(KERNEL_MIGRATIONS) / "versions"
    signature = tuple(
        (p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(versions.glob("*.py"))
    )
    known = _KERNEL_TEMPLATES.get(str(KERNEL_MIGRATIONS))
    if known is None or known[0] != signature:
        import atexit
        import sqlite3

        folder = Path(tempfile.mkdtemp(prefix="pteroca-kernel-template-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        database = folder / "pteroca.db"
        _migrate(
            {
                "TESTING": True,
                "INSTANCE_PATH": str(folder),
                "PLUGINS_DIR": str(folder / "plugins"),
                "THEMES_DIR": str(folder / "themes"),
                "SECRET_KEY": "template",
                "DATABASE_URL": f"sqlite:///{database}",
                "OSV_URL": NO_OSV,
            }
        )
        with sqlite3.connect(database) as conn:  # one self-contained file: no WAL beside it
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.execute("PRAGMA journal_mode = DELETE")
        conn.close()
        known = _KERNEL_TEMPLATES[str(KERNEL_MIGRATIONS)] = (signature, database)
    shutil.copyfile(known[1], target)
    return True


def admit_builtin_plugins() -> dict[str, str]:
    """Scan pteroca's own plugins and admit the passing ones for this whole process.

    For test sessions: unit tests import builtin plugin modules (at collection, with no
    app), and the verified loader serves plugin modules only from an admission. This
    runs the gate's code checks (file checks, bandit, the dynamic-code rules; not the
    advisory audit, which needs a service) on each builtin plugin's files, read once,
    and admits exactly those bytes; a plugin that does not pass is not importable. A
    builtin plugin whose only serious findings are the sensitive capabilities it declares
    (a ``warn`` an admin confirms) is admitted as if confirmed; any other finding at or
    above the warn threshold keeps it out.
    Apps built later admit the same files from their own scans, so nothing is re-imported.
    Returns plugin name -> verdict.
    """
    from kernel.plugins import verified
    from kernel.plugins.discovery import discover_entry_points
    from kernel.security.findings import Severity, Verdict
    from kernel.security.gate import code_findings
    from kernel.security.policy import verdict_for

    verdicts: dict[str, str] = {}
    for plugin in discover_entry_points():
        if plugin.distribution != "pteroca" or not plugin.ok:
            continue
        snapshot = plugin.snapshot()
        findings = code_findings(plugin, snapshot)
        verdict = verdict_for(findings)
        verdicts[plugin.name] = str(verdict)
        confirmed = verdict == Verdict.WARN and all(
            f.rule == "sensitive-capability" for f in findings if f.severity >= Severity.HIGH
        )
        if verdict == Verdict.PASS or confirmed:
            verified.admit(
                verified.Admission(plugin.name, plugin.module, plugin.path, snapshot.digests),
                pinned=True,
            )
    return verdicts


def rebuild(app: Flask, *, lazy_routes: bool = False) -> Flask:
    """A new app with the same configuration: what the hot swap does after a plugin change.

    ``lazy_routes``: the app adds its routes on first use of a URL, like the app of a
    ``pteroca plugin ...`` command (``kernel.app.create_cli_app``)."""
    cfg = app.config.get("PTEROCA_BUILD_CONFIG")
    if cfg is None:
        keys = (
            "TESTING",
            "INSTANCE_PATH",
            "PLUGINS_DIR",
            "SECRET_KEY",
            "WTF_CSRF_ENABLED",
            "PLUGIN_POLL_SECONDS",
            "DATABASE_URL",
            "THEMES_DIR",
            "SAFE_MODE",
            "OSV_URL",
            "REQUIRE_AUDIT",
            "MAIL_URL",
            "HEALTH_TOKEN",
        )
        cfg = {k: app.config[k] for k in keys if k in app.config}
    cfg = dict(cfg)
    from kernel.app import create_app

    if cfg.get("OSV_URL") == NO_OSV and os.environ.get("PTEROCA_OSV_URL"):
        del cfg["OSV_URL"]  # a test pointed every later app at its advisory fake
    new = create_app(cfg, lazy_routes=lazy_routes)
    new.config["PTEROCA_BUILD_CONFIG"] = dict(cfg)
    return new


# --- builders shared by the pytest plugin (kernel.pytest_plugin) and pteroca's own tests -------
# One home for each: the fixtures of the public plugin call these, and so do the project's tests
# that build their own apps. The store's builders (products, purchases, servers) live in the
# store's package (``builtin_plugins.store.testing``): the kernel imports no plugin.

TEST_PASSWORD = "plugin-test-password"  # long enough for the kernel's password rule


def login(app_or_client, email: str, password: str = TEST_PASSWORD):
    """Log in through the login form, as a browser would; return the logged-in client.

    Takes an app (a new test client is made) or a client. The CSRF token is read from the
    form when the app checks it. A refused login fails the test with the page's message.
    """
    client = app_or_client.test_client() if isinstance(app_or_client, Flask) else app_or_client
    data = {"email": email, "password": password}
    if client.application.config.get("WTF_CSRF_ENABLED", True):
        page = client.get("/login").get_data(as_text=True)
        marker = 'name="csrf_token" value="'
        if marker in page:
            data["csrf_token"] = page.split(marker, 1)[1].split('"', 1)[0]
    response = client.post("/login", data=data)
    if response.status_code not in (302, 303):
        raise AssertionError(
            f"logging in {email} failed with {response.status_code}: "
            f"{_flashes(response.get_data(as_text=True))}"
        )
    return client


def _flashes(page: str) -> str:
    import re

    found = re.findall(r'class="alert[^"]*"[^>]*>\s*([^<]+?)\s*<', page)
    return "; ".join(found) or "no message on the page"


def make_customer(
    email: str = "buyer@example.com",
    balance: int = 0,
    *,
    name: str | None = None,
    password: str = TEST_PASSWORD,
    verified: bool = True,
):
    """A customer account (inside an app context) with ``balance`` minor units in the wallet,
    credited through the ledger like an admin adjustment; returns the ``User``."""
    from kernel.accounts.services import create_user
    from kernel.payments import ledger

    user = create_user(
        email, password, name=email.split("@")[0] if name is None else name, verified=verified
    )
    if balance:
        ledger.credit(user.id, balance, "adjustment", f"seed:{email}")
    return user


def admin_client(
    app: Flask,
    email: str = "admin@example.com",
    password: str = TEST_PASSWORD,
    *,
    role: str = "admin",
):
    """A new staff account of ``role`` on ``app`` and a client logged in as it."""
    from kernel.accounts.services import create_user
    from kernel.extensions import db

    with app.app_context():
        create_user(email, password, name=email.split("@")[0], role=role, verified=True)
        db.session.remove()
    return login(app, email, password)


def run_cli(app: Flask, *args: str, input: str | None = None):
    """Run ``pteroca *args`` like a shell would: on an app built afresh from ``app``'s
    configuration (so plugin changes made meanwhile are seen); returns click's ``Result``.

    The app's database connections are closed afterwards: a PostgreSQL template database
    built this way can then be copied. As in a shell, the commands that serve no request
    (``pteroca plugin ...``) get an app whose routes are built only if a URL is used."""
    from kernel.app import OFFLINE_COMMAND_GROUPS
    from kernel.cli import main
    from kernel.extensions import db

    built = rebuild(app, lazy_routes=bool(args) and args[0] in OFFLINE_COMMAND_GROUPS)
    try:
        return built.test_cli_runner().invoke(main, list(args), input=input, catch_exceptions=False)
    finally:
        with built.app_context():
            db.session.remove()
            for engine in db.engines.values():
                engine.dispose()


@contextmanager
def statements(app: Flask) -> Iterator[list[str]]:
    """Every SQL statement ``app``'s engine runs inside the block (whitespace collapsed).

    How tests pin what a page costs: ``with statements(app) as seen: client.get(url)``, then
    compare ``len(seen)`` for pages of 20 and of 100 rows.
    """
    from sqlalchemy import event

    from kernel.extensions import db

    seen: list[str] = []
    with app.app_context():
        engine = db.engine

    def note(conn, cursor, statement, *args) -> None:
        seen.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)
