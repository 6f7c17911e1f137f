"""Staff write announcements (``announcements.manage``): the list, the form, deleting one."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user

from builtin_plugins.announcements import presenters, services
from builtin_plugins.announcements.models import AUDIENCES, LEVELS, Announcement
from builtin_plugins.announcements.services import AnnouncementError, AnnouncementInput
from builtin_plugins.store.api import Product, known_nodes
from kernel import ProtectedBaseView, db, render_markdown

PERMISSION = "announcements.manage"


def _input_from_form() -> AnnouncementInput:
    form = request.form
    return AnnouncementInput(
        title=form.get("title", ""),
        body=form.get("body", ""),
        level=form.get("level", ""),
        audience=form.get("audience", ""),
        product_ids=form.getlist("product_ids"),
        node_ids=form.getlist("node_ids"),
        starts_at=form.get("starts_at", ""),
        ends_at=form.get("ends_at", ""),
        dismissible=form.get("dismissible") == "1",
        email=form.get("email") == "1",
    )


def _input_from(a: Announcement) -> AnnouncementInput:
    return AnnouncementInput(
        title=a.title,
        body=a.body,
        level=a.level,
        audience=a.audience,
        product_ids=[str(i) for i in a.product_ids or []],
        node_ids=[str(i) for i in a.node_ids or []],
        starts_at=a.starts_at.strftime("%Y-%m-%dT%H:%M"),
        ends_at=a.ends_at.strftime("%Y-%m-%dT%H:%M") if a.ends_at else "",
        dismissible=a.dismissible,
        email=a.email,
    )


class AnnouncementsView(ProtectedBaseView):
    permission = PERMISSION

    def __init__(self):
        super().__init__(
            name="Announcements", endpoint="announcements_admin", url="/admin/announcements"
        )

    @expose("/")
    def index(self):
        rows = db.session.scalars(
            db.select(Announcement)
            .order_by(Announcement.starts_at.desc(), Announcement.id.desc())
            .limit(200)
        )
        items = [
            {
                "id": a.id,
                "title": a.title,
                "level": a.level,
                "audience": a.audience,
                "starts": presenters.stamp(a.starts_at),
                "ends": presenters.stamp(a.ends_at),
                "state": services.state(a),
                "email": a.email,
                "emailed": presenters.stamp(a.emailed_at),
            }
            for a in rows
        ]
        return self.render("admin/announcements/index.html", items=items)

    def _form(self, data: AnnouncementInput, announcement: Announcement | None, status=200):
        products = [
            {"id": p.id, "name": p.name}
            for p in db.session.scalars(db.select(Product).order_by(Product.name))
        ]
        return self.render(
            "admin/announcements/form.html",
            data=data,
            announcement_id=(announcement.id if announcement else None),
            levels=LEVELS,
            audiences=AUDIENCES,
            products=products,
            nodes=known_nodes(),
            preview=render_markdown(data.body),
            emailed=presenters.stamp(announcement.emailed_at) if announcement else "",
        ), status

    def _save(self, announcement: Announcement | None):
        data = _input_from_form()
        try:
            saved = services.save(data, current_user.email, announcement)
        except AnnouncementError as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return self._form(data, announcement, exc.status)
        flash(f"Announcement #{saved.id} saved ({services.state(saved)})", "success")
        return redirect(url_for(".index"), 303)

    @expose("/new", methods=("GET", "POST"))
    def new(self):
        if request.method == "POST":
            return self._save(None)
        return self._form(AnnouncementInput(), None)

    def _get(self, announcement_id: int) -> Announcement:
        return db.session.get(Announcement, announcement_id) or abort(404)

    @expose("/<int:announcement_id>", methods=("GET", "POST"))
    def edit(self, announcement_id: int):
        announcement = self._get(announcement_id)
        if request.method == "POST":
            return self._save(announcement)
        return self._form(_input_from(announcement), announcement)

    @expose("/<int:announcement_id>/delete", methods=("POST",))
    def delete(self, announcement_id: int):
        services.delete(self._get(announcement_id), current_user.email)
        flash("Announcement deleted", "success")
        return redirect(url_for(".index"), 303)
