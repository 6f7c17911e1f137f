"""Admin: the Pelican page (the panel kit's page: connection test, request budget,
reconcile with the flagged servers, user sync, import) plus the egg and node browser.
Thin: the work is in connection, reconcile, sync and importer."""

from __future__ import annotations

from typing import Any

from flask import flash, request
from flask_admin import expose

from builtin_plugins.panel_kit.api import (
    PanelAdmin,
    PanelAdminView,
    egg_variables,
    errors,
    suggested_variables,
)
from builtin_plugins.pelican import panel

PERMISSION = "pelican.manage"
# Where Pelican's own admin (Filament) shows a server.
SERVER_ADMIN_PATH = "/admin/servers/{id}/edit"


def _check_connection(settings):
    from builtin_plugins.pelican.connection import check_connection

    return check_connection(settings)


def _reconcile(dry_run: bool):
    from builtin_plugins.pelican.reconcile import reconcile

    return reconcile(dry_run=dry_run)


def _sync_all():
    from builtin_plugins.pelican.sync import sync_all

    return sync_all()


def _import_servers(slug: str, dry_run: bool, actor: str):
    from builtin_plugins.pelican.importer import import_servers

    return import_servers(slug, dry_run=dry_run, actor=actor)


def _admin() -> PanelAdmin:
    from builtin_plugins.pelican.importer import ImportRefused
    from builtin_plugins.pelican.models import ServerLink, UserLink
    from builtin_plugins.store import api as store

    return PanelAdmin(
        plugin="pelican",
        label="Pelican",
        permission=PERMISSION,
        provisioner="pelican",
        load_settings=panel.load_settings,
        server_link=ServerLink,
        user_link=UserLink,
        check_connection=_check_connection,
        reconcile=_reconcile,
        sync_all=_sync_all,
        import_servers=_import_servers,
        import_refused=ImportRefused,
        store=store,
        browser=(".eggs", "Eggs and nodes"),
        server_admin_path=SERVER_ADMIN_PATH,
    )


class PelicanView(PanelAdminView):
    """The kit's panel page for Pelican, plus the egg and node browser."""

    panel = _admin()

    @expose("/eggs")
    def eggs(self):
        egg_id = request.args.get("egg", type=int)
        status, found = 200, {}
        try:
            found = egg_browser(egg_id)
        except errors.NotFound:
            flash(f"Pelican has no egg {egg_id}.", "error")
            status, found = 404, _safe_browser()
        except errors.PanelError as exc:
            flash(f"The panel did not answer: {errors.describe(exc)}", "error")
            status = 409 if isinstance(exc, errors.NotConfigured) else 502
        return self.render(
            "admin/pelican/eggs.html",
            egg_id=egg_id,
            **{"eggs": [], "egg": None, "nodes": [], **found},
        ), status


def node_load(node: dict[str, Any]) -> int | None:
    """How full a node is, in percent: the worst of its limited resources (memory, disk,
    CPU, with overallocation); None when all are unlimited."""
    from builtin_plugins.pelican import placement

    ratios = [
        placement.used(node, r) / limit
        for r in ("memory", "disk", "cpu")
        if (limit := placement.capacity(node, r)) != float("inf")
    ]
    return round(100 * max(ratios)) if ratios else None


def egg_browser(egg_id: int | None) -> dict[str, Any]:
    """Every egg (top level: Pelican has no nests) with its tags, the chosen egg with its
    variables and a suggested variables setting, and the nodes with tags and load."""
    with panel.connect(quick=True) as client:
        found: dict[str, Any] = {
            "eggs": sorted(client.app.list_eggs(), key=lambda e: str(e.get("name") or "")),
            "egg": None,
            "nodes": client.app.list_nodes(),
        }
        if egg_id:
            egg = client.app.get_egg(egg_id)
            found["egg"] = egg
            found["variables"] = egg_variables(egg)
            found["suggested"] = suggested_variables(found["variables"])
    for node in found["nodes"]:
        node["load_percent"] = node_load(node)
    return found


def _safe_browser() -> dict[str, Any]:
    try:
        return egg_browser(None)
    except errors.PanelError:
        return {}
