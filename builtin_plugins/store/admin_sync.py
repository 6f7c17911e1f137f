"""Admin: servers whose panel does not match their desired state, with the reconciler's
attempts and last error; staff retry them (a fresh set of attempts now) or accept the panel
as it is. Thin: the rules are the reconciler's."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user

from builtin_plugins.store import reconciler
from builtin_plugins.store.models import Service
from kernel import PagingError, ProtectedBaseView, db, keyset_page_url

PERMISSION = "store.manage"
MAX_ID = 2**31 - 1  # a database integer: a larger id is no server (and PostgreSQL refuses it)


def _users(rows: list[Service]) -> dict:
    from kernel import User

    ids = {row.user_id for row in rows}
    return {user.id: user for user in db.session.scalars(db.select(User).where(User.id.in_(ids)))}


class SyncView(ProtectedBaseView):
    permission = PERMISSION

    def __init__(self):
        super().__init__(
            name="Out of sync", endpoint="store_sync", url="/admin/store/sync", category="Store"
        )

    @expose("/")
    def index(self):
        status = 200
        try:
            page = reconciler.out_of_sync(request.args)
        except PagingError as exc:
            flash(f"{exc}; showing the first page", "error")
            page, status = reconciler.out_of_sync(), 400
        rows = page.items
        return self.render(
            "admin/store/sync.html",
            rows=rows,
            users=_users(rows),
            history=reconciler.recent_histories([row.id for row in rows]),
            counts=reconciler.counts(),
            keyset=page,
            keyset_url=keyset_page_url,
        ), status

    def _service(self) -> Service:
        service_id = request.form.get("service_id", type=int) or 0
        if not 0 < service_id <= MAX_ID:
            abort(404)
        return db.session.get(Service, service_id) or abort(404)

    def _back(self, service: Service):
        if request.form.get("next") == "detail":
            return redirect(url_for("store_servers.detail", service_id=service.id), 303)
        return redirect(url_for(".index"), 303)

    @expose("/retry", methods=("POST",))
    def retry(self):
        service = self._service()
        service = reconciler.retry(service, actor=current_user.email)
        flash(
            f"Server #{service.id}: tried again ({service.sync_status}"
            + (f": {service.sync_error}" if service.sync_error else "")
            + ")",
            "success" if service.sync_status == "ok" else "warning",
        )
        return self._back(service)

    @expose("/accept", methods=("POST",))
    def accept(self):
        service = self._service()
        reconciler.accept(service, actor=current_user.email)
        flash(
            f"Server #{service.id}: the panel is left as it is until the server's next change",
            "success",
        )
        return self._back(service)
