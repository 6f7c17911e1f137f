"""Staff pages (``support.tickets``): the queue with its filters and a ticket with everything
staff do to it: reply (with saved replies), internal notes, assignment, category and priority,
close and reopen, blocking the customer from opening tickets, and the files of the thread."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user

from builtin_plugins.support import access, attachments, config, presenters, queue
from builtin_plugins.support import tickets as service
from builtin_plugins.support.access import STAFF_PERMISSION
from builtin_plugins.support.errors import SupportError
from builtin_plugins.support.forms import form_id, uploads
from builtin_plugins.support.models import CLOSED, OPEN, PRIORITIES, SavedReply, TicketCategory
from kernel import (
    PagingError,
    ProtectedBaseView,
    User,
    db,
    keyset_page_url,
    record_audit,
    request_body_limit,
    users_with_permission,
)


def _me() -> User:
    return current_user._get_current_object()


def _staff() -> list[dict]:
    return [
        {"id": u.id, "name": u.name or u.email} for u in users_with_permission(STAFF_PERMISSION)
    ]


def _categories() -> list[dict]:
    return [
        {"id": c.id, "name": c.name, "active": c.active}
        for c in db.session.scalars(db.select(TicketCategory).order_by(TicketCategory.position))
    ]


class TicketsView(ProtectedBaseView):
    permission = STAFF_PERMISSION

    def __init__(self):
        super().__init__(
            name="Tickets",
            endpoint="support_tickets",
            url="/admin/support/tickets",
            category="Support",
        )

    def is_visible(self) -> bool:
        return False  # in the admin menu through admin_menu_items, with its unread badge

    @expose("/")
    def index(self):
        filters = queue.QueueFilter.parse(request.args)
        status = 200
        try:
            page = queue.staff_queue(filters, current_user.id, request.args)
        except PagingError as exc:
            flash(f"{exc}; showing the first page", "error")
            page, status = queue.staff_queue(filters, current_user.id), 400
        rows = page.items
        unread = queue.staff_unread_ids(current_user.id, [t.id for t in rows])
        return self.render(
            "admin/support/queue.html",
            tickets=presenters.tickets(rows, staff=True, unread=unread),
            filters=filters,
            keyset=page,
            keyset_url=keyset_page_url,
            staff=_staff(),
            categories=_categories(),
            statuses=(OPEN, CLOSED, "all"),
        ), status

    def _page(self, ticket_id: int, *, status: int = 200, drafts: dict | None = None):
        ticket = access.staff_ticket(ticket_id)
        if status == 200:
            service.mark_read(ticket, current_user.id)
        drafts = dict(drafts or {})
        saved = list(db.session.scalars(db.select(SavedReply).order_by(SavedReply.title)))
        use = request.args.get("use", type=int)
        if use and not drafts.get("reply"):
            chosen = next((s for s in saved if s.id == use), None)
            drafts["reply"] = chosen.body if chosen else ""
        block = service.block_of(ticket.user_id)
        return self.render(
            "admin/support/ticket.html",
            ticket=presenters.ticket(ticket, staff=True),
            thread=presenters.thread(
                ticket,
                staff=True,
                file_url=lambda aid: url_for(".file", ticket_id=ticket.id, attachment_id=aid),
            ),
            saved=[{"id": s.id, "title": s.title} for s in saved],
            drafts=drafts,
            staff=_staff(),
            categories=_categories(),
            priorities=PRIORITIES,
            blocked={"reason": block.reason, "by": block.blocked_by} if block else None,
            customer_is_staff=access.is_staff(db.session.get(User, ticket.user_id)),
        ), status

    @expose("/<int:ticket_id>")
    def detail(self, ticket_id: int):
        try:
            return self._page(ticket_id)
        except SupportError as exc:
            return self._refused(exc)

    def _refused(self, exc: SupportError):
        return self.render("admin/support/message.html", message=str(exc)), exc.status

    def _act(self, ticket_id: int, action, done: str, *, drafts: dict | None = None):
        try:
            ticket = access.staff_ticket(ticket_id)
            action(ticket)
        except SupportError as exc:
            db.session.rollback()
            if exc.status == 404:
                return self._refused(exc)
            flash(str(exc), "error")
            return self._page(ticket_id, status=exc.status, drafts=drafts)
        flash(done, "success")
        return redirect(url_for(".detail", ticket_id=ticket_id), 303)

    @expose("/<int:ticket_id>/reply", methods=("POST",))
    @request_body_limit(config.request_limit)
    def reply(self, ticket_id: int):
        body = request.form.get("body", "")
        and_close = request.form.get("close") == "1"

        def send(ticket):
            service.reply(ticket, _me(), body, uploads(), as_staff=True)
            if and_close and ticket.status == OPEN:
                service.close(ticket, _me(), as_staff=True)

        done = "Reply sent and ticket closed" if and_close else "Reply sent"
        return self._act(ticket_id, send, done, drafts={"reply": body})

    @expose("/<int:ticket_id>/note", methods=("POST",))
    @request_body_limit(config.request_limit)
    def note(self, ticket_id: int):
        body = request.form.get("body", "")
        return self._act(
            ticket_id,
            lambda t: service.add_note(t, _me(), body, uploads()),
            "Internal note added",
            drafts={"note": body},
        )

    @expose("/<int:ticket_id>/assign", methods=("POST",))
    def assign(self, ticket_id: int):
        def move(ticket):
            choice = request.form.get("assignee", "")
            if choice == "me":
                assignee = _me()
            elif choice:
                assignee = db.session.get(User, form_id("assignee") or 0)
                if assignee is None:
                    raise SupportError("choose a member of staff")
            else:
                assignee = None
            service.assign(ticket, assignee, _me())

        return self._act(ticket_id, move, "Assignment saved")

    @expose("/<int:ticket_id>/update", methods=("POST",))
    def update(self, ticket_id: int):
        return self._act(
            ticket_id,
            lambda t: service.change(
                t, _me(), category_id=form_id("category"), priority=request.form.get("priority", "")
            ),
            "Ticket updated",
        )

    @expose("/<int:ticket_id>/close", methods=("POST",))
    def close(self, ticket_id: int):
        return self._act(
            ticket_id, lambda t: service.close(t, _me(), as_staff=True), "Ticket closed"
        )

    @expose("/<int:ticket_id>/reopen", methods=("POST",))
    def reopen(self, ticket_id: int):
        return self._act(
            ticket_id, lambda t: service.reopen(t, _me(), as_staff=True), "Ticket reopened"
        )

    @expose("/<int:ticket_id>/block", methods=("POST",))
    def block(self, ticket_id: int):
        def stop(ticket):
            service.block(
                db.session.get(User, ticket.user_id), request.form.get("reason", ""), _me()
            )

        return self._act(ticket_id, stop, "The customer can no longer open tickets")

    @expose("/<int:ticket_id>/unblock", methods=("POST",))
    def unblock(self, ticket_id: int):
        return self._act(
            ticket_id,
            lambda t: service.unblock(db.session.get(User, t.user_id), _me()),
            "The customer can open tickets again",
        )

    @expose("/<int:ticket_id>/files/<int:attachment_id>")
    def file(self, ticket_id: int, attachment_id: int):
        try:
            ticket = access.staff_ticket(ticket_id)
            found = access.attachment(ticket, attachment_id, staff=True)
            response = attachments.download_response(found)
        except SupportError as exc:
            return self._refused(exc)
        record_audit(
            "support.file_downloaded",
            f"ticket #{ticket.id}",
            {"attachment": found.id, "name": found.filename},
        )
        return response
