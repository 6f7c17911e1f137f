"""Who sees what of a ticket: the one module that decides it.

- A customer sees only their own tickets (anyone else's answers 404, as if it did not
  exist), and of those only replies and events: internal notes, and the files attached to
  them, are never shown, listed, mailed or downloadable for them.
- Staff are accounts with the ``support.tickets`` permission; they see every ticket, note
  and file, through the admin pages only.
- A signed reply link (``links.py``) stands for the ticket's customer on that one ticket.
"""

from __future__ import annotations

from builtin_plugins.support.errors import SupportError
from builtin_plugins.support.models import NOTE, Attachment, Message, Ticket
from kernel import db

STAFF_PERMISSION = "support.tickets"
MANAGE_PERMISSION = "support.manage"


def is_staff(user) -> bool:
    return bool(
        user is not None
        and getattr(user, "is_authenticated", False)
        and user.has_permission(STAFF_PERMISSION)
    )


def customer_ticket(ticket_id: int, user_id: int) -> Ticket:
    """``user_id``'s own ticket, else 404 (another customer's ticket is not revealed)."""
    ticket = db.session.get(Ticket, ticket_id)
    if ticket is None or ticket.user_id != user_id:
        raise SupportError("ticket not found", 404)
    return ticket


def staff_ticket(ticket_id: int) -> Ticket:
    ticket = db.session.get(Ticket, ticket_id)
    if ticket is None:
        raise SupportError("ticket not found", 404)
    return ticket


def messages(ticket: Ticket, *, staff: bool) -> list[Message]:
    """The thread as this viewer may see it, oldest first."""
    query = db.select(Message).where(Message.ticket_id == ticket.id)
    if not staff:
        query = query.where(Message.kind != NOTE)
    return list(db.session.scalars(query.order_by(Message.created_at, Message.id)))


def attachments(ticket: Ticket, *, staff: bool) -> list[Attachment]:
    query = (
        db.select(Attachment)
        .join(Message, Message.id == Attachment.message_id)
        .where(Attachment.ticket_id == ticket.id)
    )
    if not staff:
        query = query.where(Message.kind != NOTE)
    return list(db.session.scalars(query.order_by(Attachment.id)))


def attachment(ticket: Ticket, attachment_id: int, *, staff: bool) -> Attachment:
    """A file of this ticket this viewer may download, else 404."""
    for found in attachments(ticket, staff=staff):
        if found.id == attachment_id:
            return found
    raise SupportError("attachment not found", 404)
