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

from dataclasses import dataclass, field

from sqlalchemy import func, select

from builtin_plugins.panel_kit.api import convergence, errors
from builtin_plugins.pelican import links, panel, product
from builtin_plugins.pelican.models import ServerLink, UserLink
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
from kernel import User, db, record_audit
from kernel import now as utcnow


class ImportRefused(ValueError):
    """The import cannot start (no such product...); the message says why."""


@dataclass
class ImportReport:
    dry_run: bool = False
    imported: list[tuple[int, int, str]] = field(default_factory=list)  # server, service, email
    skipped: dict[int, str] = field(default_factory=dict)  # server id -> why
    differences: dict[int, list[str]] = field(default_factory=dict)


def _product(slug: str) -> Product:
    found = db.session.scalar(select(Product).where(Product.slug == slug))
    if found is None:
        raise ImportRefused(f"no product with the slug {slug!r}")
    if found.provisioner != "pelican":
        raise ImportRefused(
            f"{found.name!r} is not a Pelican product (its provisioner is {found.provisioner!r})"
        )
    if not found.plans:
        raise ImportRefused(f"{found.name!r} has no price plan; add one first")
    return found


def _owner(panel_user: dict | None) -> User | None:
    if panel_user is None:
        return None
    linked = db.session.scalar(
        select(UserLink.user_id).where(UserLink.panel_user_id == int(panel_user["id"]))
    )
    if linked is not None:
        return db.session.get(User, linked)
    email = str(panel_user.get("email") or "").strip().lower()
    return db.session.scalar(select(User).where(func.lower(User.email) == email)) if email else None


def import_servers(
    product_slug: str, *, dry_run: bool = False, server_ids: tuple[int, ...] = (), actor="cli"
) -> ImportReport:
    chosen_product = _product(product_slug)
    plan = chosen_product.plans[0]
    try:
        price = period_price(plan, plan.min_slots)
    except PricingError as exc:
        raise ImportRefused(str(exc)) from None
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
            user = _owner(owner)
            if user is None:
                email = (owner or {}).get("email") or f"Pelican user #{server.get('user')}"
                report.skipped[sid] = f"the owner {email} has no account here"
                continue
            if config is not None and convergence.limit_differences(config, server):
                report.differences[sid] = convergence.limit_differences(config, server)
            if dry_run:
                report.imported.append((sid, 0, user.email))
                continue
            service = _service(chosen_product, plan, price, server, user)
            try:
                server = client.app.update_server_details(
                    sid, external_id=panel.external_id(service)
                )
            except errors.PanelError as exc:
                db.session.rollback()
                report.skipped[sid] = f"its external id could not be set: {errors.describe(exc)}"
                continue
            links.link_server(service, server, "imported")
            if links.user_link(user.id) is None:
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
                "pelican.imported",
                f"service:{service.id}",
                {"server": sid, "product": chosen_product.slug},
                actor=actor,
                commit=False,
            )
            db.session.commit()
            report.imported.append((sid, service.id, user.email))
    return report


def _service(chosen_product: Product, plan, price: int, server: dict, user) -> Service:
    now = utcnow()
    state = SUSPENDED if convergence.is_suspended(server) else ACTIVE
    service = Service(
        user_id=user.id,
        product_id=chosen_product.id,
        plan_id=plan.id,
        name=str(server.get("name") or f"server {server['id']}")[:120],
        state=state,
        suspension="manual" if state == SUSPENDED else "",
        suspended_at=now if state == SUSPENDED else None,
        expires_at=next_expiry(None, now, plan),
        auto_renew=False,
        slots=plan.min_slots,
        price=price,
        charged=0,
        external_id=str(server["id"]),
        options={"imported": True},
        last_error="",
        desired_state=desired_for(state),
        panel_state=desired_for(state),
        sync_status="ok",
    )
    db.session.add(service)
    db.session.flush()
    return service
