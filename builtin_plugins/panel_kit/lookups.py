"""Panel lookups kept for a while, and panels known to be away: what both panel plugins'
product forms, checkout and pages use so that they stay quick when the panel is slow or down.

A lookup (an egg, the nodes, the locations...) is asked once a minute per panel and key
(failures are not kept); a panel that did not answer is not asked again for half a minute
(its pages say so instead). Each plugin holds one :class:`Lookups`.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

CACHE_SECONDS = 60.0
DOWN_SECONDS = 30.0
CHOICE_ID = re.compile(r"\(#(\d+)\)$")


def choice_id(label: Any) -> int | None:
    """``"Paper (#3)"`` -> 3: the id behind a checkout choice."""
    match = CHOICE_ID.search(str(label or ""))
    return int(match.group(1)) if match else None


class Lookups:
    """One plugin's cache of panel lookups and its panels known to be down."""

    def __init__(self) -> None:
        self._cache: dict[tuple, tuple[float, Any]] = {}
        self._down: dict[str, float] = {}
        self._lock = threading.Lock()

    def cached(self, key: tuple, fetch: Callable[[], T], ttl: float = CACHE_SECONDS) -> T:
        """``fetch()`` once per ``ttl`` seconds per key (failures are not cached)."""
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        value = fetch()
        with self._lock:
            self._cache[key] = (now + ttl, value)
        return value

    def forget(self, *, down: bool = True) -> None:
        """Drop every kept lookup (and, with ``down``, what is known to be down)."""
        with self._lock:
            self._cache.clear()
            if down:
                self._down.clear()

    def mark_down(self, url: str) -> None:
        with self._lock:
            self._down[url] = time.monotonic() + DOWN_SECONDS

    def is_down(self, url: str) -> bool:
        with self._lock:
            return self._down.get(url, 0) > time.monotonic()

    def quick_client(self, settings: Any, make_client: Callable[..., Any]) -> Any | None:
        """A quick client of the configured panel, or None when there is none or it is down."""
        if not settings.configured or self.is_down(settings.url):
            return None
        return make_client(settings, quick=True)
