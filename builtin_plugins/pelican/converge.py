"""Bringing a Pelican server in line with its store service (the store's reconciler calls the
provisioner's ``converge``).

The service says what the server should be: ``desired_state`` (active, suspended or deleted),
the product's build limits, the customer's Pelican user as owner, the service's name, our
external id. One pass reads the server (or takes it from a listing), repairs details, build
and suspension, deletes a server to delete (forced when Wings is away), and reports an
installation still running or failed, or a server gone from the panel (a human decides: it is
not re-created over the customer's data).

The pass itself is the kit's (``Converger``); what is Pelican's is here. Pelican's Wings
faults differ from Pterodactyl's (reference §7.7): a suspend or unsuspend
answered 500 has **kept** the new status, a build answered with a Wings error is **saved**.
So after a Wings fault the server is read back: a change the panel kept counts as made (Wings
picks it up on its next sync); one it did not keep raises, and the reconciler tries again.
"""

from __future__ import annotations

from typing import Any

from builtin_plugins.panel_kit.api import Converger, RetryPolicy, convergence, errors
from builtin_plugins.pelican import links, panel
from builtin_plugins.pelican.client import PelicanClient
from builtin_plugins.pelican.models import ServerLink
from builtin_plugins.pelican.product import ProductConfig
from builtin_plugins.store import api as store_api
from builtin_plugins.store.api import Convergence

RECONCILE_RETRY = RetryPolicy(attempts=2, backoff=0.5, rate_limit_attempts=4, max_retry_after=30.0)
UNKNOWN: Any = Converger.UNKNOWN  # "not looked up yet" (None: looked up, not there)


def set_suspended(client: PelicanClient, server_id: int, suspended: bool) -> None:
    """Suspend or unsuspend; a Wings fault after which Pelican kept the new status is done."""
    try:
        if suspended:
            client.app.suspend_server(server_id)
        else:
            client.app.unsuspend_server(server_id)
    except errors.DaemonError:
        if convergence.is_suspended(client.app.get_server(server_id)) != suspended:
            raise


def set_build(client: PelicanClient, server_id: int, config: ProductConfig) -> None:
    """Apply the product's limits; a Wings error after Pelican saved them is done."""
    try:
        client.app.update_server_build(
            server_id,
            limits=config.limits(),
            feature_limits=config.feature_limits(),
            oom_killer=config.oom_killer,
        )
    except errors.DaemonError:
        if convergence.limit_differences(config, client.app.get_server(server_id)):
            raise


class PelicanConverger(Converger):
    panel_server = "Pelican server"
    store = store_api
    link_model = ServerLink
    links = links
    panel = panel

    def set_suspended(self, client: PelicanClient, server_id: int, suspended: bool) -> None:
        set_suspended(client, server_id, suspended)

    def set_build(self, client: PelicanClient, server_id: int, config: ProductConfig) -> None:
        set_build(client, server_id, config)


CONVERGER = PelicanConverger()
find = CONVERGER.find
forget = CONVERGER.forget


def converge(
    client: PelicanClient, service, config: ProductConfig | None, server: Any = UNKNOWN
) -> Convergence:
    """Make ``service``'s Pelican server match it (see the module doc)."""
    return CONVERGER.converge(client, service, config, server)
