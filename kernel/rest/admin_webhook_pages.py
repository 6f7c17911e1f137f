"""Admin › Webhooks: register receivers (secret shown once), the delivery log, replay."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from kernel import paging
from kernel.admin.base import ProtectedBaseView
from kernel.extensions import db
from kernel.webhooks import services
from kernel.webhooks.models import WebhookDelivery, WebhookEndpoint


class WebhooksView(ProtectedBaseView):
    permission = "admin.settings"

    def __init__(self):
        super().__init__(name="Webhooks", endpoint="webhooks_admin", url="/admin/webhooks")

    def _page(self, status: int = 200, secret: str = ""):
        """The endpoints, and one page of the delivery log by cursor (it grows with every
        event: ``?before=`` / ``?after=`` a delivery id, ``?per_page=``; a malformed one is
        a 400 with the reason and the newest deliveries)."""
        query = select(WebhookDelivery).options(selectinload(WebhookDelivery.endpoint))
        try:
            deliveries = paging.fetch(db.session, query, WebhookDelivery.id, request.args, 50)
        except paging.PagingError as exc:
            flash(f"{exc}; showing the newest deliveries", "error")
            deliveries = paging.fetch(db.session, query, WebhookDelivery.id, {}, 50)
            status = 400 if status < 400 else status
        return self.render(
            "admin/pteroca/webhooks.html",
            secret=secret,
            events=services.known_events(),
            endpoints=list(
                db.session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id))
            ),
            deliveries=deliveries.items,
            keyset=deliveries,
            keyset_url=paging.page_url,
        ), status

    @expose("/")
    def index(self):
        return self._page()

    @expose("/", methods=["POST"])
    def create(self):
        try:
            _endpoint, secret = services.create_endpoint(
                request.form.get("url", ""),
                request.form.getlist("events"),
                description=request.form.get("description", ""),
                allow_private=bool(request.form.get("allow_private")),
                actor=current_user.email,
            )
        except services.WebhookError as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return self._page(400)
        return self._page(201, secret=secret)

    @expose("/<int:endpoint_id>/delete", methods=["POST"])
    def delete(self, endpoint_id: int):
        endpoint = db.session.get(WebhookEndpoint, endpoint_id)
        if endpoint is not None:
            services.delete_endpoint(endpoint, actor=current_user.email)
            flash(f"Webhook {endpoint.url} deleted.", "success")
        return redirect(url_for(".index"), 303)

    @expose("/deliveries/<int:delivery_id>/replay", methods=["POST"])
    def replay(self, delivery_id: int):
        delivery = db.session.get(WebhookDelivery, delivery_id)
        if delivery is None:
            flash("No such delivery.", "error")
            return self._page(404)
        done = services.replay(delivery, actor=current_user.email)
        flash(
            f"Delivery #{done.id} sent again: {done.status}"
            + (f" ({done.error})" if done.error else ""),
            "success" if not done.error else "error",
        )
        return redirect(url_for(".index"), 303)
