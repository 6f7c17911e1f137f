"""Emails both ways (templates ``email/support/<event>.txt``), sent as jobs after the commit.

To staff: a new ticket, a customer's reply, an assignment; to the assignee when there is
one, else to the ``team_email`` setting, else to every account with ``support.tickets``.
Their link opens the admin page (a login is needed).

To the customer: a staff reply (with its text) and a closed ticket, each with a signed
reply link (``links.py``). An internal note is never mailed: :func:`send_customer`
refuses any message that is not a reply, whatever called it.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from builtin_plugins.support import config, links
from builtin_plugins.support.access import STAFF_PERMISSION
from builtin_plugins.support.models import REPLY, Message, Ticket
from kernel import User, db, enqueue, job, send_email, users_with_permission

STAFF_SUBJECTS = {
    "new_ticket": _l("[#%(id)s] New ticket: %(subject)s"),
    "customer_reply": _l("[#%(id)s] Customer replied: %(subject)s"),
    "assigned": _l("[#%(id)s] Assigned to you: %(subject)s"),
}
CUSTOMER_SUBJECTS = {
    "staff_reply": _l("[#%(id)s] New reply: %(subject)s"),
    "closed": _l("[#%(id)s] Ticket closed: %(subject)s"),
}


def to_staff(event: str, ticket: Ticket, message: Message | None) -> None:
    if event not in STAFF_SUBJECTS:
        raise ValueError(f"unknown staff email {event!r}")
    enqueue(send_staff, event, ticket.id, message.id if message else None)


def to_customer(event: str, ticket: Ticket, message: Message | None) -> None:
    if event not in CUSTOMER_SUBJECTS:
        raise ValueError(f"unknown customer email {event!r}")
    enqueue(send_customer, event, ticket.id, message.id if message else None)


def staff_recipients(ticket: Ticket, event: str) -> list[str]:
    if ticket.assignee_id is not None:
        assignee = db.session.get(User, ticket.assignee_id)
        return [assignee.email] if assignee is not None and not assignee.is_blocked else []
    if event == "assigned":
        return []
    team = config.load().team_email
    if team:
        return [team]
    return [user.email for user in users_with_permission(STAFF_PERMISSION)]


def _context(ticket: Ticket, message: Message | None) -> dict:
    customer = db.session.get(User, ticket.user_id)
    author = db.session.get(User, message.author_id) if message and message.author_id else None
    return {
        "ticket_id": ticket.id,
        "ticket_subject": ticket.subject,
        "priority": ticket.priority,
        "customer_name": customer.name or customer.email if customer else "",
        "customer_email": customer.email if customer else "",
        "author_name": (author.name or author.email) if author else "",
        "body": message.body if message else "",
        "server": ticket.server_snapshot or {},
    }


@job(queue="mail")
def send_staff(event: str, ticket_id: int, message_id: int | None = None) -> int:
    """Job: mail ``event`` about a ticket to the staff who should act; how many were sent."""
    ticket = db.session.get(Ticket, ticket_id)
    if ticket is None:
        return 0
    message = db.session.get(Message, message_id) if message_id else None
    subject = str(STAFF_SUBJECTS[event] % {"id": ticket.id, "subject": ticket.subject})
    context = _context(ticket, message)
    sent = 0
    for address in staff_recipients(ticket, event):
        send_email(
            address,
            subject,
            f"support/{event}",
            url=links.staff_url(ticket.id),
            commit=False,
            **context,
        )
        sent += 1
    db.session.commit()
    return sent


@job(queue="mail")
def send_customer(event: str, ticket_id: int, message_id: int | None = None) -> int:
    """Job: mail ``event`` to the ticket's customer with a reply link; never an internal note."""
    ticket = db.session.get(Ticket, ticket_id)
    customer = db.session.get(User, ticket.user_id) if ticket else None
    if ticket is None or customer is None or customer.is_blocked:
        return 0
    message = db.session.get(Message, message_id) if message_id else None
    if message_id and (message is None or message.kind != REPLY or message.ticket_id != ticket.id):
        return 0
    subject = str(CUSTOMER_SUBJECTS[event] % {"id": ticket.id, "subject": ticket.subject})
    send_email(
        customer.email,
        subject,
        f"support/{event}",
        reply_url=links.reply_url(ticket),
        url=links.customer_url(ticket.id),
        name=customer.name or customer.email,
        **_context(ticket, message),
    )
    return 1
