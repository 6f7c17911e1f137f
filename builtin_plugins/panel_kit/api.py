"""The panel kit's public module: what a panel plugin that requires ``panel_kit`` may import.

``errors``, ``transport``, ``messages`` (what a customer is told of a panel failure),
``rules`` (egg variable rules), ``resume`` (walks of the panel's servers that resume where
they stopped: the reconcilers) and ``product_config`` (the product settings both panels parse
alike) are exposed as modules because the panel plugins refer to their names as
``errors.NotFound``, ``messages.for_customer``...; the names below are the rest of the
published surface, among them the client API wrapper (:class:`ClientAPI`), the request budget
(:class:`Budget`) and the customers' server tabs, built for a panel plugin from its
:class:`PanelTabs` (:func:`tabs_blueprint` for ``register_blueprints``, :func:`tabs_for` for
``server_tabs``, :func:`shared_menu_items` for ``client_menu_items``) and the provisioner glue
both plugins subclass or call with their panel's calls and words (:class:`ConnectionTest`,
:class:`PanelLifecycle`, :class:`Converger`, ``allocations.place_on``, :class:`Lookups`,
:func:`common_settings`, :func:`record_import`, :func:`erase_panel_user`). Everything else in the
package may change between its
releases; names here change only through a deprecation, like the kernel's.
"""

from __future__ import annotations

from builtin_plugins.panel_kit import (
    allocations,
    budget,
    convergence,
    creation,
    demo_catalog,
    errors,
    messages,
    product_config,
    resume,
    rules,
    transport,
)
from builtin_plugins.panel_kit.admin import FLAGGED_PAGE, PanelAdmin, PanelAdminView
from builtin_plugins.panel_kit.application import (
    FEATURE_KEYS,
    LIMIT_KEYS,
    PANEL_ENVIRONMENT,
    BaseApplicationAPI,
    egg_variables,
    server_environment,
)
from builtin_plugins.panel_kit.budget import (
    Budget,
    DatabaseStore,
    MemoryStore,
    RedisStore,
    SiteStore,
    VirtualClock,
    burst_for,
    max_rate,
    panel_limit,
)
from builtin_plugins.panel_kit.checks import Check, ConnectionReport, echo_report, url_problem
from builtin_plugins.panel_kit.client_api import POWER_SIGNALS, ClientAPI
from builtin_plugins.panel_kit.connection import (
    ClientPool,
    PanelConnection,
    client_options,
    segment,
    tls_context,
)
from builtin_plugins.panel_kit.connection_test import ConnectionTest
from builtin_plugins.panel_kit.converger import Converger
from builtin_plugins.panel_kit.importing import local_owner, record_import
from builtin_plugins.panel_kit.labels import ACTIVITY_LABELS, tab_action_labels
from builtin_plugins.panel_kit.lifecycle import PanelLifecycle
from builtin_plugins.panel_kit.links import fill_server_link
from builtin_plugins.panel_kit.lookups import Lookups, choice_id
from builtin_plugins.panel_kit.privacy import account_export, erase_panel_user
from builtin_plugins.panel_kit.product_config import (
    ConfigError,
    VariableConfig,
    docker_image,
    environment,
    environment_problems,
    parse_ports,
    parse_variables,
    port_allowed,
    slot_variables,
    suggested_variables,
)
from builtin_plugins.panel_kit.product_schema import readable_choices
from builtin_plugins.panel_kit.settings import NODE_POLICIES, common_settings, parse_ids
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
    "FLAGGED_PAGE",
    "PanelAdmin",
    "PanelAdminView",
    "ACTIVITY_LABELS",
    "tab_action_labels",
    "creation",
    "demo_catalog",
    "Check",
    "ConnectionReport",
    "ConnectionTest",
    "echo_report",
    "url_problem",
    "convergence",
    "allocations",
    "fill_server_link",
    "local_owner",
    "record_import",
    "Converger",
    "PanelLifecycle",
    "NODE_POLICIES",
    "common_settings",
    "parse_ids",
    "Lookups",
    "choice_id",
    "account_export",
    "erase_panel_user",
    "FEATURE_KEYS",
    "LIMIT_KEYS",
    "PANEL_ENVIRONMENT",
    "BaseApplicationAPI",
    "egg_variables",
    "server_environment",
    "ClientPool",
    "PanelConnection",
    "client_options",
    "segment",
    "tls_context",
    "ConfigError",
    "VariableConfig",
    "readable_choices",
    "docker_image",
    "environment",
    "environment_problems",
    "messages",
    "parse_ports",
    "parse_variables",
    "port_allowed",
    "product_config",
    "resume",
    "rules",
    "slot_variables",
    "suggested_variables",
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
    "panel_limit",
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
