"""Tools of the hostile-theme tests: walk everything a template can reach, snapshot the database.

``reachable`` explores a template's context the way a template can (through the theme
environment's own ``getattr``, ``getitem`` and ``call``, so every rule of the sandbox
applies) and returns every value it got to. The tests then look for forbidden objects
(the ORM session, an engine, the app, the config...), secrets in their text, and rows
of other users.
"""

from __future__ import annotations

import itertools
import types
from collections import deque
from collections.abc import Iterator
from typing import Any

from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.runtime import Undefined

MAX_DEPTH = 7
MAX_ITEMS = 25
MAX_VALUES = 20_000  # per template render; the sandboxed walk stays far below


class TooMuchReachable(Exception):
    """The walk found more than ``MAX_VALUES`` values: the template reaches far too much."""


LEAVES = (str, bytes, int, float, bool, type(None), complex)
VIEWS = (type({}.keys()), type({}.values()), type({}.items()), range)


def forbidden_types() -> tuple[type, ...]:
    """Objects that must never be in a theme template's reach."""
    import flask
    import sqlalchemy.orm
    from flask.ctx import _AppCtxGlobals
    from flask.sessions import SessionMixin
    from flask_sqlalchemy import SQLAlchemy
    from sqlalchemy import MetaData, Table
    from sqlalchemy.engine import Connection, Engine
    from werkzeug.local import LocalProxy
    from werkzeug.wrappers import Request

    return (
        sqlalchemy.orm.Session,
        sqlalchemy.orm.scoped_session,
        sqlalchemy.orm.Query,
        sqlalchemy.orm.registry,
        sqlalchemy.orm.Mapper,
        MetaData,
        Table,
        Engine,
        Connection,
        SQLAlchemy,
        flask.Flask,
        flask.Config,
        Request,
        SessionMixin,
        _AppCtxGlobals,
        LocalProxy,
        types.ModuleType,
        types.FrameType,
        types.CodeType,
    )


def _children(env, context, path: str, value: Any) -> Iterator[tuple[str, Any]]:
    from kernel.theme_sandbox import declared_fields, items_allowed

    names = {n for n in dir(value) if not n.startswith("_")}
    if not isinstance(value, type):
        names |= declared_fields(type(value))
    for name in sorted(names):
        try:
            child = env.getattr(value, name)
        except (SecurityError, UndefinedError):
            continue
        except Exception:  # noqa: BLE001 - a property that fails is not a leak
            continue
        if not isinstance(child, Undefined):
            yield f"{path}.{name}", child
    if items_allowed(value):
        keys = (
            list(itertools.islice(value.keys(), MAX_ITEMS))
            if hasattr(value, "keys")
            else range(min(len(value), MAX_ITEMS))
            if hasattr(value, "__len__")
            else []
        )
        for key in keys:
            try:
                child = env.getitem(value, key)
            except Exception:  # noqa: BLE001
                continue
            if not isinstance(child, Undefined):
                yield f"{path}[{key!r}]", child
    if isinstance(value, VIEWS):
        for n, child in enumerate(itertools.islice(value, MAX_ITEMS)):
            yield f"{path}<{n}>", child
    if callable(value) and env.is_safe_callable(value):
        try:
            result = env.call(context, value)  # a template may call it: so do we
        except Exception:  # noqa: BLE001 - needs arguments, or refused
            return
        yield f"{path}()", result


def reachable(
    env, context, roots: dict[str, Any], stop: tuple[type, ...] = ()
) -> list[tuple[str, Any]]:
    """Every (path, value) a template with these variables can get to. Values of the
    ``stop`` types are listed but not explored (nor called: a walk that reached the
    session must not go on to call its ``commit``)."""
    seen: set[int] = set()
    keep: list[Any] = []  # holds every value, so no id() is reused while we walk
    found: list[tuple[str, Any]] = []
    queue = deque((name, value, 0) for name, value in roots.items())
    while queue:
        path, value, depth = queue.popleft()
        if id(value) in seen:
            continue
        seen.add(id(value))
        keep.append(value)
        found.append((path, value))
        if len(found) > MAX_VALUES:
            raise TooMuchReachable(f"over {MAX_VALUES} values reachable, e.g. {path}")
        if depth >= MAX_DEPTH or isinstance(value, LEAVES) or isinstance(value, stop):
            continue
        for child_path, child in _children(env, context, path, value):
            queue.append((child_path, child, depth + 1))
    return found


def text_of(value: Any) -> str:
    out = []
    for render in (str, repr):
        try:
            out.append(render(value))
        except Exception:  # noqa: BLE001
            pass
    return " ".join(out)


def snapshot(session) -> dict[str, list[tuple]]:
    """Every row of every table, read through ``session`` (its transaction sees what the
    current request wrote, committed or not)."""
    from sqlalchemy import inspect, select

    from kernel.extensions import db

    present = set(inspect(session.connection()).get_table_names())
    out = {}
    for table in db.metadata.sorted_tables:
        if table.name in present:  # other tests' plugins may have added models to metadata
            rows = session.execute(select(table)).all()
            out[table.name] = sorted(tuple(map(repr, row)) for row in rows)
    return out
