"""Shared domain logic: the plugin's settings, a client built from them, links, small caches.

No request objects: the provisioner, user sync, reconciliation, the CLI, cron tasks,
admin views and the customers' server tabs all call these functions.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from builtin_plugins.pterodactyl import errors
from builtin_plugins.pterodactyl.client import PanelClient
from builtin_plugins.pterodactyl.transport import RetryPolicy, Timeouts
from kernel import db, settings_for

PLUGIN = "pterodactyl"
NODE_POLICIES = ("least_loaded", "specific_nodes", "panel_deploy")
# Extra keyword arguments for every PanelClient built here (tests inject ``sleep`` or a
# shorter RetryPolicy; nothing else should need them).
CLIENT_OPTIONS: dict[str, Any] = {}
QUICK_RETRY = RetryPolicy(attempts=1, rate_limit_attempts=1)

T = TypeVar("T")


@dataclass(frozen=True)
class PanelSettings:
    url: str
    application_key: str
    client_key: str
    default_location: str = ""
    node_policy: str = "least_loaded"
    node_ids: tuple[int, ...] = ()
    external_id_prefix: str = "pteroca"
    sync_users: bool = True
    request_timeout: int = 30
    wings_timeout: int = 90

    @property
    def configured(self) -> bool:
        return bool(self.url and self.application_key)


def parse_ids(text: Any, label: str = "ids") -> tuple[int, ...]:
    """``"1, 2,3"`` -> ``(1, 2, 3)``; raises ValueError naming ``label`` for anything else."""
    if text is None:
        return ()
    if isinstance(text, int):
        return (text,)
    out = []
    for part in str(text).replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isdigit() or int(part) < 1:
            raise ValueError(f"{label}: {part!r} is not a positive whole number")
        out.append(int(part))
    return tuple(dict.fromkeys(out))


def load_settings() -> PanelSettings:
    """The plugin's effective settings (environment over stored values over defaults)."""
    values = settings_for(PLUGIN)
    try:
        node_ids = parse_ids(values.get("node_ids"), "Nodes")
    except ValueError:
        node_ids = ()
    policy = values.get("node_policy") or "least_loaded"
    return PanelSettings(
        url=(values.get("panel_url") or "").strip().rstrip("/"),
        application_key=(values.get("application_key") or "").strip(),
        client_key=(values.get("client_key") or "").strip(),
        default_location=(values.get("default_location") or "").strip(),
        node_policy=policy if policy in NODE_POLICIES else "least_loaded",
        node_ids=node_ids,
        external_id_prefix=re.sub(r"[^\w.:-]", "", values.get("external_id_prefix") or "")
        or "pteroca",
        sync_users=bool(values.get("sync_users", True)),
        request_timeout=max(1, int(values.get("request_timeout") or 30)),
        wings_timeout=max(1, int(values.get("wings_timeout") or 90)),
    )


def make_client(settings: PanelSettings, *, quick: bool = False, **options: Any) -> PanelClient:
    """A client for ``settings``. ``quick``: one try and short timeouts (pages, status)."""
    if not settings.url:
        raise errors.NotConfigured("no panel URL is set (Admin > Plugins > Pterodactyl settings)")
    kwargs: dict[str, Any] = {
        "timeouts": Timeouts(
            read=min(settings.request_timeout, 10) if quick else settings.request_timeout,
            wings=min(settings.wings_timeout, 20) if quick else settings.wings_timeout),
    }
    extra = dict(CLIENT_OPTIONS)
    if quick:
        kwargs["retry"] = QUICK_RETRY
        extra.pop("retry", None)
    kwargs.update(extra)
    kwargs.update(options)
    return PanelClient(settings.url, settings.application_key, settings.client_key, **kwargs)


def panel(*, quick: bool = False, need_client_key: bool = False,
          retry: RetryPolicy | None = None) -> PanelClient:
    """A client from the stored settings; NotConfigured when the URL or a key is missing.
    ``retry`` replaces the retry policy (the reconciler retries with its own backoff)."""
    settings = load_settings()
    if not settings.configured:
        raise errors.NotConfigured("the panel URL and application key are not set "
                                   "(Admin > Plugins > Pterodactyl settings)")
    if need_client_key and not settings.client_key:
        raise errors.NotConfigured("no client API key of a root admin is set, so live status "
                                   "and server actions are unavailable")
    return make_client(settings, quick=quick, **({"retry": retry} if retry else {}))


def external_id(service) -> str:
    """The panel ``external_id`` of a store service's server: the idempotency key."""
    return f"{load_settings().external_id_prefix}-{service.id}"


# --- links -------------------------------------------------------------------------------


def user_link(user_id: int):
    from builtin_plugins.pterodactyl.models import UserLink

    return db.session.get(UserLink, user_id)


def server_link(service_id: int):
    """The live link of a store service to its panel server, or None."""
    from builtin_plugins.pterodactyl.models import ServerLink

    link = db.session.get(ServerLink, service_id)
    return link if link is not None and link.deleted_at is None else None


def identifier_for(service) -> str | None:
    """The 8-character identifier the client API uses for ``service``'s server."""
    link = server_link(service.id)
    return link.identifier if link else None


def link_server(service, server: dict[str, Any], origin: str) -> Any:
    """Remember which panel server a service is (added to the session; the caller commits)."""
    from builtin_plugins.pterodactyl.models import ServerLink

    link = db.session.get(ServerLink, service.id) or ServerLink(service_id=service.id)
    link.server_id = int(server["id"])
    link.identifier = str(server.get("identifier") or "")[:8]
    link.uuid = str(server.get("uuid") or "")
    link.external_id = str(server.get("external_id") or "")
    link.node_id = server.get("node")
    link.origin, link.deleted_at, link.drift, link.drift_at = origin, None, "", None
    db.session.add(link)
    db.session.flush()
    return link


# --- a small cache for panel lookups (eggs, nests, locations) ----------------------------

_cache: dict[tuple, tuple[float, Any]] = {}
_cache_lock = threading.Lock()
CACHE_SECONDS = 60.0


def cached(key: tuple, fetch: Callable[[], T], ttl: float = CACHE_SECONDS) -> T:
    """``fetch()`` once per ``ttl`` seconds per key (failures are not cached)."""
    now = time.monotonic()
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
    value = fetch()
    with _cache_lock:
        _cache[key] = (now + ttl, value)
    return value


def forget_cache() -> None:
    with _cache_lock:
        _cache.clear()


def egg_with_variables(client: PanelClient, nest_id: int, egg_id: int) -> dict[str, Any]:
    return cached((client.url, "egg", int(nest_id), int(egg_id)),
                  lambda: client.app.get_egg(nest_id, egg_id))


def resolve_location(client: PanelClient, text: str) -> int | None:
    """A location given as id or short code -> its id (None for empty text)."""
    text = (text or "").strip()
    if not text:
        return None
    locations = cached((client.url, "locations"), client.app.list_locations)
    for location in locations:
        if text.isdigit() and int(text) == int(location["id"]):
            return int(location["id"])
        if str(location.get("short", "")).lower() == text.lower():
            return int(location["id"])
    raise errors.NotFound(f"the panel has no location {text!r}")
