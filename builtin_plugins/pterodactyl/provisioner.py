"""The store's provisioner for Pterodactyl: create, suspend, unsuspend, reinstall, change
package, terminate and live status of the servers customers buy.

Creation is idempotent through the panel's ``external_id`` (``<prefix>-<service id>``):
before a create, and after any create whose outcome is unknown (timeout, lost
connection, 5xx), the server is looked up by it; a server found is adopted, none
means the create may be sent again.
"""

from __future__ import annotations

from dataclasses import replace

import re
from typing import Any

from builtin_plugins.pterodactyl import converge as panel_converge
from builtin_plugins.pterodactyl import errors, messages, placement, product, services, sync
from builtin_plugins.pterodactyl.client import PanelClient, egg_variables
from builtin_plugins.pterodactyl.models import ServerLink
from builtin_plugins.pterodactyl.product import ConfigError, ProductConfig
from builtin_plugins.store.api import (
    Convergence,
    LiveStatus,
    PackageRefused,
    ProvisionError,
)
from kernel import db, now as utcnow

CREATE_ATTEMPTS = 3
CHOICE_ID = re.compile(r"\(#(\d+)\)$")
UNKNOWN_OUTCOME = (errors.PanelUnreachable, errors.DaemonError, errors.ServerError,
                   errors.NotAPanel)


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

        return render_template("admin/pterodactyl/picker.html",
                               api=url_for("pterodactyl_api.index").rstrip("/"))

    def validate_options(self, product_row, options: dict, *, plan=None, slots: int = 1) -> list[str]:
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
            raise ProvisionError(f"the product {product_row.name!r} is misconfigured: "
                                 f"{exc}") from None

    @staticmethod
    def _client(**kwargs: Any) -> PanelClient:
        try:
            return services.panel(**kwargs)
        except errors.NotConfigured as exc:
            raise ProvisionError(str(exc)) from None

    @staticmethod
    def _server_id(client: PanelClient, service) -> int | None:
        link = services.server_link(service.id)
        if link is not None:
            return link.server_id
        if str(service.external_id or "").isdigit():
            return int(service.external_id)
        found = client.app.get_server_by_external_id(services.external_id(service))
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
        ext = services.external_id(service)
        existing = client.app.get_server_by_external_id(ext)
        if existing is not None:
            return self._adopt(service, existing, owner.panel_user_id)
        body = self._body(client, service, config, options, owner.panel_user_id, ext)
        location = choice_id(options.get("location")) if config.choose_location else None
        lost: set[int] = set()
        last: Exception | None = None
        for attempt in range(1, CREATE_ATTEMPTS + 1):
            try:
                spot = placement.choose(client, config, services.load_settings(),
                                        location=location, skip=lost)
            except placement.NoPlacement as exc:
                raise ProvisionError(f"no room for the server: {exc}") from None
            try:
                server = client.app.create_server({**body, **spot.body()})
            except errors.ValidationFailed as exc:
                if exc.has("external_id", "unique"):
                    found = client.app.get_server_by_external_id(ext)
                    if found is not None:
                        return self._adopt(service, found, owner.panel_user_id)
                if spot.allocation_id is not None and exc.has("allocation.default"):
                    lost.add(spot.allocation_id)  # taken meanwhile: choose again
                    last = exc
                    continue
                raise
            except UNKNOWN_OUTCOME as exc:
                found = client.app.get_server_by_external_id(ext)
                if found is not None:
                    return self._adopt(service, found, owner.panel_user_id)
                last = exc
                if spot.allocation_id is not None and isinstance(exc, errors.ServerError):
                    lost.add(spot.allocation_id)  # a 500 is how a lost allocation race ends
                if attempt < CREATE_ATTEMPTS:
                    client.pause(client.retry.backoff * attempt)
                continue
            services.link_server(service, server, "created")
            return str(server["id"])
        if lost and isinstance(last, errors.ValidationFailed):
            raise ProvisionError(f"no free allocation could be claimed: the {len(lost)} tried "
                                 f"were taken by other servers meanwhile ({last.detail})")
        raise ProvisionError(f"creating the server failed {CREATE_ATTEMPTS} times; last: "
                             f"{errors.describe(last) if last else 'unknown'}")

    def _adopt(self, service, server: dict, owner_id: int) -> str:
        if int(server.get("user") or 0) != int(owner_id):
            raise ProvisionError(
                f"the panel already has a server with external id {server.get('external_id')!r} "
                f"owned by another panel user (#{server.get('user')}); if several sites share the "
                "panel, give each its own external id prefix")
        services.link_server(service, server, "adopted")
        return str(server["id"])

    def egg_for(self, config: ProductConfig, options: dict) -> int:
        chosen = choice_id(options.get("egg"))
        return chosen if chosen in config.egg_ids else config.egg_id

    def _body(self, client: PanelClient, service, config: ProductConfig, options: dict,
              owner_id: int, ext: str) -> dict[str, Any]:
        egg_id = self.egg_for(config, options)
        egg = services.egg_with_variables(client, config.nest_id, egg_id)
        variables = egg_variables(egg)
        env = product.environment(config, variables, options=options, slots=service.slots,
                                  slot_names=product.slot_variables(config, service.plan))
        problems = product.environment_problems(env, variables)
        if problems:
            raise ProvisionError("the server's settings do not fit the egg: " + " ".join(problems))
        return {"name": service.name[:191], "user": int(owner_id), "egg": egg_id,
                "docker_image": product.docker_image(config, egg),
                "startup": config.startup or egg.get("startup") or "",
                "environment": env, "limits": config.limits(),
                "feature_limits": config.feature_limits(), "oom_disabled": config.oom_disabled,
                "start_on_completion": config.start_on_completion,
                "skip_scripts": config.skip_scripts, "external_id": ext,
                "description": config.description_for(service) or f"pteroca service #{service.id}"}

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
                raise _fail(f"bringing the panel in line ({service.desired_state})",
                            exc) from None

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
                raise ProvisionError(f"{doing} failed: the server no longer exists in the "
                                     "panel") from None
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
                change_package(client, service, self._require_server(client, service),
                               self._config(service.product), new, new_product)
            except PackageRefused:
                raise
            except errors.NotFound:
                raise ProvisionError("the server no longer exists in the panel") from None
            except errors.PanelError as exc:
                raise _fail("changing the plan failed", exc) from None

    # --- status --------------------------------------------------------------------------

    def status(self, service) -> LiveStatus:
        """Live state from the client API's resources endpoint (the application API's status
        when no client key is set)."""
        settings = services.load_settings()
        with self._client(quick=True) as client:
            link = services.server_link(service.id)
            try:
                if link is None:
                    server_id = self._server_id(client, service)
                    if server_id is None:
                        return LiveStatus("unknown", "no panel server")
                    link = services.link_server(service, client.app.get_server(server_id),
                                                "adopted")
                    db.session.commit()
                if settings.client_key and link.identifier:
                    live = _live(client.client.resources(link.identifier))
                    return replace(live, address=_address(client, link.identifier))
                return _from_application(client.app.get_server(link.server_id))
            except errors.ServerStateConflict as exc:
                state = {"restoring": "installing", "transferring": "installing"}.get(
                    exc.state, exc.state)
                return LiveStatus(state if state in ("suspended", "installing") else "unknown",
                                  messages.state_conflict(exc))
            except errors.NotFound:
                return LiveStatus("unknown", messages.gone())
            except errors.PanelError as exc:  # the same sentences as every customer page
                return LiveStatus("unknown", messages.for_customer(exc).text)


def _address(client, identifier: str) -> str:
    """The server's main address (``alias-or-ip:port``), asked at most once a minute."""
    try:
        found = services.cached((client.url, "address", identifier),
                                lambda: client.client.list_allocations(identifier), 60)
    except errors.PanelError:
        return ""
    for allocation in found:
        if allocation.get("is_default"):
            host = allocation.get("ip_alias") or allocation.get("ip") or ""
            return f"{host}:{allocation.get('port')}" if host else ""
    return ""


def _live(stats: dict[str, Any]) -> LiveStatus:
    state = str(stats.get("current_state") or "offline")
    if stats.get("is_suspended"):
        return LiveStatus("suspended")
    mapped = {"running": "running", "starting": "starting", "stopping": "stopping"}.get(state,
                                                                                         "offline")
    return LiveStatus(mapped)


def _from_application(server: dict[str, Any]) -> LiveStatus:
    status = server.get("status")
    if status == "suspended" or server.get("suspended"):
        return LiveStatus("suspended")
    if status == "installing":
        return LiveStatus("installing")
    if status in ("install_failed", "reinstall_failed"):
        return LiveStatus("unknown", messages.install_failed())
    return LiveStatus("unknown", messages.no_live_state())

