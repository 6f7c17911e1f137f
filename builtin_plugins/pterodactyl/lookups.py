"""Panel lookups that rarely change (eggs, nests, locations, nodes), cached per process.

A page that shows a plan's egg variables, or a placement that resolves a location code,
asks the panel once a minute at most; failures are not cached.
"""

from __future__ import annotations

from typing import Any

from builtin_plugins.panel_kit.api import Lookups, errors
from builtin_plugins.pterodactyl.client import PanelClient

LOOKUPS = Lookups()  # the catalog also marks a panel down here (half a minute)
cached = LOOKUPS.cached


def forget_cache() -> None:
    LOOKUPS.forget(down=False)


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
