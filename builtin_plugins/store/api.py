"""The store's public module: what a plugin that requires the store may import.

A plugin declaring ``store`` in ``[requires]`` (the Pterodactyl plugin does) imports these
names from ``builtin_plugins.store.api`` and nothing else of the store; the import-linter
contracts in the test suite keep it so. Everything else in the store's package may change
between its releases. Names here change only through a deprecation, like the kernel's.
"""

from __future__ import annotations

from builtin_plugins.store.adoption import (
    ImportRefused,
    ImportReport,
    adopted_service,
    import_terms,
)
from builtin_plugins.store.lifecycle import (
    ACTIVE,
    FAILED,
    PANEL_ACTIVE,
    PANEL_DELETED,
    PANEL_SUSPENDED,
    PROVISIONING,
    SUSPENDED,
    TERMINATED,
    desired_for,
)
from builtin_plugins.store.models import Category, PricePlan, Product, Service
from builtin_plugins.store.nodes import known_nodes, nodes_of
from builtin_plugins.store.pricing import PricingError, next_expiry, period_price
from builtin_plugins.store.provisioning import (
    INSTALL_FAILED,
    INSTALLING,
    MISSING,
    Convergence,
    LiveStatus,
    PackageRefused,
    Provisioner,
    ProvisionError,
)
from builtin_plugins.store.reconciler import converge_observed
from builtin_plugins.store.views_servers import (
    live_status,
    my_servers,
    owned_service,
    render_server_page,
    server_tabs,
)

__all__ = [
    "ACTIVE",
    "FAILED",
    "PROVISIONING",
    "SUSPENDED",
    "TERMINATED",  # a server's states
    "Category",
    "PricePlan",
    "Product",
    "Service",  # the catalog and the servers sold
    "PricingError",
    "next_expiry",
    "period_price",  # what a plan costs and when it ends
    "LiveStatus",
    "PackageRefused",
    "Provisioner",
    "ProvisionError",  # the provisioner protocol
    "owned_service",
    "render_server_page",
    "server_tabs",  # a plugin's own server tab pages
    "my_servers",
    "live_status",  # a customer's live servers; what the panel says of one
    "nodes_of",
    "known_nodes",  # where servers run (answered by provisioner plugins)
    # the desired-state model: the panel state a server's state asks for, what a provisioner's
    # converge() reports, and the reconciler's attempt over a listing the provisioner read
    "PANEL_ACTIVE",
    "PANEL_DELETED",
    "PANEL_SUSPENDED",
    "desired_for",
    "Convergence",
    "INSTALLING",
    "INSTALL_FAILED",
    "MISSING",
    "converge_observed",
    # a panel plugin's import of servers that already run: what it may import into, the
    # service each server becomes, and the report
    "ImportRefused",
    "ImportReport",
    "adopted_service",
    "import_terms",
]
