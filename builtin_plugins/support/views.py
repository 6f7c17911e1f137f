"""The customer's pages under /support: tickets, a new ticket, a ticket's thread, files, and
the reply link from the emails (which works without logging in)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from builtin_plugins.support import access, attachments, config, links, presenters, queue, servers
from builtin_plugins.support import tickets as service
from builtin_plugins.support.errors import SupportError
from builtin_plugins.support.forms import form_id, uploads
from builtin_plugins.support.models import PRIORITIES, Ticket
from kernel import PagingError, User, db, keyset_page_url, request_body_limit

bp = Blueprint("support", __name__)


TITLES = {
    403: _l("Not allowed"),
    404: _l("Not found"),
    409: _l("Not possible right now"),
    410: _l("Link expired"),
    413: _l("Too large"),
    415: _l("File type refused"),
    503: _l("Try again later"),
}


@bp.errorhandler(SupportError)
def _refused(exc: SupportError):
    return render_template(
        "panel/message.html",
        title=TITLES.get(exc.status, _l("Cannot do that")),
        message=str(exc),
        link=url_for("support.index"),
        link_label=_("Your tickets"),
    ), exc.status


def me() -> User:
    return current_user._get_current_object()


def limits() -> dict:
    settings = config.load()
    return {
        "extensions": attachments.allowed_extensions(settings),
        "max_kb": settings.max_attachment_bytes // 1024,
        "max_files": settings.max_attachments,
    }


@bp.get("/")
@login_required
def index():
    status = 200
    try:
        page, unread = queue.customer_tickets(current_user.id, request.args)
    except PagingError as exc:
        flash(_("That page of tickets does not exist: %(reason)s.", reason=str(exc)), "error")
        (page, unread), status = queue.customer_tickets(current_user.id), 400
    return render_template(
        "support/index.html",
        tickets=presenters.tickets(page.items, staff=False, unread=unread),
        pages={
            "newest": None if page.first else keyset_page_url(),
            "newer": keyset_page_url(after=page.newer) if page.newer else None,
            "older": keyset_page_url(before=page.older) if page.older else None,
        },
        blocked=service.block_of(current_user.id) is not None,
    ), status


def _new_page(status: int = 200, form: dict | None = None):
    owned = servers.choices(current_user)
    return render_template(
        "support/new.html",
        form=form or {"priority": "normal", "server": request.args.get("server", "")},
        categories=[
            {"id": c.id, "name": c.name, "description": c.description}
            for c in service.active_categories()
        ],
        servers=[{"id": s.id, "name": s.name, "state": s.state} for s in owned],
        priorities=PRIORITIES,
        limits=limits(),
    ), status


@bp.route("/new", methods=["GET", "POST"])
@login_required
@request_body_limit(config.request_limit)
def new():
    try:
        service.may_open(me())
    except SupportError as exc:
        return _refused(exc)
    if request.method == "GET":
        return _new_page()
    form = {
        k: request.form.get(k, "") for k in ("subject", "body", "category", "priority", "server")
    }
    try:
        ticket = service.open_ticket(
            me(),
            subject=form["subject"],
            body=form["body"],
            category_id=form_id("category"),
            priority=form["priority"] or "normal",
            service_id=form_id("server"),
            uploads=uploads(),
        )
    except SupportError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return _new_page(exc.status, form)
    flash(_("Ticket #%(id)s is open: we will answer by email and here.", id=ticket.id), "success")
    return redirect(url_for(".show", ticket_id=ticket.id), 303)


def _ticket_page(ticket: Ticket, *, status: int = 200, draft: str = "", token: str = ""):
    if token:
        file_url = lambda aid: url_for(".link_file", token=token, attachment_id=aid)  # noqa: E731
    else:
        file_url = lambda aid: url_for(".file", ticket_id=ticket.id, attachment_id=aid)  # noqa: E731
    return render_template(
        "support/ticket.html",
        ticket=presenters.ticket(ticket, staff=False),
        thread=presenters.thread(ticket, staff=False, file_url=file_url),
        draft=draft,
        token=token,
        limits=limits(),
    ), status


@bp.get("/<int:ticket_id>")
@login_required
def show(ticket_id: int):
    ticket = access.customer_ticket(ticket_id, current_user.id)
    service.mark_read(ticket, current_user.id)
    return _ticket_page(ticket)


@bp.post("/<int:ticket_id>/reply")
@login_required
@request_body_limit(config.request_limit)
def reply(ticket_id: int):
    ticket = access.customer_ticket(ticket_id, current_user.id)
    body = request.form.get("body", "")
    try:
        service.reply(ticket, me(), body, uploads(), as_staff=False)
    except SupportError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return _ticket_page(ticket, status=exc.status, draft=body)
    flash(_("Your reply was sent."), "success")
    return redirect(url_for(".show", ticket_id=ticket.id, _anchor="reply"), 303)


@bp.post("/<int:ticket_id>/close")
@login_required
def close(ticket_id: int):
    ticket = access.customer_ticket(ticket_id, current_user.id)
    service.close(ticket, me(), as_staff=False)
    flash(_("The ticket is closed. You can reopen it if you need to."), "success")
    return redirect(url_for(".show", ticket_id=ticket.id), 303)


@bp.post("/<int:ticket_id>/reopen")
@login_required
@request_body_limit(config.request_limit)
def reopen(ticket_id: int):
    ticket = access.customer_ticket(ticket_id, current_user.id)
    body = request.form.get("body", "")
    try:
        _reopen(ticket, me(), body)
    except SupportError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return _ticket_page(ticket, status=exc.status, draft=body)
    return redirect(url_for(".show", ticket_id=ticket.id), 303)


def _reopen(ticket: Ticket, customer: User, body: str) -> None:
    """Reopen, and send the message written in the reopen box if there is one."""
    service.reopen(ticket, customer, as_staff=False)
    if body.strip() or request.files.getlist("files"):
        service.reply(ticket, customer, body, uploads(), as_staff=False)
        flash(_("The ticket is open again and your message was sent."), "success")
    else:
        flash(_("The ticket is open again."), "success")


@bp.get("/<int:ticket_id>/files/<int:attachment_id>")
@login_required
def file(ticket_id: int, attachment_id: int):
    ticket = access.customer_ticket(ticket_id, current_user.id)
    return attachments.download_response(access.attachment(ticket, attachment_id, staff=False))


# --- the reply link from the emails: the ticket's customer on this ticket only ---------------


@bp.route("/reply/<token>", methods=["GET", "POST"])
@request_body_limit(config.request_limit)
def link(token: str):
    ticket, customer = links.resolve(token)
    if request.method == "GET":
        service.mark_read(ticket, customer.id)
        return _ticket_page(ticket, token=token)
    body = request.form.get("body", "")
    try:
        if request.form.get("action") == "reopen":
            _reopen(ticket, customer, body)
        else:
            service.reply(ticket, customer, body, uploads(), as_staff=False)
            flash(_("Your reply was sent."), "success")
    except SupportError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return _ticket_page(ticket, status=exc.status, draft=body, token=token)
    return redirect(url_for(".link", token=token), 303)


@bp.get("/reply/<token>/files/<int:attachment_id>")
def link_file(token: str, attachment_id: int):
    ticket, _customer = links.resolve(token)
    return attachments.download_response(access.attachment(ticket, attachment_id, staff=False))
