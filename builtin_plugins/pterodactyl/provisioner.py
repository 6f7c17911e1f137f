"""The store's provisioner for Pterodactyl: create, suspend, unsuspend, reinstall, change
package, terminate and live status of the servers customers buy.

Creation is idempotent through the panel's ``external_id`` (``<prefix>-<service id>``):
before a create, and after any create whose outcome is unknown (timeout, lost
connection, 5xx), the server is looked up by it; a server found is adopted, none
means the create may be sent again.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from flask import current_app

from builtin_plugins.panel_kit.api import POWER_SIGNALS, creation, errors, messages
from builtin_plugins.pterodactyl import converge as panel_converge
from builtin_plugins.pterodactyl import (
    links,
    lookups,
    panel,
    placement,
    product,
    sync,
)
from builtin_plugins.pterodactyl.client import PanelClient, egg_variables
from builtin_plugins.pterodactyl.models import ServerLink
from builtin_plugins.pterodactyl.product import ConfigError, ProductConfig
from builtin_plugins.store.api import (
    Convergence,
    LiveStatus,
    PackageRefused,
    ProvisionError,
)
from kernel import db
from kernel import now as utcnow

CREATE_ATTEMPTS = 3
CHOICE_ID = re.compile(r"\(#(\d+)\)$")
UNKNOWN_OUTCOME = creation.UNKNOWN_OUTCOME


def _fail(doing: str, exc: Exception) -> ProvisionError:
    if isinstance(exc, errors.NoCapacity):
        return ProvisionError(f"{doing}: the panel has no room: {exc.detail}")
    return ProvisionError(f"{doing}: {errors.describe(exc)}")


def choice_id(label: Any) -> int | None:
    """``"Paper (#3)"`` -> 3: the id behind a checkout choice."""
    match = CHOICE_ID.search(str(label or ""))
    return int(match.group(1)) if match else None


class PterodactylProvisioner:
    identifier = "pterodactyl"
    display_name = "Pterodactyl panel"
    # The product's limits are the customer-facing resources: asked once, in these settings.
    resource_settings = {
        "memory_mb": "memory",
        "disk_mb": "disk",
        "cpu_percent": "cpu",
        "databases": "databases",
        "backups": "backups",
        "allocations": "allocations",
    }

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

    # --- helpers -------------------------------------------------------------------------

    @staticmethod
    def _config(product_row) -> ProductConfig:
        try:
            return product.config_of(product_row)
        except ConfigError as exc:
            raise ProvisionError(
                f"the product {product_row.name!r} is misconfigured: {exc}"
            ) from None

    @staticmethod
    def _client(**kwargs: Any) -> PanelClient:
        try:
            return panel.connect(**kwargs)
        except errors.NotConfigured as exc:
            raise ProvisionError(str(exc)) from None

    @staticmethod
    def _server_id(client: PanelClient, service) -> int | None:
        link = links.server_link(service.id)
        if link is not None:
            return link.server_id
        if str(service.external_id or "").isdigit():
            return int(service.external_id)
        found = client.app.get_server_by_external_id(panel.external_id(service))
        return int(found["id"]) if found else None

    def _require_server(self, client: PanelClient, service) -> int:
        server_id = self._server_id(client, service)
        if server_id is None:
            raise ProvisionError(f"server #{service.id} has no panel server (it was never created)")
        return server_id

    # --- create --------------------------------------------------------------------------

    def create(self, service) -> str:
        config = self._config(service.product)
        options = service.options or {}
        with self._client() as client:
            try:
                return self._create(client, service, config, options)
            except errors.PanelError as exc:
                raise _fail("creating the server failed", exc) from None

    def _create(self, client: PanelClient, service, config: ProductConfig, options: dict) -> str:
        from kernel import User

        owner = sync.ensure_linked(client, db.session.get(User, service.user_id))
        ext = panel.external_id(service)
        existing = client.app.get_server_by_external_id(ext)
        if existing is not None:
            return self._adopt(service, existing, owner.panel_user_id)
        body = self._body(client, service, config, options, owner.panel_user_id, ext)
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

    def egg_for(self, config: ProductConfig, options: dict) -> int:
        chosen = choice_id(options.get("egg"))
        return chosen if chosen in config.egg_ids else config.egg_id

    def _body(
        self,
        client: PanelClient,
        service,
        config: ProductConfig,
        options: dict,
        owner_id: int,
        ext: str,
    ) -> dict[str, Any]:
        egg_id = self.egg_for(config, options)
        egg = lookups.egg_with_variables(client, config.nest_id, egg_id)
        variables = egg_variables(egg)
        env = product.environment(
            config,
            variables,
            options=options,
            slots=service.slots,
            slot_names=product.slot_variables(config, service.plan),
        )
        problems = product.environment_problems(env, variables)
        if problems:
            raise ProvisionError("the server's settings do not fit the egg: " + " ".join(problems))
        return {
            "name": service.name[:191],
            "user": int(owner_id),
            "egg": egg_id,
            "docker_image": product.docker_image(config, egg),
            "startup": config.startup or egg.get("startup") or "",
            "environment": env,
            "limits": config.limits(),
            "feature_limits": config.feature_limits(),
            "oom_disabled": config.oom_disabled,
            "start_on_completion": config.start_on_completion,
            "skip_scripts": config.skip_scripts,
            "external_id": ext,
            "description": config.description_for(service) or f"pteroca service #{service.id}",
        }

    # --- desired state (the store's reconciler) ------------------------------------------

    def converge(self, service, observed: Any = panel_converge.UNKNOWN) -> Convergence:
        """Make the panel server match the service (converge.py); ``observed``: the server as
        a listing already showed it (None: not there)."""
        try:
            config = product.config_of(service.product)
        except product.ConfigError:
            config = None  # limits cannot be compared; everything else can
        with self._client(retry=panel_converge.RECONCILE_RETRY) as client:
            try:
                return panel_converge.converge(client, service, config, observed)
            except errors.PanelError as exc:
                raise _fail(f"bringing the panel in line ({service.desired_state})", exc) from None

    # --- lifecycle -----------------------------------------------------------------------

    def suspend(self, service) -> None:
        self._simple(service, "suspending", lambda c, sid: c.app.suspend_server(sid))

    def unsuspend(self, service) -> None:
        self._simple(service, "unsuspending", lambda c, sid: c.app.unsuspend_server(sid))

    def reinstall(self, service) -> None:
        self._simple(service, "reinstalling", lambda c, sid: c.app.reinstall_server(sid))

    def _simple(self, service, doing: str, action) -> None:
        with self._client() as client:
            try:
                action(client, self._require_server(client, service))
            except errors.NotFound:
                raise ProvisionError(
                    f"{doing} failed: the server no longer exists in the panel"
                ) from None
            except errors.PanelError as exc:
                raise _fail(f"{doing} failed", exc) from None

    def terminate(self, service) -> None:
        """Delete the server; one that is already gone counts as deleted."""
        with self._client() as client:
            try:
                server_id = self._server_id(client, service)
                if server_id is not None:
                    panel_converge.delete_in_panel(client, server_id)
            except errors.PanelError as exc:
                raise _fail("deleting the server failed", exc) from None
        link = db.session.get(ServerLink, service.id)
        if link is not None:
            link.deleted_at = utcnow()

    # --- change package ------------------------------------------------------------------

    def change_package(self, service, new_product) -> None:
        from builtin_plugins.pterodactyl.packages import change_package

        new = self._config(new_product)
        with self._client() as client:
            try:
                change_package(
                    client,
                    service,
                    self._require_server(client, service),
                    self._config(service.product),
                    new,
                    new_product,
                )
            except PackageRefused:
                raise
            except errors.NotFound:
                raise ProvisionError("the server no longer exists in the panel") from None
            except errors.PanelError as exc:
                raise _fail("changing the plan failed", exc) from None

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
        with self._client(quick=True) as client:
            try:
                client.client.power(link.identifier, signal)
            except errors.PanelError as exc:
                raise _fail(f"sending {signal}", exc) from None

    # --- status --------------------------------------------------------------------------

    def status(self, service) -> LiveStatus:
        """Live state of one server (its own page): from the client API's resources endpoint
        (the application API's status when no client key is set), through the shared client;
        the answer also refreshes the shared cache the servers list reads."""
        from builtin_plugins.pterodactyl import statuses

        settings = panel.load_settings()
        with self._client(quick=True) as client:
            link = links.server_link(service.id)
            if link is None:
                try:
                    server_id = self._server_id(client, service)
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
