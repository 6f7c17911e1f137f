"""The store's provisioner for Pterodactyl: create, suspend, unsuspend, reinstall, change
package, terminate and live status of the servers customers buy.

Creation is idempotent through the panel's ``external_id`` (``<prefix>-<service id>``):
before a create, and after any create whose outcome is unknown (timeout, lost
connection, 5xx), the server is looked up by it; a server found is adopted, none
means the create may be sent again.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from flask import current_app

from builtin_plugins.panel_kit.api import (
    POWER_SIGNALS,
    PanelLifecycle,
    choice_id,
    creation,
    errors,
    messages,
)
from builtin_plugins.pterodactyl import converge as panel_converge
from builtin_plugins.pterodactyl import (
    links,
    lookups,
    panel,
    placement,
    product,
    sync,
)
from builtin_plugins.pterodactyl.client import PanelClient
from builtin_plugins.pterodactyl.models import ServerLink
from builtin_plugins.pterodactyl.product import ConfigError, ProductConfig
from builtin_plugins.store.api import (
    Convergence,
    LiveStatus,
    PackageRefused,
    ProvisionError,
)
from kernel import db

CREATE_ATTEMPTS = 3
UNKNOWN_OUTCOME = creation.UNKNOWN_OUTCOME


class PterodactylProvisioner(PanelLifecycle):
    identifier = "pterodactyl"
    display_name = "Pterodactyl panel"
    # the kit's lifecycle glue (suspend ... change_package): the words and the panel calls
    panel_name = "the panel"
    server_kind = "panel"
    provision_error = ProvisionError
    package_refused = PackageRefused
    config_error = ConfigError
    link_model = ServerLink
    name_length = 191
    links = links
    panel = panel

    # --- product form and checkout -------------------------------------------------------

    def settings_schema(self):
        return list(product.SCHEMA)

    def validate_settings(self, values: dict) -> list[str]:
        from builtin_plugins.pterodactyl.catalog import settings_problems

        return settings_problems(values)

    def checkout_fields(self, product_row) -> list:
        from builtin_plugins.pterodactyl.catalog import checkout_fields

        return checkout_fields(product_row)

    def settings_helper(self, product_row) -> str:
        """Live pickers above the product form's settings (filled from the panel by a script)."""
        from flask import render_template, url_for

        return render_template(
            "admin/pterodactyl/picker.html", api=url_for("pterodactyl_api.index").rstrip("/")
        )

    def validate_options(
        self, product_row, options: dict, *, plan=None, slots: int = 1
    ) -> list[str]:
        from builtin_plugins.pterodactyl.catalog import checkout_problems

        return checkout_problems(product_row, options, plan=plan, slots=slots)

    def health(self) -> str | None:
        from builtin_plugins.pterodactyl.catalog import reachability

        return reachability()

    # --- the kit's lifecycle glue: Pterodactyl's part --------------------------------------

    def config_of(self, product_row) -> ProductConfig:
        return product.config_of(product_row)

    def server_id(self, client: PanelClient, service) -> int | None:
        """Also a service whose external id is the panel server's own (an older import)."""
        if links.server_link(service.id) is None and str(service.external_id or "").isdigit():
            return int(service.external_id)
        return super().server_id(client, service)

    def set_suspended(self, client: PanelClient, server_id: int, suspended: bool) -> None:
        if suspended:
            client.app.suspend_server(server_id)
        else:
            client.app.unsuspend_server(server_id)

    def delete(self, client: PanelClient, server_id: int) -> None:
        panel_converge.delete_in_panel(client, server_id)

    def resize(self, client, service, server_id: int, old, new, new_product) -> None:
        from builtin_plugins.pterodactyl.packages import change_package

        change_package(client, service, server_id, old, new, new_product)

    # --- create --------------------------------------------------------------------------

    def create(self, service) -> str:
        config = self.config(service.product)
        options = service.options or {}
        with self.client() as client:
            try:
                return self._create(client, service, config, options)
            except errors.PanelError as exc:
                raise self.fail("creating the server failed", exc) from None

    def _create(self, client: PanelClient, service, config: ProductConfig, options: dict) -> str:
        from kernel import User

        owner = sync.ensure_linked(client, db.session.get(User, service.user_id))
        ext = panel.external_id(service)
        existing = client.app.get_server_by_external_id(ext)
        if existing is not None:
            return self._adopt(service, existing, owner.panel_user_id)
        body = self.body(client, service, config, options, owner.panel_user_id, ext)
        location = choice_id(options.get("location")) if config.choose_location else None
        settings = panel.load_settings()
        try:
            made = creation.create_server(
                client,
                body,
                external_id=ext,
                place=lambda lost: placement.choose(
                    client, config, settings, location=location, skip=lost
                ),
                attempts=CREATE_ATTEMPTS,
            )
        except placement.NoPlacement as exc:
            raise ProvisionError(f"no room for the server: {exc}") from None
        except creation.CreateFailed as exc:
            if exc.lost and isinstance(exc.last, errors.ValidationFailed):
                raise ProvisionError(
                    f"no free allocation could be claimed: the {len(exc.lost)} tried "
                    f"were taken by other servers meanwhile ({exc.last.detail})"
                ) from None
            raise ProvisionError(
                f"creating the server failed {CREATE_ATTEMPTS} times; last: {exc}"
            ) from None
        if made.adopted:
            return self._adopt(service, made.server, owner.panel_user_id)
        links.link_server(service, made.server, "created")
        return str(made.server["id"])

    def _adopt(self, service, server: dict, owner_id: int) -> str:
        if int(server.get("user") or 0) != int(owner_id):
            raise ProvisionError(
                f"the panel already has a server with external id {server.get('external_id')!r} "
                f"owned by another panel user (#{server.get('user')}); if several sites share the "
                "panel, give each its own external id prefix"
            )
        links.link_server(service, server, "adopted")
        return str(server["id"])

    def egg(self, client: PanelClient, config: ProductConfig, egg_id: int) -> dict[str, Any]:
        return lookups.egg_with_variables(client, config.nest_id, egg_id)

    def panel_fields(self, config: ProductConfig) -> dict[str, Any]:
        return {"oom_disabled": config.oom_disabled}

    # --- desired state (the store's reconciler) ------------------------------------------

    def converge(self, service, observed: Any = panel_converge.UNKNOWN) -> Convergence:
        """Make the panel server match the service (converge.py); ``observed``: the server as
        a listing already showed it (None: not there)."""
        try:
            config = product.config_of(service.product)
        except product.ConfigError:
            config = None  # limits cannot be compared; everything else can
        with self.client(retry=panel_converge.RECONCILE_RETRY) as client:
            try:
                return panel_converge.converge(client, service, config, observed)
            except errors.PanelError as exc:
                raise self.fail(
                    f"bringing the panel in line ({service.desired_state})", exc
                ) from None

    # --- power (the store's API) ----------------------------------------------------------

    def power(self, service, signal: str) -> None:
        """Send a power signal through the client API (needs the client API key)."""
        if signal not in POWER_SIGNALS:
            raise ProvisionError(f"the power signal must be one of {', '.join(POWER_SIGNALS)}")
        if not panel.load_settings().client_key:
            raise ProvisionError("power actions need the panel's client API key (plugin settings)")
        link = links.server_link(service.id)
        if link is None or not link.identifier:
            raise ProvisionError("this server is not linked to a panel server yet")
        with self.client(quick=True) as client:
            try:
                client.client.power(link.identifier, signal)
            except errors.PanelError as exc:
                raise self.fail(f"sending {signal}", exc) from None

    # --- status --------------------------------------------------------------------------

    def status(self, service) -> LiveStatus:
        """Live state of one server (its own page): from the client API's resources endpoint
        (the application API's status when no client key is set), through the shared client;
        the answer also refreshes the shared cache the servers list reads."""
        from builtin_plugins.pterodactyl import statuses

        settings = panel.load_settings()
        with self.client(quick=True) as client:
            link = links.server_link(service.id)
            if link is None:
                try:
                    server_id = self.server_id(client, service)
                    if server_id is None:
                        return LiveStatus("unknown", "no panel server")
                    link = links.link_server(service, client.app.get_server(server_id), "adopted")
                    db.session.commit()
                except errors.PanelError as exc:
                    return LiveStatus("unknown", messages.for_customer(exc).text)
            found = statuses.ask_panel(
                client, settings, statuses.Target(service.id, link.server_id, link.identifier or "")
            )
            if settings.client_key and link.identifier and found.state != "unknown":
                found = replace(found, address=_address(client, link.identifier))
        try:
            statuses.write(current_app._get_current_object(), {service.id: found})
        except Exception as exc:  # noqa: BLE001 - the page shows the state all the same
            current_app.logger.warning("could not cache the live state of %s: %s", service.id, exc)
            db.session.rollback()
        return found

    def statuses(self, services, *, wait: float = 0.0) -> dict[int, LiveStatus]:
        """States of many servers for a list: cached ones at once, the rest refreshed in the
        background and awaited at most ``wait`` seconds (statuses.py)."""
        from builtin_plugins.pterodactyl import statuses

        return statuses.collect(services, wait=wait)


def _address(client, identifier: str) -> str:
    """The server's main address (``alias-or-ip:port``), asked at most once a minute."""
    try:
        found = lookups.cached(
            (client.url, "address", identifier),
            lambda: client.client.list_allocations(identifier),
            60,
        )
    except errors.PanelError:
        return ""
    for allocation in found:
        if allocation.get("is_default"):
            host = allocation.get("ip_alias") or allocation.get("ip") or ""
            return f"{host}:{allocation.get('port')}" if host else ""
    return ""
