"""Services some tests need (Chromium, PostgreSQL, Redis): found, or a plain reason why not.

CI (``CI=true``) installs every service, so there a missing one is a failure, not a skip.
"""

from __future__ import annotations

import os
import shutil
import threading

import pytest

CHROMIUM = os.environ.get("PTEROCA_CHROMIUM", "/usr/bin/chromium")


def require(available: bool, what: str, how: str) -> None:
    if available:
        return
    message = f"{what} is not available here ({how}); CI runs these tests"
    if os.environ.get("CI"):
        pytest.fail(f"{what} is missing on CI: .ci/run must install it ({how})")
    pytest.skip(message)


def require_chromium() -> str:
    require(bool(shutil.which(CHROMIUM)), "Chromium", "apt-get install chromium")
    return CHROMIUM


POSTGRES_ENV = "PTEROCA_TEST_POSTGRES_URL"


def require_postgres() -> str:
    """An admin URL for a PostgreSQL server that may create databases (set by .ci/run)."""
    url = os.environ.get(POSTGRES_ENV, "")
    require(bool(url), "PostgreSQL", f"set {POSTGRES_ENV}, as .ci/run does")
    return url


_CREATE_LOCK = threading.Lock()  # one copy of a template at a time in this process
TEMPLATE_ATTEMPTS = 5

# Copies of a template made in the background while a test runs (``ahead=True``), one per
# (server, template): a ``CREATE DATABASE ... TEMPLATE`` is spent waiting on the server, a
# third of a PostgreSQL test's wall time on the loaded machine (1.9 s of 5.6 s).
_AHEAD: dict[tuple[str, str], object] = {}  # Futures of (url, drop)
_AHEAD_MAKER = None


def fresh_postgres_database(admin_url: str, template: str | None = None, *, ahead: bool = False):
    """Create an empty database (or a copy of ``template``); return (its SQLAlchemy URL, a
    function that drops it).

    PostgreSQL copies a template only while nobody else is connected to it. Copies are made
    one at a time here; a connection still open on the template (a pool's connection closing
    late on a loaded machine) is ended and the copy tried again: the template exists only to
    be copied, so nothing of value is connected to it.

    ``ahead=True`` (a template that no longer changes: it is copied for test after test) hands
    out the copy made in the background since the last call, if any, and starts the next one.
    Dropping the template drops its copy made ahead first."""
    if not (ahead and template):
        return _create_database(admin_url, template)
    made = _take_made_ahead(admin_url, template)
    if made is None:
        made = _create_database(admin_url, template)
    _AHEAD[(admin_url, template)] = _ahead_maker().submit(_create_database, admin_url, template)
    return made


def _ahead_maker():
    global _AHEAD_MAKER
    if _AHEAD_MAKER is None:
        from concurrent.futures import ThreadPoolExecutor

        _AHEAD_MAKER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="make-test-db")
    return _AHEAD_MAKER


def _take_made_ahead(admin_url: str, template: str):
    future = _AHEAD.pop((admin_url, template), None)
    if future is None:
        return None
    try:
        return future.result()
    except Exception:  # noqa: BLE001 - the caller makes the copy itself and sees the error
        return None


def drop_made_ahead(admin_url: str | None = None, template: str | None = None) -> None:
    """Drop the copies made ahead (of ``template`` on ``admin_url``; all when not given)."""
    for key in list(_AHEAD):
        if admin_url is None or key == (admin_url, template):
            made = _take_made_ahead(*key)
            if made is not None:
                made[1]()


def _create_database(admin_url: str, template: str | None):
    import time
    import uuid

    import psycopg
    from sqlalchemy.engine import make_url

    name = f"pteroca_test_{uuid.uuid4().hex[:12]}"
    admin = make_url(admin_url)
    plain = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    with _CREATE_LOCK, psycopg.connect(plain, autocommit=True) as conn:
        for attempt in range(1, TEMPLATE_ATTEMPTS + 1):
            try:
                conn.execute(
                    f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")
                )
                break
            except psycopg.errors.ObjectInUse:
                if not template or attempt == TEMPLATE_ATTEMPTS:
                    raise
                conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid()",
                    (template,),
                )
                time.sleep(0.2 * attempt)

    def drop() -> None:
        drop_made_ahead(admin_url, name)  # a copy of this database made ahead goes first
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return admin.set(drivername="postgresql+psycopg", database=name).render_as_string(
        hide_password=False
    ), drop


TEST_DATABASE_ENV = "PTEROCA_TEST_DATABASE"


class PostgresPerInstance:
    """``kernel.testing.database_for_instance`` for the PostgreSQL pass of the suite.

    Each instance folder gets a fresh database the first time an app is built for it (and the
    same one on later builds): a copy of a template migrated once per test process, so a test
    pays for ``CREATE DATABASE`` (made ahead, while the previous test ran), not for every
    kernel migration. A database made while a test
    runs is dropped after that test (in the background); one made by a module- or
    session-scoped fixture lives until the end of the session.
    """

    def __init__(self, admin_url: str):
        from concurrent.futures import ThreadPoolExecutor

        self.admin_url = admin_url
        self.urls: dict[str, str] = {}
        self.drops: dict[str, tuple[str, object]] = {}
        self.scopes: list[str] = []  # fixture scopes being set up, innermost last
        self.unused: set[str] = set()  # copies of the template no app was built on yet
        self._template: tuple[str, object] | None = None
        self._dropper = ThreadPoolExecutor(max_workers=2, thread_name_prefix="drop-test-db")

    def template(self) -> str:
        """The name of this process's migrated template database (made on first use)."""
        if self._template is None:
            import tempfile

            from sqlalchemy.engine import make_url

            from kernel.app import create_app
            from kernel.extensions import db
            from kernel.plugin_lifecycle.services import upgrade_all

            url, drop = fresh_postgres_database(self.admin_url)
            with tempfile.TemporaryDirectory() as tmp:
                app = create_app(
                    {
                        "TESTING": True,
                        "DATABASE_URL": url,
                        "INSTANCE_PATH": tmp,
                        "PLUGINS_DIR": tmp,
                        "THEMES_DIR": tmp,
                        "SECRET_KEY": "x",
                        "OSV_URL": "http://127.0.0.1:9",
                    }
                )
                with app.app_context():
                    upgrade_all()
                    db.session.remove()
                    for engine in db.engines.values():
                        engine.dispose()  # a template must have no connections
            self._template = (make_url(url).database, drop)
        return self._template[0]

    def __call__(self, instance) -> str:
        from pathlib import Path

        key = str(Path(instance).resolve())
        if key not in self.urls:
            url, drop = fresh_postgres_database(
                self.admin_url, template=self.template(), ahead=True
            )
            scope = self.scopes[-1] if self.scopes else "function"
            self.urls[key] = url
            self.drops[key] = (scope, drop)
            self.unused.add(url)
        return self.urls[key]

    def first_use_of_fresh_copy(self, url: str) -> bool:
        """True the first time ``url`` (a copy of the migrated template) is asked about: the
        app built on it need not migrate (``kernel.testing.build_app``)."""
        if url in self.unused:
            self.unused.discard(url)
            return True
        return False

    def drop(self, scopes: tuple[str, ...]) -> None:
        for key, (scope, drop) in list(self.drops.items()):
            if scope in scopes:
                self.unused.discard(self.urls[key])
                del self.drops[key], self.urls[key]
                self._dropper.submit(drop)

    def close(self) -> None:
        """Drop every database left, and the template."""
        self.drop(("function", "class", "module", "package", "session"))
        self._dropper.shutdown(wait=True)
        if self._template is not None:
            self._template[1]()
            self._template = None


REDIS_ENV = "PTEROCA_TEST_REDIS_URL"
REDIS_SERVER = os.environ.get("PTEROCA_REDIS_SERVER", "redis-server")


class RedisServer:
    """A private ``redis-server`` on a free port (no persistence), for one test or a cluster."""

    def __init__(self, binary: str = REDIS_SERVER, persist_dir: str | None = None):
        """``persist_dir``: keep the data there (append-only file), so a restart keeps it."""
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.binary = binary
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc = None
        self.persist_dir = persist_dir

    def start(self) -> RedisServer:
        import subprocess
        import tempfile
        import time

        import redis

        # Without a directory of its own, redis-server would load a dump.rdb lying in the
        # current directory (a developer's own Redis writes one there) into a test's Redis.
        self._scratch = None
        if not self.persist_dir:
            self._scratch = tempfile.TemporaryDirectory(prefix="pteroca-redis-")
        storage = (
            ["--appendonly", "yes", "--appendfsync", "always", "--dir", self.persist_dir]
            if self.persist_dir
            else ["--appendonly", "no", "--dir", self._scratch.name]
        )
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                *storage,
                "--daemonize",
                "no",
                "--loglevel",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()  # first: reading a live process's stderr would block
                    err = self.proc.stderr.read().decode(errors="replace")
                    raise RuntimeError(
                        f"redis-server did not start on port {self.port}: {err}"
                    ) from None
                time.sleep(0.05)
        client.close()
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except Exception:  # noqa: BLE001
                self.proc.kill()
                self.proc.wait(5)
        scratch = getattr(self, "_scratch", None)
        if scratch is not None:
            scratch.cleanup()
            self._scratch = None

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def require_redis_server() -> str:
    """The ``redis-server`` binary (CI installs it; .ci/run also exports PTEROCA_TEST_REDIS_URL)."""
    binary = shutil.which(REDIS_SERVER)
    require(bool(binary), "Redis (redis-server)", "apt-get install redis-server")
    return binary
