"""The panel kit's public module: what a panel plugin that requires ``panel_kit`` may import.

``errors`` and ``transport`` are exposed as modules because the panel plugins refer to their
many exception classes as ``errors.NotFound``, ``errors.ValidationFailed``...; the names below
are the rest of the published surface. Everything else in the package may change between its
releases; names here change only through a deprecation, like the kernel's.
"""

from __future__ import annotations

from builtin_plugins.panel_kit import budget, errors, transport
from builtin_plugins.panel_kit.budget import (
    Budget,
    DatabaseStore,
    MemoryStore,
    RedisStore,
    SiteStore,
    VirtualClock,
    burst_for,
    max_rate,
)
from builtin_plugins.panel_kit.transport import (
    THROTTLE,
    Page,
    RetryPolicy,
    Throttle,
    Timeouts,
    Transport,
    filters,
    unwrap,
)

__all__ = [
    "THROTTLE",
    "Budget",
    "DatabaseStore",
    "MemoryStore",
    "RedisStore",
    "SiteStore",
    "VirtualClock",
    "budget",
    "burst_for",
    "max_rate",
    "Page",
    "RetryPolicy",
    "Throttle",
    "Timeouts",
    "Transport",
    "errors",
    "filters",
    "transport",
    "unwrap",
]
