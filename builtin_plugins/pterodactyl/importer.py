"""Import existing panel servers as store services of local customers (matched by email).

Each panel server not yet linked to a service becomes an active (or, if suspended in
the panel, staff-suspended) service of a chosen product, owned by the local account
whose email is exactly the panel owner's, paid until one period from now and charged
nothing. Servers whose owner has no local account are skipped and reported.

Imported servers take the product's build limits at their next reconcile (the report, and the
dry run, list what will change: choose a product that fits them). The panel server's
``external_id`` is rewritten to this site's id for the new service
(``<prefix>-<service id>``) before the service is committed, so reconciliation finds it as
ours, never as an orphan nor as another service's server; a server whose id cannot be
rewritten is not imported (the report says why).
"""

from __future__ import annotations

import re

from sqlalchemy import select

from builtin_plugins.panel_kit.api import convergence, errors, local_owner, record_import
from builtin_plugins.pterodactyl import links, panel
from builtin_plugins.pterodactyl.client import PanelClient
from builtin_plugins.pterodactyl.converge import limit_differences
from builtin_plugins.pterodactyl.models import ServerLink, UserLink
from builtin_plugins.pterodactyl.product import ConfigError, config_of
from builtin_plugins.store.api import (  # noqa: F401 - ImportRefused: the plugin's name for it
    ImportRefused,
    ImportReport,
    Product,
    adopted_service,
    import_terms,
)
from kernel import db


def import_servers(
    product_slug: str,
    *,
    dry_run: bool = False,
    server_ids: tuple[int, ...] = (),
    client: PanelClient | None = None,
    actor: str = "cli",
) -> ImportReport:
    product, plan, price = import_terms(product_slug, "pterodactyl", "Pterodactyl")
    report = ImportReport(dry_run=dry_run)
    own = client is None
    client = client or panel.connect()
    try:
        _import(client, product, plan, price, server_ids, report, actor)
    finally:
        if own:
            client.close()
    return report


def _import(
    client: PanelClient,
    product: Product,
    plan,
    price: int,
    server_ids: tuple[int, ...],
    report: ImportReport,
    actor: str,
) -> None:
    servers = client.app.list_servers()
    panel_users = {int(u["id"]): u for u in client.app.list_users()}
    linked = set(
        db.session.scalars(select(ServerLink.server_id).where(ServerLink.deleted_at.is_(None)))
    )
    chosen = []
    for server in servers:
        sid = int(server["id"])
        if (server_ids and sid not in server_ids) or sid in linked:
            continue
        owner = panel_users.get(int(server.get("user") or 0))
        user = local_owner(owner, UserLink)
        if user is None:
            email = (owner or {}).get("email") or f"panel user #{server.get('user')}"
            report.skipped[sid] = f"the owner {email} has no account here"
            continue
        chosen.append((server, owner, user))
    if not report.dry_run:
        _step_aside(client, [server for server, _owner, _user in chosen])
    config = _config(product)
    for server, owner, user in chosen:
        sid = int(server["id"])
        if config is not None and limit_differences(config, server):
            report.differences[sid] = limit_differences(config, server)
        if report.dry_run:
            report.imported.append((sid, 0, user.email))
            continue
        service = adopted_service(
            product,
            plan,
            user,
            name=str(server.get("name") or f"server {sid}"),
            price=price,
            suspended=convergence.is_suspended(server),
            external_id=str(sid),
        )
        previous = server.get("original_external_id", server.get("external_id"))
        try:  # ours from now on: the panel server carries this service's external id
            server = client.app.update_server_details(sid, external_id=panel.external_id(service))
        except errors.ValidationFailed as exc:
            db.session.rollback()
            holder = (
                client.app.get_server_by_external_id(panel.external_id(service))
                if exc.has("external_id")
                else None
            )
            report.skipped[sid] = (
                f"panel server {holder['id']} already carries the external id "
                f"{panel.external_id(service)!r} (another site's server? give it another id, "
                "or give this site its own external id prefix)"
                if holder
                else f"its external id could not be set: {errors.describe(exc)}"
            )
            continue
        except errors.PanelError as exc:
            db.session.rollback()
            report.skipped[sid] = f"its external id could not be set: {errors.describe(exc)}"
            continue
        record_import(
            report,
            service,
            server,
            user,
            owner,
            links=links,
            user_link=UserLink,
            event="pterodactyl.imported",
            details={"server": sid, "product": product.slug, "previous_external_id": previous},
            actor=actor,
        )


def _config(product: Product):
    try:
        return config_of(product)
    except ConfigError:
        return None


def _step_aside(client: PanelClient, servers: list[dict]) -> None:
    """Servers about to be imported that carry an id shaped like ours (an older site's, or
    this one's from before a reset) take a neutral one first, so that giving each its new
    service's id never collides with another server of the same import."""
    pattern = re.compile(rf"^{re.escape(panel.load_settings().external_id_prefix)}-\d+$")
    for server in servers:
        if pattern.match(str(server.get("external_id") or "")):
            neutral = f"{panel.load_settings().external_id_prefix}-import-{server['id']}"
            client.app.update_server_details(int(server["id"]), external_id=neutral)
            server["original_external_id"] = server["external_id"]
            server["external_id"] = neutral
