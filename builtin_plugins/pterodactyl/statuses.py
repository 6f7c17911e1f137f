"""Live states of many servers at once, without a page ever waiting on the panel per server.

A customer's server list shows one state per server. Asking the panel for each one while
the page renders cost a request per server, in a row, on the budget every customer
shares. Instead:

- states live in a short-lived cache shared by every process: Redis when the site has one
  (``REDIS_URL``), else the ``pterodactyl_live_state`` table. An entry is good for
  :data:`FRESH_SECONDS`; an older one is not shown;
- :func:`known` reads the cache for many servers in one round trip and starts a background
  refresh of the missing ones: a bounded pool of :data:`WORKERS` threads per process, each
  server refreshed once at a time whoever asked, through the shared pooled client;
- :func:`collect` does the same and then waits at most ``wait`` seconds for the refresh:
  what has not come by then is "unknown" (a slow or hung panel degrades the list's states,
  never the page).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import current_app

from builtin_plugins.panel_kit.api import errors, messages
from builtin_plugins.pterodactyl import panel
from builtin_plugins.pterodactyl.panel import PanelSettings
from builtin_plugins.store.api import LiveStatus
from kernel import db
from kernel import now as utcnow

log = logging.getLogger(__name__)

FRESH_SECONDS = 15
WORKERS = 8  # panel requests in flight per process for status refreshes
REDIS_PREFIX = "pteroca:pterodactyl:live:"


@dataclass(frozen=True)
class Target:
    """What a refresh needs of one server (read by the caller: workers touch no ORM rows)."""

    service_id: int
    server_id: int
    identifier: str


# --- reading a panel state ------------------------------------------------------------------


def ask_panel(client, settings: PanelSettings, target: Target) -> LiveStatus:
    """One server's state from the panel (client API's resources when a client key is set,
    else the application API's status); panel failures become "unknown" with the customer's
    sentence. Never raises a PanelError."""
    try:
        if settings.client_key and target.identifier:
            return from_resources(client.client.resources(target.identifier))
        return from_application(client.app.get_server(target.server_id))
    except errors.ServerStateConflict as exc:
        state = {"restoring": "installing", "transferring": "installing"}.get(exc.state, exc.state)
        return LiveStatus(
            state if state in ("suspended", "installing") else "unknown",
            messages.state_conflict(exc),
        )
    except errors.NotFound:
        return LiveStatus("unknown", messages.gone())
    except errors.PanelError as exc:  # the same sentences as every customer page
        return LiveStatus("unknown", messages.for_customer(exc).text)


def from_resources(stats: dict[str, Any]) -> LiveStatus:
    state = str(stats.get("current_state") or "offline")
    if stats.get("is_suspended"):
        return LiveStatus("suspended")
    return LiveStatus(
        {"running": "running", "starting": "starting", "stopping": "stopping"}.get(state, "offline")
    )


def from_application(server: dict[str, Any]) -> LiveStatus:
    status = server.get("status")
    if status == "suspended" or server.get("suspended"):
        return LiveStatus("suspended")
    if status == "installing":
        return LiveStatus("installing")
    if status in ("install_failed", "reinstall_failed"):
        return LiveStatus("unknown", messages.install_failed())
    return LiveStatus("unknown", messages.no_live_state())


# --- the shared cache ------------------------------------------------------------------------


def _redis(app):
    url = app.config.get("REDIS_URL") or ""
    if not url:
        return None
    import redis

    with _lock:
        found = _redis_clients.get(url)
        if found is None:
            found = _redis_clients[url] = redis.Redis.from_url(url, socket_timeout=1)
    return found


def read(app, service_ids: Iterable[int]) -> dict[int, LiveStatus]:
    """The fresh cached states of ``service_ids``: one MGET or one SELECT."""
    ids = sorted(set(service_ids))
    if not ids:
        return {}
    store = _redis(app)
    if store is not None:
        values = store.mget([f"{REDIS_PREFIX}{i}" for i in ids])
        return {i: LiveStatus(**json.loads(v)) for i, v in zip(ids, values, strict=True) if v}
    from builtin_plugins.pterodactyl.models import LiveState

    since = utcnow() - timedelta(seconds=FRESH_SECONDS)
    rows = db.session.execute(
        db.select(LiveState.service_id, LiveState.state, LiveState.detail).where(
            LiveState.service_id.in_(ids), LiveState.checked_at > since
        )
    )
    return {row.service_id: LiveStatus(row.state, row.detail) for row in rows}


def write(app, found: dict[int, LiveStatus]) -> None:
    """Store fresh states (a SETEX each in one pipeline, or one DELETE and one INSERT)."""
    if not found:
        return
    store = _redis(app)
    if store is not None:
        pipe = store.pipeline(transaction=False)
        for service_id, status in found.items():
            pipe.setex(
                f"{REDIS_PREFIX}{service_id}",
                FRESH_SECONDS,
                json.dumps({"state": status.state, "detail": status.detail}),
            )
        pipe.execute()
        return
    from builtin_plugins.pterodactyl.models import LiveState

    now = utcnow()
    db.session.execute(db.delete(LiveState).where(LiveState.service_id.in_(list(found))))
    db.session.execute(
        db.insert(LiveState),
        [
            {"service_id": i, "state": s.state, "detail": s.detail[:1000], "checked_at": now}
            for i, s in found.items()
        ],
    )
    db.session.commit()


# --- background refresh ----------------------------------------------------------------------

_lock = threading.Lock()
_redis_clients: dict[str, Any] = {}
_pool: ThreadPoolExecutor | None = None
_running: dict[tuple[str, int], Future] = {}  # (panel URL, service id) -> its refresh


def _executor() -> ThreadPoolExecutor:
    """The process's refresh pool (called with ``_lock`` held)."""
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="pterodactyl-live")
    return _pool


def refresh(targets: Iterable[Target], settings: PanelSettings | None = None) -> dict[int, Future]:
    """Start refreshing ``targets`` in the background: a server already being refreshed is
    not asked twice, the new ones are shared out among at most WORKERS tasks, each asking
    the panel for its servers in turn and caching them in one write. Each server's future
    resolves to its LiveStatus as soon as the panel answered for it."""
    app = current_app._get_current_object()
    settings = settings or panel.load_settings()
    out: dict[int, Future] = {}
    new: list[tuple[Target, Future]] = []
    with _lock:
        for target in targets:
            key = (settings.url, target.service_id)
            future = _running.get(key)
            if future is None:
                future = _running[key] = Future()
                new.append((target, future))
            out[target.service_id] = future
        if new:
            pool = _executor()
            for n in range(min(WORKERS, len(new))):
                pool.submit(_refresh_some, app, settings, new[n::WORKERS])
    return out


def _refresh_some(app, settings: PanelSettings, batch: list[tuple[Target, Future]]) -> None:
    """Ask the panel for each server of ``batch`` in turn, then cache the answers (a worker
    thread; the customer's sentences are in the site's default language)."""
    found: dict[int, LiveStatus] = {}
    with app.app_context():
        try:
            # background: the page does not wait on it beyond ``collect``'s ``wait``
            client = panel.make_client(settings, quick=True, background=True)
            for target, future in batch:
                try:
                    status = ask_panel(client, settings, target)
                except Exception as exc:  # noqa: BLE001 - a worker must not die on one server
                    log.warning("live state of service %s failed: %s", target.service_id, exc)
                    status = LiveStatus("unknown", messages.no_live_state())
                found[target.service_id] = status
                future.set_result(status)
            write(app, found)
        except Exception as exc:  # noqa: BLE001 - who waits still gets the states
            log.warning("could not cache %d live states: %s", len(found), exc)
            db.session.rollback()
        finally:
            db.session.remove()
            with _lock:
                for target, future in batch:
                    _running.pop((settings.url, target.service_id), None)
                    if not future.done():
                        future.set_result(LiveStatus("unknown", messages.no_live_state()))


# --- what pages call -------------------------------------------------------------------------


def targets_of(services: Iterable[Any]) -> dict[int, Target]:
    """The refresh targets of ``services`` with a live panel link: one query."""
    from builtin_plugins.pterodactyl.models import ServerLink

    ids = [s.id for s in services]
    if not ids:
        return {}
    rows = db.session.execute(
        db.select(ServerLink.service_id, ServerLink.server_id, ServerLink.identifier).where(
            ServerLink.service_id.in_(ids), ServerLink.deleted_at.is_(None)
        )
    )
    return {r.service_id: Target(r.service_id, r.server_id, r.identifier or "") for r in rows}


def collect(services: Iterable[Any], *, wait: float = 0.0) -> dict[int, LiveStatus]:
    """States of ``services``: the cached ones at once; the others refreshed in the
    background and awaited up to ``wait`` seconds (0: not awaited, left out of the answer).
    With ``wait``, every service gets a state: "unknown" when the panel was too slow."""
    services = list(services)
    app = current_app._get_current_object()
    settings = panel.load_settings()
    if not settings.configured:
        return (
            {
                s.id: LiveStatus(
                    "unknown", messages.for_customer(errors.NotConfigured("not configured")).text
                )
                for s in services
            }
            if wait
            else {}
        )
    found = read(app, (s.id for s in services))
    missing = [s for s in services if s.id not in found]
    if not missing:
        return found
    targets = targets_of(missing)
    futures = refresh(targets.values(), settings)
    if wait:
        wait_for(list(futures.values()), timeout=wait)
        for service in missing:
            future = futures.get(service.id)
            if future is None:
                found[service.id] = LiveStatus("unknown", messages.gone())
            elif future.done() and future.exception() is None:
                found[service.id] = future.result()
            else:
                found[service.id] = LiveStatus("unknown", messages.too_slow())
    return found
