"""One convergence pass, the same on both panels: bring a panel server in line with its store
service (the store's reconciler calls the provisioner's ``converge``).

The service says what the server should be: ``desired_state`` (active, suspended or deleted),
the product's build limits, the customer's panel user as owner, the service's name, our
external id. One pass reads the server (or takes it from a listing the caller already has),
repairs in this order: details (name, owner, external id, description), build limits,
suspension; a server to delete is deleted. It reports the installation state of a new server
and a server gone from the panel (a human decides: it is not re-created over the customer's
data). Each call is safe to repeat.

What differs is how a build is changed and a server suspended (Pelican keeps a change a Wings
fault interrupted, Pterodactyl rolls it back: docs/reference/pelican_api.md §7.7), the
plugin's links and the panel's name; a plugin subclasses :class:`Converger`. The kit does not
import the store: the plugin names the store's public module in ``store`` (its
``Convergence``, ``MISSING`` and ``PANEL_*`` states).
"""

from __future__ import annotations

from typing import Any, ClassVar

from builtin_plugins.panel_kit import errors
from builtin_plugins.panel_kit.convergence import (
    DETAIL_LABELS,
    delete_in_panel,
    detail_changes,
    install_state,
    is_suspended,
    limit_differences,
)
from kernel import db
from kernel import now as utcnow

UNKNOWN: Any = object()  # "not looked up yet" (None: looked up, not there)


class Converger:
    """A panel plugin's convergence: the plugin sets the class attributes and the methods
    under "what the plugin provides"."""

    UNKNOWN: ClassVar[Any] = UNKNOWN  # the ``server`` of a pass that must look it up
    panel_server: ClassVar[str]  # "Pelican server", "panel server"
    store: ClassVar[Any]  # the store's public module (builtin_plugins.store.api)
    link_model: ClassVar[Any]  # the plugin's server link (``deleted_at``)

    links: ClassVar[Any]  # the plugin's links module: server_link, link_server, user_link
    panel: ClassVar[Any]  # the plugin's panel module: external_id

    # --- what the plugin provides ----------------------------------------------------------

    def server_link(self, service_id: int) -> Any | None:
        return self.links.server_link(service_id)

    def link_server(self, service: Any, server: dict[str, Any], origin: str) -> Any:
        return self.links.link_server(service, server, origin)

    def owner_id(self, service: Any) -> int | None:
        """The panel user id of the service's customer (None: not linked)."""
        owner = self.links.user_link(service.user_id)
        return owner.panel_user_id if owner is not None else None

    def external_id(self, service: Any) -> str:
        return self.panel.external_id(service)

    def set_suspended(self, client: Any, server_id: int, suspended: bool) -> None:
        raise NotImplementedError

    def set_build(self, client: Any, server_id: int, config: Any) -> None:
        raise NotImplementedError

    # --- the pass ---------------------------------------------------------------------------

    def find(self, client: Any, service: Any) -> dict[str, Any] | None:
        """The service's panel server, or None when it is not (or no longer) there."""
        link = self.server_link(service.id)
        if link is not None:
            try:
                return client.app.get_server(link.server_id)
            except errors.NotFound:
                return None
        return client.app.get_server_by_external_id(self.external_id(service))

    def converge(self, client: Any, service: Any, config: Any | None, server: Any = UNKNOWN):
        """Make ``service``'s panel server match it; the store's ``Convergence``."""
        store = self.store
        if server is UNKNOWN:
            server = self.find(client, service)
        if service.desired_state == store.PANEL_DELETED:
            return self._deleted(client, service, server)
        if server is None:
            return store.Convergence(
                store.MISSING,
                needs_human=f"server #{service.id} ({service.name}) should be "
                f"{service.desired_state} but its {self.panel_server} is gone (deleted in the "
                "panel?); create it again by hand or delete the service",
            )
        if self.server_link(service.id) is None:
            self.link_server(service, server, "adopted")
        server_id = int(server["id"])
        changes = detail_changes(
            service,
            config,
            server,
            external_id=self.external_id(service),
            owner_id=self.owner_id(service),
        )
        repaired = [DETAIL_LABELS[key] for key in changes]
        if changes:
            client.app.update_server_details(server_id, **changes)
        if config is not None and limit_differences(config, server):
            self.set_build(client, server_id, config)
            repaired.append("limits")
        suspended = is_suspended(server)
        want_suspended = service.desired_state == store.PANEL_SUSPENDED
        if suspended != want_suspended:
            self.set_suspended(client, server_id, want_suspended)
            repaired.append("suspended" if want_suspended else "unsuspended")
            suspended = want_suspended
        installing = install_state(server)
        if installing and not suspended:
            return store.Convergence(
                installing, tuple(repaired), detail=f"the panel reports {server.get('status')}"
            )
        state = store.PANEL_SUSPENDED if suspended else store.PANEL_ACTIVE
        return store.Convergence(state, tuple(repaired))

    def _deleted(self, client: Any, service: Any, server: dict[str, Any] | None):
        store = self.store
        if server is None:
            self.forget(service)
            return store.Convergence(store.PANEL_DELETED)
        server_id = int(server["id"])
        link = self.server_link(service.id)
        ours = str(server.get("external_id") or "") == self.external_id(service)
        if not ours and (link is None or link.server_id != server_id):
            return store.Convergence(
                store.MISSING,
                needs_human=f"{self.panel_server} {server_id} is not this service's; "
                "not deleting it",
            )
        delete_in_panel(client, server_id)
        self.forget(service)
        return store.Convergence(store.PANEL_DELETED, ("deleted",))

    def forget(self, service: Any) -> None:
        """Mark the service's server link deleted (the server is gone)."""
        link = db.session.get(self.link_model, service.id)
        if link is not None and link.deleted_at is None:
            link.deleted_at = utcnow()
