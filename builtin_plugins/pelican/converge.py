"""Bringing a Pelican server in line with its store service (the store's reconciler calls the
provisioner's ``converge``).

The service says what the server should be: ``desired_state`` (active, suspended or deleted),
the product's build limits, the customer's Pelican user as owner, the service's name, our
external id. One pass reads the server (or takes it from a listing), repairs details, build
and suspension, deletes a server to delete (forced when Wings is away), and reports an
installation still running or failed, or a server gone from the panel (a human decides: it is
not re-created over the customer's data).

Pelican's Wings faults differ from Pterodactyl's (reference §7.7): a suspend or unsuspend
answered 500 has **kept** the new status, a build answered with a Wings error is **saved**.
So after a Wings fault the server is read back: a change the panel kept counts as made (Wings
picks it up on its next sync); one it did not keep raises, and the reconciler tries again.
"""

from __future__ import annotations

from typing import Any

from builtin_plugins.panel_kit.api import RetryPolicy, convergence, errors
from builtin_plugins.pelican import links, panel
from builtin_plugins.pelican.client import PelicanClient
from builtin_plugins.pelican.models import ServerLink
from builtin_plugins.pelican.product import ProductConfig
from builtin_plugins.store.api import (
    MISSING,
    PANEL_ACTIVE,
    PANEL_DELETED,
    PANEL_SUSPENDED,
    Convergence,
)
from kernel import db
from kernel import now as utcnow

RECONCILE_RETRY = RetryPolicy(attempts=2, backoff=0.5, rate_limit_attempts=4, max_retry_after=30.0)
UNKNOWN: Any = object()  # "not looked up yet" (None: looked up, not there)


def find(client: PelicanClient, service) -> dict[str, Any] | None:
    """The service's Pelican server, or None when it is not (or no longer) there."""
    link = links.server_link(service.id)
    if link is not None:
        try:
            return client.app.get_server(link.server_id)
        except errors.NotFound:
            return None
    return client.app.get_server_by_external_id(panel.external_id(service))


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


def converge(
    client: PelicanClient, service, config: ProductConfig | None, server: Any = UNKNOWN
) -> Convergence:
    """Make ``service``'s Pelican server match it (see the module doc)."""
    if server is UNKNOWN:
        server = find(client, service)
    if service.desired_state == PANEL_DELETED:
        return _deleted(client, service, server)
    if server is None:
        return Convergence(
            MISSING,
            needs_human=f"server #{service.id} ({service.name}) should be "
            f"{service.desired_state} but its Pelican server is gone (deleted in the "
            "panel?); create it again by hand or delete the service",
        )
    if links.server_link(service.id) is None:
        links.link_server(service, server, "adopted")
    server_id = int(server["id"])
    owner = links.user_link(service.user_id)
    changes = convergence.detail_changes(
        service,
        config,
        server,
        external_id=panel.external_id(service),
        owner_id=owner.panel_user_id if owner is not None else None,
    )
    repaired = [convergence.DETAIL_LABELS[key] for key in changes]
    if changes:
        client.app.update_server_details(server_id, **changes)
    if config is not None and convergence.limit_differences(config, server):
        set_build(client, server_id, config)
        repaired.append("limits")
    suspended = convergence.is_suspended(server)
    want_suspended = service.desired_state == PANEL_SUSPENDED
    if suspended != want_suspended:
        set_suspended(client, server_id, want_suspended)
        repaired.append("suspended" if want_suspended else "unsuspended")
        suspended = want_suspended
    installing = convergence.install_state(server)
    if installing and not suspended:
        return Convergence(
            installing, tuple(repaired), detail=f"the panel reports {server.get('status')}"
        )
    return Convergence(PANEL_SUSPENDED if suspended else PANEL_ACTIVE, tuple(repaired))


def _deleted(client: PelicanClient, service, server: dict[str, Any] | None) -> Convergence:
    if server is None:
        forget(service)
        return Convergence(PANEL_DELETED)
    server_id = int(server["id"])
    link = links.server_link(service.id)
    ours = str(server.get("external_id") or "") == panel.external_id(service)
    if not ours and (link is None or link.server_id != server_id):
        return Convergence(
            MISSING,
            needs_human=f"Pelican server {server_id} is not this service's; not deleting it",
        )
    convergence.delete_in_panel(client, server_id)
    forget(service)
    return Convergence(PANEL_DELETED, ("deleted",))


def forget(service) -> None:
    link = db.session.get(ServerLink, service.id)
    if link is not None and link.deleted_at is None:
        link.deleted_at = utcnow()
