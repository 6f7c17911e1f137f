"""Flask extension singletons shared by the kernel and plugins."""

from __future__ import annotations

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Deterministic constraint names keep Alembic migrations portable between
# SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)


# --- SQLite: real transactions that wait instead of failing ------------------------
# pysqlite opens transactions lazily and lets two writers deadlock on upgrade.
# We take the write lock at BEGIN (BEGIN IMMEDIATE), wait up to 30 s for it, and
# use WAL so readers never block the writer. PostgreSQL needs none of this.
#
# Read-only requests are the exception (docs/architecture.md): a GET or HEAD of a view
# marked with :func:`read_only` begins a deferred transaction, so such requests read in
# parallel instead of taking turns on the write lock. Should one of them write after
# all (a plugin widget, the guard ending a blocked user's session), SQLite either
# upgrades the snapshot to a write - serializable, as if it had begun IMMEDIATE - or
# refuses at once with SQLITE_BUSY because another connection wrote or is writing.
# The refusal is recorded here and the app runs the whole request again under
# BEGIN IMMEDIATE (``kernel.app.PterocaFlask``), so a write is never lost to it.
# A run again must not repeat committed work: once such a request commits, its later
# transactions begin IMMEDIATE (no refusal can follow), and a refusal the view caught
# and went on to commit after is not run again.
import sqlite3  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from contextvars import ContextVar  # noqa: E402
from typing import TypeVar  # noqa: E402

from flask import current_app, g, has_request_context  # noqa: E402
from flask.globals import _cv_app, _cv_request  # noqa: E402 - no proxies: runs at every BEGIN
from sqlalchemy import event, inspect  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402
from sqlalchemy.exc import OperationalError, ProgrammingError  # noqa: E402

READ_ONLY_ATTR = "pteroca_read_only"
READ_METHODS = frozenset({"GET", "HEAD"})
_WRITE_RETRY = "_pteroca_write_retry"  # g: this request runs again under BEGIN IMMEDIATE
_WRITE_REFUSED = "_pteroca_write_refused"  # g: SQLite refused a write in a deferred transaction
_COMMITTED = "_pteroca_committed"  # g: this run of a read-only request committed something
_SQLITE_BUSY = 5  # SQLITE_BUSY and its extended codes (SQLITE_BUSY_SNAPSHOT = 517)
_deferred: ContextVar[bool | None] = ContextVar("pteroca_deferred_begin", default=None)

View = TypeVar("View", bound=Callable)


def read_only(view: View) -> View:
    """Mark a view as only reading the database on GET/HEAD (see the note above).

    Safe to put on a view that sometimes writes: a write SQLite refuses re-runs the
    request under ``BEGIN IMMEDIATE``. Do not mark views with outside side effects
    that must not happen twice (a provider call before a write), nor POST handlers
    (the mark only applies to GET and HEAD).
    """
    setattr(view, READ_ONLY_ATTR, True)
    return view


@contextmanager
def reading() -> Iterator[None]:
    """Transactions begun inside this block are deferred (SQLite): for read-only checks
    outside a request, such as the hot swap's generation poll. A write in them may fail
    with "database is locked" instead of waiting: only read."""
    token = _deferred.set(True)
    try:
        yield
    finally:
        _deferred.reset(token)


def request_reads_only() -> bool:
    """True when the current request is a GET/HEAD of a :func:`read_only` view, on its
    first run (a run again after a refused write uses BEGIN IMMEDIATE)."""
    ctx = _cv_request.get(None)
    if ctx is None or ctx.request.method not in READ_METHODS:
        return False
    flags = vars(_cv_app.get().g)
    if _WRITE_RETRY in flags or _COMMITTED in flags or _WRITE_REFUSED in flags:
        return False
    view = ctx.app.view_functions.get(ctx.request.endpoint)
    return bool(getattr(view, READ_ONLY_ATTR, False))


def write_refused() -> bool:
    """True when SQLite refused a write of this request's deferred transaction."""
    return bool(g.get(_WRITE_REFUSED))


def committed() -> bool:
    """True when this run of a read-only request committed a transaction."""
    return bool(g.get(_COMMITTED))


def retry_with_write_lock() -> None:
    """From now on this request's transactions begin IMMEDIATE again (``PterocaFlask``)."""
    g.pop(_WRITE_REFUSED, None)
    g.pop(_COMMITTED, None)
    setattr(g, _WRITE_RETRY, True)


def _begin_deferred() -> bool:
    explicit = _deferred.get()
    return request_reads_only() if explicit is None else explicit


@event.listens_for(Engine, "connect")
def _sqlite_on_connect(dbapi_connection, _record):
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout = 30000")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_on_begin(connection):
    if connection.dialect.name == "sqlite":
        deferred = _begin_deferred()
        connection.info["pteroca_deferred"] = deferred
        connection.exec_driver_sql("BEGIN" if deferred else "BEGIN IMMEDIATE")


@event.listens_for(Engine, "commit")
def _sqlite_on_commit(connection):
    if connection.dialect.name == "sqlite" and has_request_context():
        setattr(g, _COMMITTED, True)


@event.listens_for(Engine, "handle_error")
def _sqlite_on_error(context):
    """Note a write SQLite refused in a deferred transaction (see the note above)."""
    connection = context.connection
    error = context.original_exception
    if (
        connection is None
        or context.is_disconnect
        or connection.dialect.name != "sqlite"
        or not isinstance(error, sqlite3.OperationalError)
        or not connection.info.get("pteroca_deferred")
    ):
        return
    if getattr(error, "sqlite_errorcode", 0) & 0xFF == _SQLITE_BUSY and has_request_context():
        setattr(g, _WRITE_REFUSED, True)


# --- Commits that keep what was loaded -------------------------------------------------------


def commit_keeping() -> None:
    """Commit without expiring the session's objects.

    A plain commit expires every loaded object, so the next read of any attribute reloads its
    row: right for objects another transaction may change, wasted on rows this transaction just
    wrote and still holds (a purchase's service, ledger entry and customer are read again by the
    events fired after it). Use it only when what the session holds is what was committed;
    objects changed behind the ORM's back (a Core ``UPDATE``) must be expired by the caller.
    """
    session = db.session()
    keep = session.expire_on_commit
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = keep


# --- Is the schema there? ---------------------------------------------------------------
_READY_KEY = "pteroca_database_ready"


def database_ready() -> bool:
    """True once the kernel's tables exist. Checked until it is true, then remembered for
    the app (a database does not lose its tables under a running app)."""
    app = current_app._get_current_object()
    if app.extensions.get(_READY_KEY):
        return True
    try:
        ready = inspect(db.session.connection()).has_table("kernel_state")
    except (OperationalError, ProgrammingError):
        db.session.rollback()
        return False
    if ready:
        app.extensions[_READY_KEY] = True
    return ready
