"""My servers: the list, the server page with its tabs, settings and renewal.

Other plugins add tabs through the store's ``server_tabs`` hook and render their tab
pages inside the same shell: ``owned_service(service_id)`` checks ownership (404
otherwise) and ``render_server_page(service, tab_id, template, **context)`` renders a
template extending ``store/server_base.html``.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload

from builtin_plugins.store import services
from builtin_plugins.store.lifecycle import ACTIVE, SUSPENDED, TERMINATED
from builtin_plugins.store.models import Product, Service
from builtin_plugins.store.provisioning import LiveStatus, provisioner_for
from builtin_plugins.store.services import StoreError
from builtin_plugins.store.vouchers import PURCHASE_DISCOUNT, VoucherError, discounted, find
from kernel import collect, db, site_setting, verified_required, wallet_balance

bp = Blueprint("servers", __name__)


def currency() -> str:
    return site_setting("currency")


def owned_service(service_id: int) -> Service:
    """The current user's live server ``service_id``; 404 for anyone else's or a deleted one."""
    service = db.session.get(Service, service_id)
    if service is None or service.user_id != current_user.id or service.state == TERMINATED:
        abort(404)
    return service


def my_servers(user, limit: int | None = None, *, with_plans: bool = True) -> list[Service]:
    """``user``'s servers that are not deleted, soonest to expire first (with their product
    and plan loaded: one query each for the whole list, unless ``with_plans`` is off)."""
    query = (
        db.select(Service)
        .where(Service.user_id == user.id, Service.state != TERMINATED)
        .order_by(Service.expires_at, Service.id)
    )
    if with_plans:
        query = query.options(selectinload(Service.product), selectinload(Service.plan))
    if limit:
        query = query.limit(limit)
    return list(db.session.scalars(query))


STATUS_WAIT = 1.0  # seconds the servers list's status fragment waits for the panel


def live_statuses(services: list[Service], *, wait: float) -> dict[int, LiveStatus]:
    """States of many active servers. A provisioner with ``statuses(services, wait=)`` answers
    for all of its servers at once (from its cache, refreshing in the background: ``wait``
    0 never waits, and servers it has no state for yet are left out); one without it is asked
    per server, only when ``wait`` allows waiting. Never raises."""
    by_provisioner: dict[str, list[Service]] = {}
    for service in services:
        if service.state == ACTIVE:
            by_provisioner.setdefault(service.product.provisioner, []).append(service)
    found: dict[int, LiveStatus] = {}
    for group in by_provisioner.values():
        try:
            provisioner = provisioner_for(group[0].product)
            batch = getattr(provisioner, "statuses", None)
            if callable(batch):
                answer = batch(group, wait=wait)
                found.update(
                    {s.id: answer[s.id] for s in group if isinstance(answer.get(s.id), LiveStatus)}
                )
            elif wait:
                found.update({s.id: live_status(s) for s in group})
        except Exception as exc:  # noqa: BLE001 - an unreachable panel is shown, not a 500
            current_app.logger.warning("statuses of %d servers failed: %s", len(group), exc)
            if wait:
                found.update(
                    {s.id: LiveStatus("unknown", _("the panel did not answer")) for s in group}
                )
    return found


def live_status(service: Service) -> LiveStatus | None:
    """What the panel says about an active server; never raises."""
    if service.state != ACTIVE:
        return None
    try:
        return provisioner_for(service.product).status(service)
    except Exception as exc:  # noqa: BLE001 - an unreachable panel is shown, not a 500
        current_app.logger.warning("status of service %s failed: %s", service.id, exc)
        return LiveStatus("unknown", _("the panel did not answer"))


def server_tabs(service: Service) -> list[dict]:
    tabs = collect("server_tabs", dict, service=service, user=current_user)
    return sorted(tabs, key=_tab_order)


def _tab_order(tab: dict) -> tuple[float, str]:
    order = tab.get("order", 100)
    if isinstance(order, bool) or not isinstance(order, (int, float)):
        order = 100  # one plugin's odd "order" must not break everyone's tabs
    return order, str(tab.get("label"))


@bp.app_template_global("server_actions")
def server_actions(service: Service) -> list[dict]:
    """Buttons other plugins add to the header of ``service``'s page (``server_actions``).

    A template global (the theme sandbox lets templates call the app's globals only): every
    page extending store/server_base.html, the store's and other plugins' tab pages, draws
    the actions itself, so no caller has to remember to pass them."""
    actions = [
        a
        for a in collect("server_actions", dict, service=service, user=current_user)
        if isinstance(a.get("label"), str) and isinstance(a.get("url"), str)
    ]
    return sorted(actions, key=_tab_order)


def render_server_page(service: Service, tab_id: str, template: str, status: int = 200, **context):
    return render_template(
        template,
        service=service,
        tabs=server_tabs(service),
        active_tab=tab_id,
        currency=currency(),
        **context,
    ), status


@bp.get("/servers")
@login_required
def index():
    """The list renders at once with the states known now; the others come from
    ``/servers/statuses`` (htmx), which waits on the panel at most STATUS_WAIT seconds."""
    servers = my_servers(current_user)
    known = live_statuses(servers, wait=0)
    rows = [(s, known.get(s.id)) for s in servers]
    pending = [s.id for s in servers if s.state == ACTIVE and s.id not in known]
    return render_template("store/servers.html", rows=rows, pending=pending, currency=currency())


@bp.get("/servers/statuses")
@login_required
def statuses():
    """The live-state badges of the current user's active servers (an htmx fragment whose
    badges replace the list's placeholders out of band)."""
    servers = [s for s in my_servers(current_user) if s.state == ACTIVE]
    found = live_statuses(servers, wait=STATUS_WAIT)
    return render_template("store/server_statuses.html", servers=servers, found=found)


@bp.get("/servers/<int:service_id>")
@login_required
def show(service_id: int):
    service = owned_service(service_id)
    return render_server_page(
        service, "overview", "store/server.html", status_now=live_status(service)
    )


@bp.get("/servers/<int:service_id>/status")
@login_required
def status(service_id: int):
    """The Overview's status card alone: what its htmx polling swaps in (and the badge)."""
    service = owned_service(service_id)
    return render_template(
        "store/server_status.html", service=service, status_now=live_status(service), oob=True
    )


@bp.get("/servers/<int:service_id>/settings")
@login_required
def settings(service_id: int, status: int = 200):
    service = owned_service(service_id)
    return render_server_page(service, "settings", "store/server_settings.html", status)


@bp.post("/servers/<int:service_id>/rename")
@login_required
def rename(service_id: int):
    service = owned_service(service_id)
    try:
        services.rename(service, request.form.get("name", ""))
    except StoreError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return settings(service_id, status=400)
    flash(_("The server is now called %(name)s.", name=service.name), "success")
    return redirect(url_for(".settings", service_id=service.id), 303)


@bp.post("/servers/<int:service_id>/auto-renew")
@login_required
def auto_renew(service_id: int):
    service = owned_service(service_id)
    enabled = request.form.get("enabled") in ("1", "on", "true")
    try:
        services.set_auto_renew(service, enabled)
    except StoreError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return settings(service_id, status=400)
    flash(_("Automatic renewal is on.") if enabled else _("Automatic renewal is off."), "success")
    return redirect(url_for(".settings", service_id=service.id), 303)


def _renew_page(service: Service, code: str = "", status: int = 200):
    price, discount, error = service.price, 0, ""
    if code.strip():
        try:
            price, discount = discounted(find(code, PURCHASE_DISCOUNT, current_user, price), price)
        except VoucherError as exc:
            error = str(exc)
        db.session.rollback()
    balance = wallet_balance(current_user.id)
    return render_server_page(
        service,
        "settings",
        "store/renew.html",
        status,
        code=code,
        price=price,
        discount=discount,
        voucher_error=error,
        balance=balance,
        shortfall=max(0, price - balance),
    )


@bp.route("/servers/<int:service_id>/renew", methods=["GET", "POST"])
@login_required
@verified_required("renew")
def renew(service_id: int):
    service = owned_service(service_id)
    if service.state not in (ACTIVE, SUSPENDED):
        flash(_("This server cannot be renewed right now."), "error")
        return redirect(url_for(".show", service_id=service.id))
    code = request.form.get("voucher", "") if request.method == "POST" else ""
    if request.method == "GET" or request.form.get("action") == "preview":
        return _renew_page(service, code)
    if request.form.get("expires") != service.expires_at.isoformat():
        flash(_("This server was renewed already: nothing more was charged."), "info")
        return redirect(url_for(".show", service_id=service.id), 303)
    try:
        services.renew(service, voucher_code=code)
    except StoreError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return _renew_page(service, code, 400)
    flash(
        _(
            "Renewed: the server now runs until %(date)s.",
            date=service.expires_at.strftime("%Y-%m-%d %H:%M"),
        ),
        "success",
    )
    if service.state == SUSPENDED and service.suspension == "manual":
        flash(
            _("Our staff suspended this server; contact support to lift the suspension."), "warning"
        )
    return redirect(url_for(".show", service_id=service.id), 303)


def _change_page(service: Service, status: int = 200):
    return render_server_page(
        service,
        "settings",
        "store/change_plan.html",
        status,
        options=services.package_options(service),
        balance=wallet_balance(current_user.id),
    )


@bp.route("/servers/<int:service_id>/change-plan", methods=["GET", "POST"])
@login_required
@verified_required("change_plan")
def change_plan(service_id: int):
    """Upgrade or downgrade to another product of the same provisioner, prorated."""
    service = owned_service(service_id)
    if service.state != ACTIVE:
        flash(_("Only an active server can change plan."), "error")
        return redirect(url_for(".settings", service_id=service.id))
    if request.method == "GET":
        return _change_page(service)
    target = db.session.get(Product, request.form.get("product_id", type=int) or 0)
    if target is None:
        flash(_("Choose one of the plans below."), "error")
        return _change_page(service, 400)
    if request.form.get("from_product", type=int) != service.product_id:
        flash(_("This server changed plan already: nothing more was charged."), "info")
        return redirect(url_for(".settings", service_id=service.id), 303)
    try:
        services.change_package(service, target)
    except StoreError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return _change_page(service, 400)
    flash(_("Your server now runs on %(product)s.", product=service.product.name), "success")
    return redirect(url_for(".settings", service_id=service.id), 303)


def widget_html(user) -> str:
    """The dashboard's "My servers" widget."""
    servers = my_servers(user, limit=5, with_plans=False)  # it shows names, states, dates
    return render_template("store/widget.html", servers=servers, currency=currency())
