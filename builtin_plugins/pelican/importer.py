"""Import existing Pelican servers as store services of local customers (matched by email).

Each Pelican server not yet linked to a service becomes an active (or, when suspended in the
panel, staff-suspended) service of a chosen Pelican product, owned by the local account whose
email is the Pelican owner's, paid until one period from now and charged nothing. Servers
whose owner has no local account are skipped and reported. The server's ``external_id`` is
rewritten to the new service's (``<prefix>-<service id>``) before the service is committed,
so reconciliation finds it as ours; the product's limits apply at the next reconcile (the
report lists what will change).
"""

from __future__ import annotations

from sqlalchemy import select

from builtin_plugins.panel_kit.api import convergence, errors, local_owner, record_import
from builtin_plugins.pelican import links, panel, product
from builtin_plugins.pelican.models import ServerLink, UserLink
from builtin_plugins.store.api import (  # noqa: F401 - ImportRefused: the plugin's name for it
    ImportRefused,
    ImportReport,
    adopted_service,
    import_terms,
)
from kernel import db


def import_servers(
    product_slug: str, *, dry_run: bool = False, server_ids: tuple[int, ...] = (), actor="cli"
) -> ImportReport:
    chosen_product, plan, price = import_terms(product_slug, "pelican", "Pelican")
    try:
        config = product.config_of(chosen_product)
    except product.ConfigError:
        config = None
    report = ImportReport(dry_run=dry_run)
    linked = set(
        db.session.scalars(select(ServerLink.server_id).where(ServerLink.deleted_at.is_(None)))
    )
    with panel.connect() as client:
        owners = {int(u["id"]): u for u in client.app.list_users()}
        for server in client.app.list_servers():
            sid = int(server["id"])
            if (server_ids and sid not in server_ids) or sid in linked:
                continue
            owner = owners.get(int(server.get("user") or 0))
            user = local_owner(owner, UserLink)
            if user is None:
                email = (owner or {}).get("email") or f"Pelican user #{server.get('user')}"
                report.skipped[sid] = f"the owner {email} has no account here"
                continue
            if config is not None and convergence.limit_differences(config, server):
                report.differences[sid] = convergence.limit_differences(config, server)
            if dry_run:
                report.imported.append((sid, 0, user.email))
                continue
            service = adopted_service(
                chosen_product,
                plan,
                user,
                name=str(server.get("name") or f"server {sid}"),
                price=price,
                suspended=convergence.is_suspended(server),
                external_id=str(sid),
            )
            try:
                server = client.app.update_server_details(
                    sid, external_id=panel.external_id(service)
                )
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
                event="pelican.imported",
                details={"server": sid, "product": chosen_product.slug},
                actor=actor,
            )
    return report
