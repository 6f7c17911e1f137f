"""Bringing a panel server in line with its store service: the Pterodactyl side of the store's
reconciler (store/reconciler.py calls the provisioner's ``converge``).

The service says what the server should be: ``desired_state`` (active, suspended or deleted),
the product's build limits, the customer's panel user as owner, the service's name (and the
product's description template), our external id. One pass reads the server (or takes it from
a listing the caller already has), repairs every difference it can, in that order: details
(name, owner, external id, description), build limits, suspension; a server to delete is
deleted (forced when Wings is away, as the panel allows). It reports the installation state
of a new server and a server gone from the panel (that needs a human: it is not re-created
over the customer's data). Each call is safe to repeat.
"""

from __future__ import annotations

from typing import Any

from builtin_plugins.panel_kit.api import RetryPolicy, convergence, errors
from builtin_plugins.pterodactyl import links, panel
from builtin_plugins.pterodactyl.client import PanelClient
from builtin_plugins.pterodactyl.models import ServerLink
from builtin_plugins.pterodactyl.product import ProductConfig
from builtin_plugins.store.api import (
    MISSING,
    PANEL_ACTIVE,
    PANEL_DELETED,
    PANEL_SUSPENDED,
    Convergence,
)
from kernel import db
from kernel import now as utcnow

# The reconciler retries with its own backoff: one quick repeat here, and 429s honoured.
RECONCILE_RETRY = RetryPolicy(attempts=2, backoff=0.5, rate_limit_attempts=4, max_retry_after=30.0)
UNKNOWN: Any = object()  # "not looked up yet" (None means: looked up, not there)


def find(client: PanelClient, service) -> dict[str, Any] | None:
    """The service's panel server, or None when it is not (or no longer) there."""
    link = links.server_link(service.id)
    if link is not None:
        try:
            return client.app.get_server(link.server_id)
        except errors.NotFound:
            return None
    return client.app.get_server_by_external_id(panel.external_id(service))


install_state = convergence.install_state  # the plugin's names for the kit's readings
is_suspended = convergence.is_suspended
limit_differences = convergence.limit_differences
delete_in_panel = convergence.delete_in_panel


def converge(
    client: PanelClient, service, config: ProductConfig | None, server: Any = UNKNOWN
) -> Convergence:
    """Make ``service``'s panel server match it (see the module doc)."""
    if server is UNKNOWN:
        server = find(client, service)
    if service.desired_state == PANEL_DELETED:
        return _deleted(client, service, server)
    if server is None:
        return Convergence(
            MISSING,
            needs_human=f"server #{service.id} ({service.name}) should "
            f"be {service.desired_state} but its panel server is gone (deleted "
            "in the panel?); create it again by hand or delete the service",
        )
    if links.server_link(service.id) is None:
        links.link_server(service, server, "adopted")
    server_id = int(server["id"])
    repaired = _details(client, service, config, server) + _build(client, config, server)
    suspended = is_suspended(server)
    if service.desired_state == PANEL_SUSPENDED and not suspended:
        client.app.suspend_server(server_id)
        repaired.append("suspended")
        suspended = True
    elif service.desired_state == PANEL_ACTIVE and suspended:
        client.app.unsuspend_server(server_id)
        repaired.append("unsuspended")
        suspended = False
    installing = install_state(server)
    if installing and not suspended:
        return Convergence(
            installing, tuple(repaired), detail=f"the panel reports {server.get('status')}"
        )
    return Convergence(PANEL_SUSPENDED if suspended else PANEL_ACTIVE, tuple(repaired))


def _deleted(client: PanelClient, service, server: dict[str, Any] | None) -> Convergence:
    if server is None:
        _forget(service)
        return Convergence(PANEL_DELETED)
    server_id = int(server["id"])
    ours = str(server.get("external_id") or "") == panel.external_id(service)
    link = links.server_link(service.id)
    if not ours and (link is None or link.server_id != server_id):
        return Convergence(
            MISSING, needs_human=f"panel server {server_id} is not this service's; not deleting it"
        )
    delete_in_panel(client, server_id)
    _forget(service)
    return Convergence(PANEL_DELETED, ("deleted",))


def _forget(service) -> None:
    link = db.session.get(ServerLink, service.id)
    if link is not None and link.deleted_at is None:
        link.deleted_at = utcnow()


def _details(
    client: PanelClient, service, config: ProductConfig | None, server: dict[str, Any]
) -> list[str]:
    owner = links.user_link(service.user_id)
    changes = convergence.detail_changes(
        service,
        config,
        server,
        external_id=panel.external_id(service),
        owner_id=owner.panel_user_id if owner is not None else None,
    )
    if not changes:
        return []
    client.app.update_server_details(int(server["id"]), **changes)
    return [convergence.DETAIL_LABELS[key] for key in changes]


def _build(client: PanelClient, config: ProductConfig | None, server: dict[str, Any]) -> list[str]:
    if config is None or not limit_differences(config, server):
        return []
    client.app.update_server_build(
        int(server["id"]), limits=config.limits(), feature_limits=config.feature_limits()
    )
    return ["limits"]
