"""The panel kit's public module: what a panel plugin that requires ``panel_kit`` may import.

``errors`` and ``transport`` are exposed as modules because the panel plugins refer to their
many exception classes as ``errors.NotFound``, ``errors.ValidationFailed``...; the names below
are the rest of the published surface: the client API wrapper (:class:`ClientAPI`) and the
customers' server tabs, built for a panel plugin from its :class:`PanelTabs`
(:func:`tabs_blueprint` for ``register_blueprints``, :func:`tabs_for` for ``server_tabs``,
:func:`shared_menu_items` for ``client_menu_items``). Everything else in the package may change between its
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
from builtin_plugins.panel_kit.client_api import POWER_SIGNALS, ClientAPI
from builtin_plugins.panel_kit.tabs.adapter import PERMISSION_GROUPS, CustomerError, PanelTabs
from builtin_plugins.panel_kit.tabs.subusers import shared_with as shared_with_user
from builtin_plugins.panel_kit.tabs.views import menu_items as shared_menu_items
from builtin_plugins.panel_kit.tabs.views import tabs_blueprint, tabs_for
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
    "PERMISSION_GROUPS",
    "POWER_SIGNALS",
    "THROTTLE",
    "ClientAPI",
    "CustomerError",
    "PanelTabs",
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
    "shared_menu_items",
    "shared_with_user",
    "tabs_blueprint",
    "tabs_for",
    "transport",
    "unwrap",
]
