"""The store's provisioner for Pelican: create, suspend, unsuspend, reinstall, change package,
terminate, power and live status of the servers customers buy.

Creation is idempotent through the panel's ``external_id`` (``<prefix>-<service id>``): before
a create, and after any create whose outcome is unknown (timeout, lost connection, 5xx, a
Wings fault), the server is looked up by it; a server found is adopted, none means the create
may be sent again. Pelican's own Wings outcome (reference §3.2.1 step 7): Wings unreachable
force-deletes the new server (nothing to adopt, the create is sent again); Wings answering an
error **keeps** the server, ``installing`` and never installed: it is found by its external id
and reinstalled, or, when Wings still refuses, force-deleted so the next attempt starts clean.
"""

from __future__ import annotations

from typing import Any

from builtin_plugins.panel_kit.api import (
    PanelLifecycle,
    convergence,
    creation,
    errors,
    messages,
    product_config,
)
from builtin_plugins.pelican import catalog, converge, links, panel, placement, product, sync
from builtin_plugins.pelican.client import POWER_SIGNALS, PelicanClient
from builtin_plugins.pelican.models import ServerLink
from builtin_plugins.store.api import Convergence, LiveStatus, PackageRefused, ProvisionError
from kernel import User, db

# What the client API's current_state says, as the store's live states.
STATES = {
    "running": "running",
    "starting": "starting",
    "stopping": "stopping",
    "offline": "offline",
}


class PelicanProvisioner(PanelLifecycle):
    identifier = "pelican"
    display_name = "Pelican panel"
    # the kit's lifecycle glue (suspend ... change_package): the words and the Pelican calls
    panel_name = "Pelican"
    server_kind = "Pelican"
    provision_error = ProvisionError
    package_refused = PackageRefused
    config_error = product_config.ConfigError
    link_model = ServerLink
    name_length = 255
    links = links
    panel = panel

    # --- product form and checkout -------------------------------------------------------

    def settings_schema(self):
        return list(product.SCHEMA)

    def validate_settings(self, values: dict) -> list[str]:
        return catalog.settings_problems(values)

    def checkout_fields(self, product_row) -> list:
        return catalog.checkout_fields(product_row)

    def validate_options(self, product_row, options: dict, *, plan=None, slots: int = 1):
        return catalog.checkout_problems(product_row, options, plan=plan, slots=slots)

    def health(self) -> str | None:
        return catalog.reachability()

    # --- create --------------------------------------------------------------------------

    def create(self, service) -> str:
        config = self.config(service.product)
        with self.client() as client:
            try:
                return self._create(client, service, config, service.options or {})
            except errors.PanelError as exc:
                raise self.fail("creating the server failed", exc) from None

    def _create(self, client: PelicanClient, service, config, options: dict) -> str:
        owner = sync.ensure_linked(client, db.session.get(User, service.user_id))
        ext = panel.external_id(service)
        existing = client.app.get_server_by_external_id(ext)
        if existing is not None:
            return self._adopt(client, service, existing, owner.panel_user_id)
        body = self.body(client, service, config, options, owner.panel_user_id, ext)
        region = catalog.region_for(config, options)
        settings = panel.load_settings()
        try:
            made = creation.create_server(
                client,
                body,
                external_id=ext,
                place=lambda lost: placement.choose(
                    client, config, settings, region=region, skip=lost
                ),
            )
        except placement.NoPlacement as exc:
            raise ProvisionError(f"no room for the server: {exc}") from None
        except creation.CreateFailed as exc:
            raise self.fail(
                f"creating the server failed {creation.ATTEMPTS} times", exc.last
            ) from None
        if made.adopted:
            return self._adopt(client, service, made.server, owner.panel_user_id)
        links.link_server(service, made.server, "created")
        return str(made.server["id"])

    def _adopt(self, client: PelicanClient, service, server: dict, owner_id: int) -> str:
        if int(server.get("user") or 0) != int(owner_id):
            raise ProvisionError(
                f"Pelican already has a server with external id {server.get('external_id')!r} "
                f"owned by another user (#{server.get('user')}); if several sites share the "
                "panel, give each its own external id prefix"
            )
        if server.get("status") == "installing" and not (server.get("container") or {}).get(
            "installed"
        ):
            self._finish_orphaned_install(client, int(server["id"]))
        links.link_server(service, server, "adopted")
        return str(server["id"])

    @staticmethod
    def _finish_orphaned_install(client: PelicanClient, server_id: int) -> None:
        """A create Wings refused left this server ``installing`` for good: run the install
        again; when Wings still refuses, delete it (forced) so the next attempt starts clean."""
        try:
            client.app.reinstall_server(server_id)
        except errors.DaemonError as exc:
            convergence.delete_in_panel(client, server_id)
            raise ProvisionError(
                "creating the server failed: Wings refused the installation and the "
                f"half-made server was removed; try again later ({errors.describe(exc)})"
            ) from None

    def egg(self, client: PelicanClient, config, egg_id: int) -> dict[str, Any]:
        try:
            return catalog.egg(client, egg_id)
        except errors.NotFound:
            raise ProvisionError(f"the panel has no egg {egg_id} (product settings)") from None

    def panel_fields(self, config) -> dict[str, Any]:
        return {"oom_killer": config.oom_killer}

    # --- desired state (the store's reconciler) ------------------------------------------

    def converge(self, service, observed: Any = converge.UNKNOWN) -> Convergence:
        try:
            config = product.config_of(service.product)
        except product_config.ConfigError:
            config = None  # limits cannot be compared; everything else can
        with self.client(retry=converge.RECONCILE_RETRY) as client:
            try:
                return converge.converge(client, service, config, observed)
            except errors.PanelError as exc:
                raise self.fail(
                    f"bringing Pelican in line ({service.desired_state})", exc
                ) from None

    # --- the kit's lifecycle glue: Pelican's part -----------------------------------------

    def config_of(self, product_row) -> product.ProductConfig:
        return product.config_of(product_row)

    def set_suspended(self, client: PelicanClient, server_id: int, suspended: bool) -> None:
        converge.set_suspended(client, server_id, suspended)

    def delete(self, client: PelicanClient, server_id: int) -> None:
        """Forced when Wings is unreachable."""
        convergence.delete_in_panel(client, server_id)

    def resize(self, client, service, server_id: int, old, new, new_product) -> None:
        from builtin_plugins.pelican.packages import change_package

        change_package(client, service, server_id, old, new, new_product)

    def fail(self, doing: str, exc: Exception | None) -> ProvisionError:
        if isinstance(exc, errors.DaemonError):
            return ProvisionError(
                f"{doing}: Wings (the node daemon) failed: {errors.describe(exc)}"
            )
        return super().fail(doing, exc)

    # --- power and live status -----------------------------------------------------------

    def power(self, service, signal: str) -> None:
        if signal not in POWER_SIGNALS:
            raise ProvisionError(f"the power signal must be one of {', '.join(POWER_SIGNALS)}")
        link = links.server_link(service.id)
        if link is None or not link.identifier:
            raise ProvisionError("this server is not linked to a Pelican server yet")
        try:
            client = panel.connect(quick=True, need_client_key=True)
        except errors.NotConfigured as exc:
            raise ProvisionError(str(exc)) from None
        try:
            client.client.power(link.identifier, signal)
        except errors.PanelError as exc:
            raise self.fail(f"sending {signal}", exc) from None

    def status(self, service) -> LiveStatus:
        """The live state from the client API's resources (``missing``: Wings did not answer,
        so "unknown"), else from the application API's server status."""
        try:
            client = panel.connect(quick=True)
        except errors.NotConfigured as exc:
            return LiveStatus("unknown", messages.for_customer(exc).text)
        try:
            link = links.server_link(service.id)
            if link is None:
                server_id = self.server_id(client, service)
                if server_id is None:
                    return LiveStatus("unknown", "no panel server")
                link = links.link_server(service, client.app.get_server(server_id), "adopted")
                db.session.commit()
            return self._status(client, link)
        except errors.NotFound:
            return LiveStatus("unknown", messages.gone())
        except errors.ServerStateConflict as exc:
            state = {"installing": "installing", "suspended": "suspended"}.get(exc.state)
            return LiveStatus(state or "unknown", messages.state_conflict(exc))
        except errors.PanelError as exc:
            return LiveStatus("unknown", messages.for_customer(exc).text)

    @staticmethod
    def _status(client: PelicanClient, link: ServerLink) -> LiveStatus:
        server = client.app.get_server(link.server_id)
        if convergence.is_suspended(server):
            return LiveStatus("suspended")
        installing = convergence.install_state(server)
        if installing == "installing":
            return LiveStatus("installing")
        if installing:
            return LiveStatus("unknown", messages.install_failed())
        if not panel.load_settings().client_key or not link.identifier:
            return LiveStatus("unknown", messages.no_live_state())
        found = client.client.resources(link.identifier)
        state = STATES.get(str(found.get("current_state") or ""))
        if state is None:  # "missing": Pelican could not reach Wings
            return LiveStatus("unknown", "The server's node did not answer; status unknown.")
        return LiveStatus(state, address=_address(client, link.identifier))


def _address(client: PelicanClient, identifier: str) -> str:
    """The server's main address (``alias-or-ip:port``), asked at most once a minute."""
    try:
        found = catalog.cached(
            (client.url, "address", identifier),
            lambda: client.client.list_allocations(identifier),
        )
    except errors.PanelError:
        return ""
    for allocation in found:
        if allocation.get("is_default"):
            host = allocation.get("ip_alias") or allocation.get("ip") or ""
            return f"{host}:{allocation.get('port')}" if host else ""
    return ""
