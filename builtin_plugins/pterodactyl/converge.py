"""Bringing a panel server in line with its store service: the Pterodactyl side of the store's
reconciler (store/reconciler.py calls the provisioner's ``converge``).

The service says what the server should be: ``desired_state`` (active, suspended or deleted),
the product's build limits, the customer's panel user as owner, the service's name (and the
product's description template), our external id. One pass reads the server (or takes it from
a listing the caller already has), repairs every difference it can, in that order: details
(name, owner, external id, description), build limits, suspension; a server to delete is
deleted (forced when Wings is away, as the panel allows). It reports the installation state
of a new server and a server gone from the panel (that needs a human: it is not re-created
over the customer's data). Each call is safe to repeat. The pass itself is the kit's
(``Converger``); what is Pterodactyl's is here: a build change and a suspension are plain
calls.
"""

from __future__ import annotations

from typing import Any

from builtin_plugins.panel_kit.api import Converger, RetryPolicy, convergence
from builtin_plugins.pterodactyl import links, panel
from builtin_plugins.pterodactyl.client import PanelClient
from builtin_plugins.pterodactyl.models import ServerLink
from builtin_plugins.pterodactyl.product import ProductConfig
from builtin_plugins.store import api as store_api
from builtin_plugins.store.api import Convergence

# The reconciler retries with its own backoff: one quick repeat here, and 429s honoured.
RECONCILE_RETRY = RetryPolicy(attempts=2, backoff=0.5, rate_limit_attempts=4, max_retry_after=30.0)
UNKNOWN: Any = Converger.UNKNOWN  # "not looked up yet" (None means: looked up, not there)

install_state = convergence.install_state  # the plugin's names for the kit's readings
is_suspended = convergence.is_suspended
limit_differences = convergence.limit_differences
delete_in_panel = convergence.delete_in_panel


class PterodactylConverger(Converger):
    panel_server = "panel server"
    store = store_api
    link_model = ServerLink
    links = links
    panel = panel

    def set_suspended(self, client: PanelClient, server_id: int, suspended: bool) -> None:
        if suspended:
            client.app.suspend_server(server_id)
        else:
            client.app.unsuspend_server(server_id)

    def set_build(self, client: PanelClient, server_id: int, config: ProductConfig) -> None:
        client.app.update_server_build(
            server_id, limits=config.limits(), feature_limits=config.feature_limits()
        )


CONVERGER = PterodactylConverger()
find = CONVERGER.find


def converge(
    client: PanelClient, service, config: ProductConfig | None, server: Any = UNKNOWN
) -> Convergence:
    """Make ``service``'s panel server match it (see the module doc)."""
    return CONVERGER.converge(client, service, config, server)
