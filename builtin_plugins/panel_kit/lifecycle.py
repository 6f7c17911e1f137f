"""The store provisioner's lifecycle glue both panel plugins share: suspend, unsuspend,
reinstall, terminate and change of package around one panel server.

Each of these finds the service's server (its link, else the panel's ``external_id``), calls
the panel, and turns the panel's errors into the store's ``ProvisionError`` with the same
words on both panels. What differs is below the glue (how a server is suspended, how a build
is changed, how a server is looked up) and the panel's name in the messages; a plugin's
provisioner inherits :class:`PanelLifecycle` and sets those.

The kit does not import the store (it is the panel plugins' kit, and the store stays
panel-neutral): the plugin names the store's exception classes in ``provision_error`` and
``package_refused``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from builtin_plugins.panel_kit import creation, errors
from builtin_plugins.panel_kit.product_schema import ConfigError
from kernel import db
from kernel import now as utcnow


class PanelLifecycle:
    """Lifecycle operations of a panel provisioner (a mixin of the plugin's provisioner)."""

    panel_name: ClassVar[str]  # "Pelican", "the panel": where a server "no longer exists"
    server_kind: ClassVar[str]  # "Pelican", "panel": "server #3 has no <kind> server"
    provision_error: ClassVar[type[Exception]]  # the store's ProvisionError
    package_refused: ClassVar[type[Exception]]  # the store's PackageRefused (passed through)
    config_error: ClassVar[type[Exception]]  # what config_of raises for a misconfigured product
    link_model: ClassVar[Any]  # the plugin's server link (``deleted_at`` marks a deleted one)
    name_length: ClassVar[int]  # how long a server name the panel takes
    # The product's listed resources, asked once in the product's settings (the store reads
    # this attribute of a provisioner): resource -> setting key, the same on both panels.
    resource_settings: ClassVar[dict[str, str]] = {
        "memory_mb": "memory",
        "disk_mb": "disk",
        "cpu_percent": "cpu",
        "databases": "databases",
        "backups": "backups",
        "allocations": "allocations",
    }

    # --- what the plugin provides ----------------------------------------------------------

    links: ClassVar[Any]  # the plugin's links module: server_link
    panel: ClassVar[Any]  # the plugin's panel module: connect, external_id

    def connect(self, **kwargs: Any) -> Any:
        """The plugin's shared panel client."""
        return self.panel.connect(**kwargs)

    def config_of(self, product_row: Any) -> Any:
        """The product's parsed settings (raises :attr:`config_error`)."""
        raise NotImplementedError

    def linked_server(self, service: Any) -> Any | None:
        """The service's server link, or None."""
        return self.links.server_link(service.id)

    def external_id(self, service: Any) -> str:
        return self.panel.external_id(service)

    def set_suspended(self, client: Any, server_id: int, suspended: bool) -> None:
        raise NotImplementedError

    def delete(self, client: Any, server_id: int) -> None:
        """Delete the server (one already gone is done)."""
        raise NotImplementedError

    def resize(self, client: Any, service: Any, server_id: int, old: Any, new: Any, row: Any):
        """Change the server's build from product settings ``old`` to ``new`` (of ``row``)."""
        raise NotImplementedError

    def egg(self, client: Any, config: Any, egg_id: int) -> dict[str, Any]:
        """The egg (with its variables) a new server of ``config`` gets."""
        raise NotImplementedError

    def panel_fields(self, config: Any) -> dict[str, Any]:
        """The create body's fields of this panel's own (its OOM setting)."""
        return {}

    # --- shared helpers ---------------------------------------------------------------------

    def fail(self, doing: str, exc: Exception | None) -> Exception:
        """The store's error for a panel failure while ``doing``."""
        if isinstance(exc, errors.NoCapacity):
            return self.provision_error(f"{doing}: {self.panel_name} has no room: {exc.detail}")
        return self.provision_error(f"{doing}: {errors.describe(exc) if exc else 'no answer'}")

    def config(self, product_row: Any) -> Any:
        try:
            return self.config_of(product_row)
        except self.config_error as exc:
            raise self.provision_error(
                f"the product {product_row.name!r} is misconfigured: {exc}"
            ) from None

    def client(self, **kwargs: Any) -> Any:
        try:
            return self.connect(**kwargs)
        except errors.NotConfigured as exc:
            raise self.provision_error(str(exc)) from None

    def server_id(self, client: Any, service: Any) -> int | None:
        """The service's panel server: its link's, else the one carrying its external id."""
        link = self.linked_server(service)
        if link is not None:
            return link.server_id
        found = client.app.get_server_by_external_id(self.external_id(service))
        return int(found["id"]) if found else None

    def require_server(self, client: Any, service: Any) -> int:
        server_id = self.server_id(client, service)
        if server_id is None:
            raise self.provision_error(
                f"server #{service.id} has no {self.server_kind} server (it was never created)"
            )
        return server_id

    def body(self, client: Any, service: Any, config: Any, options: dict, owner_id: int, ext: str):
        """The create body of the service's server (without its placement); the store's error
        when the egg's rules refuse the product's values."""
        egg_id = creation.egg_for(config, options)
        egg = self.egg(client, config, egg_id)
        try:
            body = creation.server_body(
                config,
                service,
                egg,
                egg_id,
                options,
                owner_id=owner_id,
                external_id=ext,
                name_length=self.name_length,
            )
        except ConfigError as exc:
            raise self.provision_error(str(exc)) from None
        return {**body, **self.panel_fields(config)}

    # --- the store's lifecycle calls ----------------------------------------------------------

    def suspend(self, service: Any) -> None:
        self._simple(service, "suspending", lambda c, s: self.set_suspended(c, s, True))

    def unsuspend(self, service: Any) -> None:
        self._simple(service, "unsuspending", lambda c, s: self.set_suspended(c, s, False))

    def reinstall(self, service: Any) -> None:
        self._simple(service, "reinstalling", lambda c, s: c.app.reinstall_server(s))

    def _simple(self, service: Any, doing: str, action: Callable[[Any, int], Any]) -> None:
        with self.client() as client:
            try:
                action(client, self.require_server(client, service))
            except errors.NotFound:
                raise self.provision_error(
                    f"{doing} failed: the server no longer exists in {self.panel_name}"
                ) from None
            except errors.PanelError as exc:
                raise self.fail(f"{doing} failed", exc) from None

    def terminate(self, service: Any) -> None:
        """Delete the server; one that is already gone counts as deleted."""
        with self.client() as client:
            try:
                server_id = self.server_id(client, service)
                if server_id is not None:
                    self.delete(client, server_id)
            except errors.PanelError as exc:
                raise self.fail("deleting the server failed", exc) from None
        link = db.session.get(self.link_model, service.id)
        if link is not None:
            link.deleted_at = utcnow()

    def change_package(self, service: Any, new_product: Any) -> None:
        new = self.config(new_product)
        with self.client() as client:
            try:
                self.resize(
                    client,
                    service,
                    self.require_server(client, service),
                    self.config(service.product),
                    new,
                    new_product,
                )
            except self.package_refused:
                raise
            except errors.NotFound:
                raise self.provision_error(
                    f"the server no longer exists in {self.panel_name}"
                ) from None
            except errors.PanelError as exc:
                raise self.fail("changing the plan failed", exc) from None
