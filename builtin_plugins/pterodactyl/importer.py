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
from dataclasses import dataclass, field

from sqlalchemy import func, select

from builtin_plugins.panel_kit.api import errors
from builtin_plugins.pterodactyl import links, panel
from builtin_plugins.pterodactyl.client import PanelClient
from builtin_plugins.pterodactyl.converge import limit_differences
from builtin_plugins.pterodactyl.models import ServerLink, UserLink
from builtin_plugins.pterodactyl.product import ConfigError, config_of
from builtin_plugins.store.api import (
    ACTIVE,
    SUSPENDED,
    PricingError,
    Product,
    Service,
    desired_for,
    next_expiry,
    period_price,
)
from kernel import db, record_audit
from kernel import now as utcnow


class ImportRefused(ValueError):
    """The import cannot start (no such product...); the message says why."""


@dataclass
class ImportReport:
    dry_run: bool = False
    imported: list[tuple[int, int, str]] = field(default_factory=list)  # (server, service, email)
    skipped: dict[int, str] = field(default_factory=dict)  # server id -> why
    # server id -> limits the reconciler will change to the product's ("memory 2048 -> 1024")
    differences: dict[int, list[str]] = field(default_factory=dict)


def _product(slug: str) -> Product:
    found = db.session.scalar(select(Product).where(Product.slug == slug))
    if found is None:
        raise ImportRefused(f"no product with the slug {slug!r}")
    if found.provisioner != "pterodactyl":
        raise ImportRefused(
            f"{found.name!r} is not a Pterodactyl product (its provisioner is "
            f"{found.provisioner!r})"
        )
    if not found.plans:
        raise ImportRefused(f"{found.name!r} has no price plan; add one first")
    return found


def _local_user(panel_user: dict | None):
    from kernel import User

    if panel_user is None:
        return None
    link = db.session.scalar(
        select(UserLink).where(UserLink.panel_user_id == int(panel_user["id"]))
    )
    if link is not None:
        return db.session.get(User, link.user_id)
    email = str(panel_user.get("email") or "").strip().lower()
    return db.session.scalar(select(User).where(func.lower(User.email) == email)) if email else None


def import_servers(
    product_slug: str,
    *,
    dry_run: bool = False,
    server_ids: tuple[int, ...] = (),
    client: PanelClient | None = None,
    actor: str = "cli",
) -> ImportReport:
    product = _product(product_slug)
    plan = product.plans[0]
    try:
        price = period_price(plan, plan.min_slots)
    except PricingError as exc:
        raise ImportRefused(str(exc)) from None
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
        user = _local_user(owner)
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
        service = _create_service(product, plan, price, server, user)
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
        links.link_server(service, server, "imported")
        if db.session.get(UserLink, user.id) is None:
            db.session.add(
                UserLink(
                    user_id=user.id,
                    panel_user_id=int(owner["id"]),
                    panel_username=str(owner.get("username") or ""),
                    origin="linked",
                    last_error="",
                )
            )
        record_audit(
            "pterodactyl.imported",
            f"service:{service.id}",
            {"server": sid, "product": product.slug, "previous_external_id": previous},
            actor=actor,
            commit=False,
        )
        db.session.commit()
        report.imported.append((sid, service.id, user.email))


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


def _create_service(product: Product, plan, price: int, server: dict, user) -> Service:
    now = utcnow()
    suspended = server.get("status") == "suspended" or bool(server.get("suspended"))
    service = Service(
        user_id=user.id,
        product_id=product.id,
        plan_id=plan.id,
        name=str(server.get("name") or f"server {server['id']}")[:120],
        state=SUSPENDED if suspended else ACTIVE,
        suspension="manual" if suspended else "",
        suspended_at=now if suspended else None,
        expires_at=next_expiry(None, now, plan),
        auto_renew=False,
        slots=plan.min_slots,
        price=price,
        charged=0,
        external_id=str(server["id"]),
        options={"imported": True},
        last_error="",
        desired_state=desired_for(SUSPENDED if suspended else ACTIVE),
        panel_state=desired_for(SUSPENDED if suspended else ACTIVE),
        sync_status="ok",
    )
    db.session.add(service)
    db.session.flush()
    return service
