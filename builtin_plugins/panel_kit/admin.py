"""The panel plugins' admin page, shared: connection test, request budget, reconciliation
with the flagged servers (paged), user sync and import (:class:`PanelAdminView`).

A panel plugin describes itself in a :class:`PanelAdmin` (its name, settings, link tables
and the operations of its own modules) and subclasses the view with it, adding pages only it
has (the Pterodactyl plugin's nest browser, Pelican's egg and node browser). The template is
``admin/panel_kit/index.html``; a plugin may restyle it as ``admin/<plugin>/index.html``.
The page is thin: the work is in the plugin's connection, reconcile, sync and importer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user
from sqlalchemy import func, select

from builtin_plugins.panel_kit import errors
from builtin_plugins.panel_kit.budget import max_rate
from kernel import ProtectedBaseView, db, record_audit

FLAGGED_PAGE = 50  # flagged servers per page: a panel with thousands of them stays one page


@dataclass(frozen=True, eq=False)
class PanelAdmin:
    """One panel plugin's admin page.

    - ``plugin`` (audit actions ``<plugin>.connection_test`` and ``<plugin>.reconciled``,
      the settings link), ``label`` (the page's title: "Pterodactyl", "Pelican"),
      ``permission`` (who may open it), ``provisioner`` (whose products may be imported).
    - ``load_settings()``: the plugin's settings (``url``, ``application_key``,
      ``client_key``, ``node_policy``, ``application_requests_per_minute``,
      ``client_requests_per_minute``).
    - ``server_link`` / ``user_link``: the plugin's link tables (``drift``, ``drift_at``,
      ``deleted_at``, ``server_id``, ``service_id``; ``user_id``).
    - ``check_connection(settings)``: a report with ``ok``, ``problems`` and ``checks``.
    - ``reconcile(dry_run)``, ``sync_all()``, ``import_servers(slug, dry_run, actor)`` and
      ``import_refused`` (the importer's "cannot start" error): the plugin's own.
    - ``store``: the store plugin's public module (the plugin requires it; the kit does not).
    - ``browser``: ``(endpoint, label)`` of the plugin's extra page linked from the top;
      ``server_admin_path``: where the panel's own admin shows a server (``{id}``).
    """

    plugin: str
    label: str
    permission: str
    provisioner: str
    load_settings: Callable[[], Any]
    server_link: type
    user_link: type
    check_connection: Callable[[Any], Any]
    reconcile: Callable[[bool], Any]
    sync_all: Callable[[], Any]
    import_servers: Callable[[str, bool, str], Any]
    import_refused: type[Exception]
    store: Any
    browser: tuple[str, str] = ("", "")
    server_admin_path: str = "/admin/servers/view/{id}"


def flagged(admin: PanelAdmin, page: int = 1) -> tuple[list, int, int]:
    """One page of the servers reconciliation flagged, newest finding first; how many are
    flagged in all; the page shown (a page past the end shows the last one)."""
    link, service = admin.server_link, admin.store.Service
    where = (link.drift != "") & link.deleted_at.is_(None)
    total = db.session.scalar(select(func.count()).select_from(link).where(where)) or 0
    page = min(max(1, page), max(1, -(-total // FLAGGED_PAGE)))
    rows = list(
        db.session.execute(
            select(link, service)
            .join(service, service.id == link.service_id)
            .where(where)
            .order_by(link.drift_at.desc(), link.service_id.desc())
            .offset((page - 1) * FLAGGED_PAGE)
            .limit(FLAGGED_PAGE)
        ).all()
    )
    return rows, total, page


def unlinked_count(admin: PanelAdmin) -> int:
    """Live local accounts without a panel user of this plugin."""
    from kernel import User

    link = admin.user_link
    return (
        db.session.scalar(
            select(func.count(User.id))
            .outerjoin(link, link.user_id == User.id)
            .where(link.user_id.is_(None), User.erased_at.is_(None))
        )
        or 0
    )


def products(admin: PanelAdmin) -> list:
    product = admin.store.Product
    return list(
        db.session.scalars(
            select(product).where(product.provisioner == admin.provisioner).order_by(product.name)
        )
    )


def findings_of(report: Any) -> list[str]:
    """A reconcile report's findings as lines, whichever shape the plugin's report has (a
    list of findings with a ``kind``, or ``{service id: what}``), then what a dry run would
    change (``differences``: ``{service id: [changes]}``, where the plugin reports them)."""
    found = getattr(report, "findings", None) or []
    if isinstance(found, dict):
        lines = [f"server #{sid}: {what}" for sid, what in found.items()]
    else:
        lines = [f"{getattr(f, 'kind', 'finding')}: {f}" for f in found]
    changes = getattr(report, "differences", None) or {}
    lines += [f"server #{sid} would change: {', '.join(what)}" for sid, what in changes.items()]
    return lines


class PanelAdminView(ProtectedBaseView):
    """The page at ``/admin/<plugin>``; subclasses set :attr:`panel`."""

    panel: PanelAdmin

    def __init__(self):
        panel = self.panel
        super().__init__(
            name=panel.label, endpoint=panel.plugin, url=f"/admin/{panel.plugin}", category="Store"
        )

    @property
    def permission(self) -> str:  # ProtectedBaseView reads it per request
        return self.panel.permission

    def _page(self, status: int = 200, **context: Any):
        panel = self.panel
        context.setdefault("connection", None)
        context.setdefault("reconciled", None)
        context.setdefault("imported", None)
        rows, total, page = flagged(panel, request.args.get("flagged_page", 1, type=int) or 1)
        reconciled = context["reconciled"]
        settings = panel.load_settings()
        limits = {
            api: getattr(settings, f"{api}_requests_per_minute")
            for api in ("application", "client")
        }
        return self.render(
            [f"admin/{panel.plugin}/index.html", "admin/panel_kit/index.html"],
            panel=panel,
            settings=settings,
            limits=limits,
            budgets={api: max_rate(limit) for api, limit in limits.items()},
            flagged=rows,
            flagged_total=total,
            flagged_page=page,
            flagged_pages=max(1, -(-total // FLAGGED_PAGE)),
            unlinked=unlinked_count(panel),
            products=products(panel),
            findings=findings_of(reconciled) if reconciled is not None else [],
            **context,
        ), status

    @expose("/")
    def index(self):
        return self._page()

    @expose("/test", methods=("POST",))
    def test(self):
        settings = self.panel.load_settings()
        report = self.panel.check_connection(settings)
        record_audit(
            f"{self.panel.plugin}.connection_test",
            settings.url,
            {"ok": report.ok, "problems": report.problems},
        )
        return self._page(connection=report)

    @expose("/reconcile", methods=("POST",))
    def reconcile(self):
        dry_run = bool(request.form.get("dry_run"))
        try:
            report = self.panel.reconcile(dry_run)
        except errors.PanelError as exc:
            flash(f"Reconcile failed: {errors.describe(exc)}", "error")
            return self._page(502)
        if not dry_run:
            record_audit(f"{self.panel.plugin}.reconciled", "", {"findings": len(report.findings)})
        return self._page(reconciled=report)

    @expose("/sync-users", methods=("POST",))
    def sync_users(self):
        try:
            report = self.panel.sync_all()
        except errors.PanelError as exc:
            flash(f"User sync failed: {errors.describe(exc)}", "error")
            return self._page(502)
        failed = "; ".join(f"{k}: {v}" for k, v in report.failed.items())
        flash(
            f"{len(report.created)} panel users created, {len(report.linked)} linked"
            + (f", {len(report.failed)} failed: {failed}" if report.failed else ""),
            "warning" if report.failed else "success",
        )
        return redirect(url_for(".index"), 303)

    @expose("/import", methods=("POST",))
    def import_servers(self):
        dry_run = bool(request.form.get("dry_run"))
        try:
            report = self.panel.import_servers(
                request.form.get("product", ""), dry_run, current_user.email
            )
        except self.panel.import_refused as exc:
            flash(str(exc), "error")
            return self._page(400)
        except errors.PanelError as exc:
            flash(f"Import failed: {errors.describe(exc)}", "error")
            return self._page(502)
        return self._page(imported=report)
