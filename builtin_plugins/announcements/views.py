"""The client pages: the list of announcements, dismissing a banner, and the HTML of the
dashboard banners and server-page notices (filled into the theme's slots)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup

from builtin_plugins.announcements import presenters, services
from builtin_plugins.announcements.services import AnnouncementError
from kernel import render_fragment

bp = Blueprint("announcements", __name__)


@bp.errorhandler(AnnouncementError)
def _refused(exc: AnnouncementError):
    return render_template(
        "panel/message.html",
        title=_("Announcements"),
        message=str(exc),
        link=url_for("announcements.index"),
        link_label=_("All announcements"),
    ), exc.status


@bp.get("/")
@login_required
def index():
    active, ended = services.listing(current_user)
    gone = services.dismissed_ids(current_user.id)
    return render_template(
        "announcements/index.html",
        active=presenters.views(active),
        ended=presenters.views(ended),
        dismissed=gone,
    )


def _back() -> str:
    target = request.form.get("next", "")
    parts = urlsplit(target)
    if (
        target.startswith("/")
        and not target.startswith("//")
        and not parts.netloc
        and "\\" not in target
    ):
        return target
    return url_for("web.dashboard")


@bp.post("/<int:announcement_id>/dismiss")
@login_required
def dismiss(announcement_id: int):
    services.dismiss(announcement_id, current_user)
    flash(_("Announcement dismissed: it stays on the announcements page."), "info")
    return redirect(_back(), 303)


def banners_html(user) -> Markup:
    rows = services.banners(user)
    if not rows:
        return Markup("")
    return render_fragment(
        "announcements/banners.html",
        items=presenters.views(rows),
        here=request.full_path.rstrip("?"),
    )


def server_notices_html(service) -> Markup:
    rows = services.for_server(service)
    if not rows:
        return Markup("")
    return render_fragment("announcements/server_notices.html", items=presenters.views(rows))
