"""The support plugin's answers to the kernel's privacy hooks (docs/privacy.md, docs/support.md).

**Export** (``personal_data``): the customer's own tickets with their whole thread, internal
notes included (flagged ``internal``): the right of access covers what is written about a
person, and an internal note about their ticket is exactly that. Staff appear as "staff",
never by name or address (their identity is their own personal data). Attached files are
listed (name, type, size, sha256, date): the export holds JSON only, the files themselves are
downloadable from the ticket page. A block on opening tickets is listed with its reason. For
a staff account, what it did in other people's tickets is listed by ticket and message
number only: the texts are about those customers, not about the staff member.

**Erasure** (``erase_personal_data``): the customer's own tickets go entirely (their messages,
including staff replies and notes in them, read marks, attachment rows and the files on disk;
the signed reply links of emails then lead nowhere), and so does a block on the account. The
files are deleted first and for certain (:func:`attachments.remove` raises while the storage
is unavailable, so the kernel postpones the erasure instead of anonymising an account whose
files stay). Messages the account wrote as staff in other customers' tickets stay, so those
threads stay readable; they keep the author's id (the kernel anonymises the account), their
texts lose the author's name and address, their tickets are unassigned (new replies go to the
team instead of an erased account), and blocks the account made no longer name it.
"""

from __future__ import annotations

from collections import defaultdict

from builtin_plugins.support import attachments
from builtin_plugins.support.models import (
    NOTE,
    Attachment,
    Block,
    Message,
    ReadMark,
    Ticket,
    TicketCategory,
)
from kernel import db

SERVER_FIELDS = ("id", "name", "product", "plan", "state", "taken_at")  # what they saw
STAFF_NAME = "Support"  # replaces an erased staff member's name and address in their texts
ERASED_BY = "(erased)"
MIN_NAME = 3  # a shorter name is not replaced in free text (it would match everywhere)


def _who(message_author: int | None, from_staff: bool, user_id: int) -> str:
    if message_author is not None and message_author == user_id:
        return "you"
    if message_author is None:
        return "system"
    return "staff" if from_staff else "another account"


def _own_tickets(user_id: int) -> list[Ticket]:
    return list(
        db.session.scalars(db.select(Ticket).where(Ticket.user_id == user_id).order_by(Ticket.id))
    )


def _threads(user_id: int, ticket_ids: list[int]) -> dict[int, list[dict]]:
    """The messages of these tickets with their files' metadata, by ticket, oldest first."""
    if not ticket_ids:
        return {}
    files: dict[int, list[dict]] = defaultdict(list)
    for a in db.session.scalars(
        db.select(Attachment).where(Attachment.ticket_id.in_(ticket_ids)).order_by(Attachment.id)
    ):
        files[a.message_id].append(
            {
                "name": a.filename,
                "type": a.kind,
                "bytes": a.size,
                "sha256": a.sha256,
                "uploaded_at": a.created_at,
                "uploaded_by": "you" if a.uploader_id == user_id else "staff",
            }
        )
    threads: dict[int, list[dict]] = defaultdict(list)
    for m in db.session.scalars(
        db.select(Message)
        .where(Message.ticket_id.in_(ticket_ids))
        .order_by(Message.created_at, Message.id)
    ):
        threads[m.ticket_id].append(
            {
                "id": m.id,
                "kind": m.kind,
                "internal": m.kind == NOTE,
                "author": _who(m.author_id, m.from_staff, user_id),
                "text": m.body,
                "created_at": m.created_at,
                "files": files.get(m.id, []),
            }
        )
    return threads


def _staff_activity(user_id: int) -> dict:
    """What a staff account did in other people's tickets, by number only (see the module)."""
    written = db.session.execute(
        db.select(Message.ticket_id, Message.id, Message.kind, Message.created_at)
        .join(Ticket, Ticket.id == Message.ticket_id)
        .where(Message.author_id == user_id, Ticket.user_id != user_id)
        .order_by(Message.id)
    ).all()
    assigned = db.session.scalars(
        db.select(Ticket.id)
        .where(Ticket.assignee_id == user_id, Ticket.user_id != user_id)
        .order_by(Ticket.id)
    ).all()
    if not written and not assigned:
        return {}
    return {
        "messages_written": [
            {"ticket": t, "message": m, "kind": k, "created_at": at} for t, m, k, at in written
        ],
        "tickets_assigned": list(assigned),
    }


def export(user) -> dict:
    tickets = _own_tickets(user.id)
    ids = [t.id for t in tickets]
    threads = _threads(user.id, ids)
    categories = {c.id: c.name for c in db.session.scalars(db.select(TicketCategory))}
    reads = dict(
        db.session.execute(
            db.select(ReadMark.ticket_id, ReadMark.read_at).where(ReadMark.user_id == user.id)
        ).all()
    )
    data: dict = {
        "tickets": [
            {
                "id": t.id,
                "subject": t.subject,
                "status": t.status,
                "priority": t.priority,
                "category": categories.get(t.category_id, ""),
                "created_at": t.created_at,
                "closed_at": t.closed_at,
                "last_read_at": reads.get(t.id),
                "server": {
                    k: v for k, v in (t.server_snapshot or {}).items() if k in SERVER_FIELDS
                },
                "messages": threads.get(t.id, []),
            }
            for t in tickets
        ]
    }
    block = db.session.get(Block, user.id)
    data["blocked"] = (
        {"since": block.created_at, "reason": block.reason, "by": "staff"}
        if block is not None
        else None
    )
    activity = _staff_activity(user.id)
    if activity:
        data["staff_activity"] = activity
    return data


def _replace_folded(text: str, needle: str, replacement: str) -> str:
    """``text`` with every occurrence of ``needle`` replaced, whatever its case."""
    low, target, out, start = text.lower(), needle.lower(), [], 0
    while (found := low.find(target, start)) >= 0:
        out.append(text[start:found])
        out.append(replacement)
        start = found + len(needle)
    out.append(text[start:])
    return "".join(out)


def _scrub(text: str, needles: list[str]) -> str:
    for needle in needles:
        if text and needle.lower() in text.lower():
            text = _replace_folded(text, needle, STAFF_NAME)
    return text


def erase(user) -> None:
    own = [t.id for t in _own_tickets(user.id)]
    if own:
        keys = list(
            db.session.scalars(
                db.select(Attachment.storage_key).where(Attachment.ticket_id.in_(own))
            )
        )
        attachments.remove(keys)  # raises (nothing deleted) while the storage is unavailable
        for model, column in (
            (Attachment, Attachment.ticket_id),
            (ReadMark, ReadMark.ticket_id),
            (Message, Message.ticket_id),
            (Ticket, Ticket.id),
        ):
            db.session.execute(db.delete(model).where(column.in_(own)))
    db.session.execute(db.delete(ReadMark).where(ReadMark.user_id == user.id))
    db.session.execute(db.delete(Block).where(Block.user_id == user.id))
    # as staff: the threads stay readable, without this person in them
    db.session.execute(
        db.update(Ticket).where(Ticket.assignee_id == user.id).values(assignee_id=None)
    )
    if user.email:
        db.session.execute(
            db.update(Block)
            .where(db.func.lower(Block.blocked_by) == user.email.lower())
            .values(blocked_by=ERASED_BY)
        )
    needles = sorted(
        {n.strip() for n in (user.email, user.name) if n and len(n.strip()) >= MIN_NAME},
        key=len,
        reverse=True,
    )
    if needles:
        for message in db.session.scalars(db.select(Message).where(Message.author_id == user.id)):
            message.body = _scrub(message.body, needles)
    db.session.commit()
