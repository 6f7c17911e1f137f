"""Admin: the Pterodactyl page (the panel kit's page: connection test, request budget,
reconcile with the flagged servers, user sync, import; plus the nest and egg browser) and
the JSON pickers the product form uses (nests, eggs with variables, nodes, locations).
Thin: the work is in connection, reconcile, sync and importer."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, jsonify, request
from flask_admin import expose

from builtin_plugins.panel_kit.api import FLAGGED_PAGE, PanelAdmin, PanelAdminView, errors
from builtin_plugins.pterodactyl import panel
from builtin_plugins.pterodactyl.client import egg_variables
from kernel import ProtectedBaseView

PERMISSION = "pterodactyl.manage"
__all__ = ["FLAGGED_PAGE", "PERMISSION", "PickerView", "PterodactylView"]


def _check_connection(settings):
    from builtin_plugins.pterodactyl.connection import check_connection

    return check_connection(settings)


def _reconcile(dry_run: bool):
    from builtin_plugins.pterodactyl.reconcile import reconcile

    return reconcile(dry_run=dry_run)


def _sync_all():
    from builtin_plugins.pterodactyl.sync import sync_all

    return sync_all()


def _import_servers(slug: str, dry_run: bool, actor: str):
    from builtin_plugins.pterodactyl.importer import import_servers

    return import_servers(slug, dry_run=dry_run, actor=actor)


def _admin() -> PanelAdmin:
    from builtin_plugins.pterodactyl.importer import ImportRefused
    from builtin_plugins.pterodactyl.models import ServerLink, UserLink
    from builtin_plugins.store import api as store

    return PanelAdmin(
        plugin="pterodactyl",
        label="Pterodactyl",
        permission=PERMISSION,
        provisioner="pterodactyl",
        load_settings=panel.load_settings,
        server_link=ServerLink,
        user_link=UserLink,
        check_connection=_check_connection,
        reconcile=_reconcile,
        sync_all=_sync_all,
        import_servers=_import_servers,
        import_refused=ImportRefused,
        store=store,
        browser=(".eggs", "Nests, eggs, nodes and locations"),
    )


class PterodactylView(PanelAdminView):
    """The kit's panel page (connection, budget, reconcile, users, import) plus the nest and
    egg browser."""

    panel = _admin()

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
