"""Admin: the Pterodactyl page (connection test, reconcile, user sync, import) and the JSON
pickers the product form uses (nests, eggs with variables, nodes, locations). Thin: the
work is in connection, reconcile, sync and importer."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, jsonify, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user
from sqlalchemy import func, select

from builtin_plugins.panel_kit.api import errors
from builtin_plugins.pterodactyl import panel
from builtin_plugins.pterodactyl.client import egg_variables
from kernel import ProtectedBaseView, db, record_audit

PERMISSION = "pterodactyl.manage"


FLAGGED_PAGE = 50  # flagged servers per page: a panel with thousands of them stays one page


def _flagged(page: int = 1) -> tuple[list, int, int]:
    """One page of the servers reconciliation flagged, newest finding first; how many are
    flagged in all; the page shown (a page past the end shows the last one)."""
    from builtin_plugins.pterodactyl.models import ServerLink
    from builtin_plugins.store.api import Service

    flagged = (ServerLink.drift != "") & ServerLink.deleted_at.is_(None)
    total = db.session.scalar(select(func.count()).select_from(ServerLink).where(flagged)) or 0
    page = min(max(1, page), max(1, -(-total // FLAGGED_PAGE)))
    rows = list(
        db.session.execute(
            select(ServerLink, Service)
            .join(Service, Service.id == ServerLink.service_id)
            .where(flagged)
            .order_by(ServerLink.drift_at.desc(), ServerLink.service_id.desc())
            .offset((page - 1) * FLAGGED_PAGE)
            .limit(FLAGGED_PAGE)
        ).all()
    )
    return rows, total, page


def _unlinked_count() -> int:
    from builtin_plugins.pterodactyl.models import UserLink
    from kernel import User

    return (
        db.session.scalar(
            select(func.count(User.id))
            .outerjoin(UserLink, UserLink.user_id == User.id)
            .where(UserLink.user_id.is_(None))
        )
        or 0
    )


def _products() -> list:
    from builtin_plugins.store.api import Product

    return list(
        db.session.scalars(
            select(Product).where(Product.provisioner == "pterodactyl").order_by(Product.name)
        )
    )


class PterodactylView(ProtectedBaseView):
    permission = PERMISSION

    def __init__(self):
        super().__init__(
            name="Pterodactyl", endpoint="pterodactyl", url="/admin/pterodactyl", category="Store"
        )

    def _page(self, status: int = 200, **context: Any):
        settings = panel.load_settings()
        context.setdefault("connection", None)
        context.setdefault("reconciled", None)
        flagged, total, page = _flagged(request.args.get("flagged_page", 1, type=int) or 1)
        pages = max(1, -(-total // FLAGGED_PAGE))
        return self.render(
            "admin/pterodactyl/index.html",
            settings=settings,
            flagged=flagged,
            flagged_total=total,
            flagged_page=page,
            flagged_pages=pages,
            unlinked=_unlinked_count(),
            products=_products(),
            **context,
        ), status

    @expose("/")
    def index(self):
        return self._page()

    @expose("/eggs")
    def eggs(self):
        nest_id = request.args.get("nest", type=int)
        egg_id = request.args.get("egg", type=int)
        status, found = 200, {}
        try:
            found = egg_browser(nest_id, egg_id)
        except errors.NotFound:
            flash(f"Egg {egg_id} is not in nest {nest_id}.", "error")
            status, found = 404, _safe_browser(nest_id)
        except errors.PanelError as exc:
            flash(f"The panel did not answer: {errors.describe(exc)}", "error")
            status = 409 if isinstance(exc, errors.NotConfigured) else 502
        return self.render(
            "admin/pterodactyl/eggs.html",
            nest_id=nest_id,
            egg_id=egg_id,
            **{"nests": [], "eggs": [], "egg": None, "nodes": [], "locations": [], **found},
        ), status

    @expose("/test", methods=("POST",))
    def test(self):
        from builtin_plugins.pterodactyl.connection import check_connection

        report = check_connection(panel.load_settings())
        record_audit(
            "pterodactyl.connection_test",
            panel.load_settings().url,
            {"ok": report.ok, "problems": report.problems},
        )
        return self._page(connection=report)

    @expose("/reconcile", methods=("POST",))
    def reconcile(self):
        from builtin_plugins.pterodactyl.reconcile import reconcile

        dry_run = bool(request.form.get("dry_run"))
        try:
            report = reconcile(dry_run=dry_run)
        except errors.PanelError as exc:
            flash(f"Reconcile failed: {errors.describe(exc)}", "error")
            return self._page(502)
        if not dry_run:
            record_audit("pterodactyl.reconciled", "", {"findings": len(report.findings)})
        return self._page(reconciled=report)

    @expose("/sync-users", methods=("POST",))
    def sync_users(self):
        from builtin_plugins.pterodactyl.sync import sync_all

        try:
            report = sync_all()
        except errors.PanelError as exc:
            flash(f"User sync failed: {errors.describe(exc)}", "error")
            return self._page(502)
        flash(
            f"{len(report.created)} panel users created, {len(report.linked)} linked"
            + (
                f", {len(report.failed)} failed: "
                + "; ".join(f"{k}: {v}" for k, v in report.failed.items())
                if report.failed
                else ""
            ),
            "warning" if report.failed else "success",
        )
        return redirect(url_for(".index"), 303)

    @expose("/import", methods=("POST",))
    def import_servers(self):
        from builtin_plugins.pterodactyl.importer import ImportRefused, import_servers

        dry_run = bool(request.form.get("dry_run"))
        try:
            report = import_servers(
                request.form.get("product", ""), dry_run=dry_run, actor=current_user.email
            )
        except ImportRefused as exc:
            flash(str(exc), "error")
            return self._page(400)
        except errors.PanelError as exc:
            flash(f"Import failed: {errors.describe(exc)}", "error")
            return self._page(502)
        return self._page(imported=report)


def egg_browser(nest_id: int | None, egg_id: int | None) -> dict[str, Any]:
    """What the egg browser shows: nests, the nest's eggs, the egg with its variables and a
    suggested variables setting, nodes with their load, and locations."""
    from builtin_plugins.pterodactyl import placement, product

    with panel.connect(quick=True) as client:
        found: dict[str, Any] = {
            "nests": client.app.list_nests(),
            "eggs": [],
            "egg": None,
            "nodes": client.app.list_nodes(),
            "locations": client.app.list_locations(),
        }
        if nest_id:
            found["eggs"] = client.app.list_eggs(nest_id)
        if nest_id and egg_id:
            egg = client.app.get_egg(nest_id, egg_id)
            found["egg"] = egg
            found["variables"] = egg_variables(egg)
            found["suggested"] = product.suggested_variables(found["variables"])
    for node in found["nodes"]:
        node["load_percent"] = round(100 * placement.load(node))
    return found


def _safe_browser(nest_id: int | None) -> dict[str, Any]:
    try:
        return egg_browser(nest_id, None)
    except errors.PanelError:
        return {}


def _json_error(exc: Exception):
    if isinstance(exc, errors.NotConfigured):
        return jsonify(ok=False, error=str(exc)), 409
    if isinstance(exc, errors.NotFound):
        return jsonify(ok=False, error=exc.detail or str(exc)), 404
    return jsonify(ok=False, error=errors.describe(exc)), 502


class PickerView(ProtectedBaseView):
    """JSON for the product form's pickers; product editors (``store.manage``) may read them."""

    permission = "store.manage"

    def __init__(self):
        super().__init__(
            name="Pterodactyl pickers", endpoint="pterodactyl_api", url="/admin/pterodactyl/api"
        )

    def is_visible(self) -> bool:
        return False

    def _call(self, fetch):
        try:
            with panel.connect(quick=True) as client:
                return jsonify(ok=True, items=fetch(client))
        except errors.PanelError as exc:
            return _json_error(exc)

    @expose("/")
    def index(self):
        abort(404)

    @expose("/nests")
    def nests(self):
        return self._call(
            lambda c: [
                {"id": n["id"], "name": n.get("name"), "description": n.get("description")}
                for n in c.app.list_nests()
            ]
        )

    @expose("/nests/<int:nest_id>/eggs")
    def eggs(self, nest_id: int):
        return self._call(
            lambda c: [
                {"id": e["id"], "name": e.get("name"), "description": e.get("description")}
                for e in c.app.list_eggs(nest_id)
            ]
        )

    @expose("/nests/<int:nest_id>/eggs/<int:egg_id>")
    def egg(self, nest_id: int, egg_id: int):
        def fetch(client):
            egg = client.app.get_egg(nest_id, egg_id)
            return {
                "id": egg["id"],
                "name": egg.get("name"),
                "startup": egg.get("startup"),
                "docker_image": egg.get("docker_image"),
                "docker_images": egg.get("docker_images"),
                "variables": [
                    {
                        k: v.get(k)
                        for k in (
                            "name",
                            "description",
                            "env_variable",
                            "default_value",
                            "user_viewable",
                            "user_editable",
                            "rules",
                        )
                    }
                    for v in egg_variables(egg)
                ],
            }

        return self._call(fetch)

    @expose("/nodes")
    def nodes(self):
        return self._call(
            lambda c: [
                {
                    "id": n["id"],
                    "name": n.get("name"),
                    "location_id": n.get("location_id"),
                    "public": n.get("public"),
                    "maintenance_mode": n.get("maintenance_mode"),
                    "memory": n.get("memory"),
                    "disk": n.get("disk"),
                    "allocated_resources": n.get("allocated_resources"),
                }
                for n in c.app.list_nodes()
            ]
        )

    @expose("/locations")
    def locations(self):
        return self._call(
            lambda c: [
                {"id": x["id"], "short": x.get("short"), "long": x.get("long")}
                for x in c.app.list_locations()
            ]
        )
