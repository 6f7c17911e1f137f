"""A ticket's life: open, reply, internal note, assign, close, reopen; and blocked customers.

Every function checks its input (raising :class:`SupportError` with a message for the
person and an HTTP status), writes the rows and the audit entry in one transaction, and
only then queues the emails (``notify``), so a failing mail never loses a message and a
refused message never sends one. Attachments are written to disk before the commit and
removed again if it fails.

Whose turn it is: a new ticket and every customer reply make it the staff's turn (the
customer has waited since their first unanswered message: ``waiting_since``, the SLA age);
a staff reply makes it the customer's. Internal notes and events change neither.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from builtin_plugins.support import attachments, config, notify, servers
from builtin_plugins.support.access import is_staff
from builtin_plugins.support.attachments import Upload
from builtin_plugins.support.errors import SupportError
from builtin_plugins.support.models import (
    CLOSED,
    CUSTOMER,
    EVENT,
    NOTE,
    OPEN,
    PRIORITIES,
    REPLY,
    STAFF,
    Attachment,
    Block,
    Message,
    ReadMark,
    Ticket,
    TicketCategory,
)
from kernel import User, db, record_audit
from kernel import now as utcnow

SUBJECT_MIN, SUBJECT_MAX = 3, 160
BODY_MAX = 20_000


def _subject(text: str) -> str:
    subject = " ".join((text or "").split())  # no newlines or runs of spaces in a subject
    if len(subject) < SUBJECT_MIN:
        raise SupportError(f"give the ticket a subject of at least {SUBJECT_MIN} characters")
    if len(subject) > SUBJECT_MAX:
        raise SupportError(f"keep the subject under {SUBJECT_MAX} characters")
    return subject


def _body(text: str, *, what: str = "message") -> str:
    body = (text or "").replace("\r\n", "\n").replace("\x00", "").strip()
    if not body:
        raise SupportError(f"the {what} is empty: write something")
    if len(body) > BODY_MAX:
        raise SupportError(f"keep the {what} under {BODY_MAX} characters")
    return body


def _priority(value: str) -> str:
    if value not in PRIORITIES:
        raise SupportError(f"choose a priority: {', '.join(PRIORITIES)}")
    return value


def active_categories() -> list[TicketCategory]:
    return list(
        db.session.scalars(
            db.select(TicketCategory)
            .where(TicketCategory.active.is_(True))
            .order_by(TicketCategory.position, TicketCategory.name)
        )
    )


def _category(category_id: int | None, *, required: bool) -> int | None:
    if not category_id:
        if required:
            raise SupportError("choose a category")
        return None
    category = db.session.get(TicketCategory, category_id)
    if category is None or not category.active:
        raise SupportError("choose one of the categories offered")
    return category.id


# --- blocks -----------------------------------------------------------------------------------


def block_of(user_id: int) -> Block | None:
    return db.session.get(Block, user_id)


def block(customer: User, reason: str, actor: User) -> Block:
    if customer.id == actor.id or is_staff(customer):
        raise SupportError(f"{customer.email} answers tickets: staff cannot be blocked here")
    row = block_of(customer.id) or Block(user_id=customer.id)
    row.reason, row.blocked_by = (reason or "").strip()[:255], actor.email
    db.session.add(row)
    record_audit(
        "support.customer_blocked",
        customer.email,
        {"reason": row.reason},
        actor=actor.email,
        commit=False,
    )
    db.session.commit()
    return row


def unblock(customer: User, actor: User) -> None:
    row = block_of(customer.id)
    if row is None:
        raise SupportError(f"{customer.email} is not blocked", 409)
    db.session.delete(row)
    record_audit("support.customer_unblocked", customer.email, actor=actor.email, commit=False)
    db.session.commit()


def may_open(customer: User) -> None:
    """Raise when ``customer`` may not open a ticket now (blocked, or too many open)."""
    if block_of(customer.id) is not None:
        raise SupportError(
            "You cannot open new tickets. You can still answer your open tickets.", 403
        )
    limit = config.load().max_open_tickets
    if limit:
        count = (
            db.session.scalar(
                db.select(db.func.count(Ticket.id)).where(
                    Ticket.user_id == customer.id, Ticket.status == OPEN
                )
            )
            or 0
        )
        if count >= limit:
            raise SupportError(
                f"You have {count} open tickets: close one before opening another.", 409
            )


# --- messages ---------------------------------------------------------------------------------


def _post(
    ticket: Ticket,
    author: User,
    kind: str,
    body: str,
    uploads: list[Upload],
    *,
    staff: bool,
    when: datetime,
) -> tuple[Message, list[str]]:
    """Add a message with its files to the session; returns it and the written file keys."""
    files = attachments.check(uploads, config.load())
    message = Message(
        ticket_id=ticket.id,
        author_id=author.id,
        kind=kind,
        from_staff=staff,
        body=body,
        created_at=when,
    )
    db.session.add(message)
    db.session.flush()
    written = attachments.write(files)
    for item, key in written:
        db.session.add(
            Attachment(
                ticket_id=ticket.id,
                message_id=message.id,
                uploader_id=author.id,
                filename=item.filename,
                kind=item.kind,
                size=len(item.data),
                sha256=item.sha256,
                storage_key=key,
                created_at=when,
            )
        )
    return message, [key for _item, key in written]


def _commit(keys: list[str]) -> None:
    try:
        db.session.commit()
    except Exception:
        db.session.rollback()
        attachments.discard(keys)
        raise


def _event(ticket: Ticket, actor: User, text: str, *, staff: bool) -> None:
    db.session.add(
        Message(
            ticket_id=ticket.id,
            author_id=actor.id,
            kind=EVENT,
            from_staff=staff,
            body=text,
            created_at=utcnow(),
        )
    )


def mark_read(ticket: Ticket, user_id: int) -> None:
    mark = db.session.get(ReadMark, (ticket.id, user_id))
    if mark is None:
        db.session.add(ReadMark(ticket_id=ticket.id, user_id=user_id, read_at=utcnow()))
    else:
        mark.read_at = utcnow()
    db.session.commit()


def open_ticket(
    customer: User,
    *,
    subject: str,
    body: str,
    category_id: int | None,
    priority: str = "normal",
    service_id: int | None = None,
    uploads: list[Upload] | None = None,
) -> Ticket:
    may_open(customer)
    subject, body, priority = _subject(subject), _body(body), _priority(priority)
    category = _category(category_id, required=bool(active_categories()))
    service = servers.owned(customer.id, service_id) if service_id else None
    when = utcnow()
    ticket = Ticket(
        user_id=customer.id,
        subject=subject,
        category_id=category,
        priority=priority,
        status=OPEN,
        waiting_on=STAFF,
        waiting_since=when,
        service_id=service.id if service else None,
        server_snapshot=servers.snapshot(service) if service else {},
        created_at=when,
        last_message_at=when,
        last_customer_at=when,
    )
    db.session.add(ticket)
    db.session.flush()
    message, keys = _post(ticket, customer, REPLY, body, uploads or [], staff=False, when=when)
    db.session.add(ReadMark(ticket_id=ticket.id, user_id=customer.id, read_at=when))
    record_audit(
        "support.ticket_opened",
        f"ticket #{ticket.id}",
        {"subject": subject, "server": ticket.service_id, "files": len(keys)},
        actor=customer.email,
        commit=False,
    )
    _commit(keys)
    notify.to_staff("new_ticket", ticket, message)
    return ticket


def reply(
    ticket: Ticket, author: User, body: str, uploads: list[Upload] | None = None, *, as_staff: bool
) -> Message:
    """A reply the customer sees; a customer's reply on a closed ticket is refused."""
    body = _body(body, what="reply")
    if ticket.status == CLOSED and not as_staff:
        raise SupportError("This ticket is closed: reopen it to write again.", 409)
    when = utcnow()
    message, keys = _post(ticket, author, REPLY, body, uploads or [], staff=as_staff, when=when)
    ticket.last_message_at = when
    if as_staff:
        ticket.last_staff_at = when
        ticket.first_response_at = ticket.first_response_at or when
        ticket.waiting_on, ticket.waiting_since = CUSTOMER, None
        if ticket.assignee_id is None:
            ticket.assignee_id = author.id  # who answers first owns it, unless assigned
    else:
        ticket.last_customer_at = when
        if ticket.waiting_on != STAFF:
            ticket.waiting_on, ticket.waiting_since = STAFF, when
    _read_now(ticket, author.id, when)
    record_audit(
        "support.replied",
        f"ticket #{ticket.id}",
        {"message": message.id, "staff": as_staff, "files": len(keys)},
        actor=author.email,
        commit=False,
    )
    _commit(keys)
    if as_staff:
        notify.to_customer("staff_reply", ticket, message)
    else:
        notify.to_staff("customer_reply", ticket, message)
    return message


def add_note(
    ticket: Ticket, staff: User, body: str, uploads: list[Upload] | None = None
) -> Message:
    """An internal note: staff only, never mailed to the customer, changes no turn."""
    body = _body(body, what="note")
    message, keys = _post(ticket, staff, NOTE, body, uploads or [], staff=True, when=utcnow())
    record_audit(
        "support.note_added",
        f"ticket #{ticket.id}",
        {"message": message.id, "files": len(keys)},
        actor=staff.email,
        commit=False,
    )
    _commit(keys)
    return message


def _read_now(ticket: Ticket, user_id: int, when: datetime) -> None:
    mark = db.session.get(ReadMark, (ticket.id, user_id))
    if mark is None:
        db.session.add(ReadMark(ticket_id=ticket.id, user_id=user_id, read_at=when))
    else:
        mark.read_at = when


# --- state ------------------------------------------------------------------------------------


def close(ticket: Ticket, actor: User, *, as_staff: bool, reason: str = "") -> None:
    if ticket.status == CLOSED:
        raise SupportError("This ticket is closed already.", 409)
    ticket.status, ticket.closed_at = CLOSED, utcnow()
    ticket.waiting_since = None
    _event(
        ticket,
        actor,
        reason or ("closed by staff" if as_staff else "closed by the customer"),
        staff=as_staff,
    )
    record_audit(
        "support.closed",
        f"ticket #{ticket.id}",
        {"staff": as_staff, "reason": reason},
        actor=actor.email,
        commit=False,
    )
    db.session.commit()
    if as_staff:
        notify.to_customer("closed", ticket, None)


def reopen(ticket: Ticket, actor: User, *, as_staff: bool) -> None:
    if ticket.status == OPEN:
        raise SupportError("This ticket is open already.", 409)
    when = utcnow()
    ticket.status, ticket.closed_at = OPEN, None
    if not as_staff:
        ticket.waiting_on, ticket.waiting_since = STAFF, when
    _event(
        ticket,
        actor,
        "reopened by staff" if as_staff else "reopened by the customer",
        staff=as_staff,
    )
    record_audit(
        "support.reopened",
        f"ticket #{ticket.id}",
        {"staff": as_staff},
        actor=actor.email,
        commit=False,
    )
    db.session.commit()


def assign(ticket: Ticket, assignee: User | None, actor: User) -> None:
    if assignee is not None and not is_staff(assignee):
        raise SupportError(
            f"{assignee.email} cannot answer tickets (no support.tickets permission)"
        )
    if (assignee.id if assignee else None) == ticket.assignee_id:
        return
    ticket.assignee_id = assignee.id if assignee else None  # the audit log keeps the history
    record_audit(
        "support.assigned",
        f"ticket #{ticket.id}",
        {"assignee": assignee.email if assignee else None},
        actor=actor.email,
        commit=False,
    )
    db.session.commit()
    if assignee is not None and assignee.id != actor.id:
        notify.to_staff("assigned", ticket, None)


def change(ticket: Ticket, actor: User, *, category_id: int | None, priority: str) -> None:
    """Staff move a ticket to another category or priority."""
    priority = _priority(priority)
    category = _category(category_id, required=False)
    changes = {
        k: v
        for k, v in (("category", category), ("priority", priority))
        if v != (ticket.category_id if k == "category" else ticket.priority)
    }
    if not changes:
        return
    ticket.category_id, ticket.priority = category, priority
    record_audit(
        "support.changed", f"ticket #{ticket.id}", changes, actor=actor.email, commit=False
    )
    db.session.commit()


def autoclose(days: int | None = None) -> int:
    """Close tickets that waited on the customer for ``autoclose_days``; how many closed."""
    days = config.load().autoclose_days if days is None else days
    if not days:
        return 0
    cutoff = utcnow() - timedelta(days=days)
    due = list(
        db.session.scalars(
            db.select(Ticket)
            .where(
                Ticket.status == OPEN,
                Ticket.waiting_on == CUSTOMER,
                Ticket.last_message_at < cutoff,
            )
            .limit(500)
        )
    )
    for ticket in due:
        ticket.status, ticket.closed_at = CLOSED, utcnow()
        db.session.add(
            Message(
                ticket_id=ticket.id,
                author_id=None,
                kind=EVENT,
                from_staff=True,
                body=f"closed after {days} days without an answer",
                created_at=utcnow(),
            )
        )
        record_audit(
            "support.closed",
            f"ticket #{ticket.id}",
            {"automatic": True, "days": days},
            actor="system",
            commit=False,
        )
    db.session.commit()
    for ticket in due:
        notify.to_customer("closed", ticket, None)
    return len(due)
