"""Panel lookups that rarely change (eggs, nests, locations, nodes), cached per process.

A page that shows a plan's egg variables, or a placement that resolves a location code,
asks the panel once a minute at most; failures are not cached.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from builtin_plugins.panel_kit.api import errors
from builtin_plugins.pterodactyl.client import PanelClient

T = TypeVar("T")

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
    return cached(
        (client.url, "egg", int(nest_id), int(egg_id)), lambda: client.app.get_egg(nest_id, egg_id)
    )


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
