"""What the templates see: plain, frozen view models built from the rows (never the rows).

The customer's views are built with ``staff=False`` from :mod:`access`, so a template cannot
show an internal note or its files by mistake: they are not in the data it receives.
Message bodies are Markdown, rendered once here through ``kernel.render_markdown``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from markupsafe import Markup

from builtin_plugins.support import access, config, queue
from builtin_plugins.support.models import EVENT, NOTE, Ticket, TicketCategory
from kernel import User, db, render_markdown


def stamp(when: datetime | None) -> str:
    return when.strftime("%Y-%m-%d %H:%M") if when else ""


def human_size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MiB"
    if size >= 1024:
        return f"{size / 1024:.0f} KiB"
    return f"{size} B"


@dataclass(frozen=True)
class FileView:
    id: int
    name: str
    size: str
    url: str


@dataclass(frozen=True)
class MessageView:
    id: int
    kind: str  # reply | note | event
    internal: bool
    from_staff: bool
    author: str
    html: Markup
    created: str
    files: list[FileView] = field(default_factory=list)


@dataclass(frozen=True)
class TicketView:
    id: int
    subject: str
    status: str
    priority: str
    category: str
    category_id: int | None
    waiting_on: str
    created: str
    last_message: str
    customer_name: str
    customer_email: str
    customer_id: int
    assignee: str
    assignee_id: int | None
    waited: str  # how long the customer has waited for staff ("" when it is not their turn)
    sla: str  # "", warn, breach
    unread: bool
    server: dict[str, Any]  # staff see the whole snapshot; customers its name and state
    server_id: int | None


def _names(user_ids: set[int]) -> dict[int, User]:
    ids = {i for i in user_ids if i is not None}
    if not ids:
        return {}
    return {u.id: u for u in db.session.scalars(db.select(User).where(User.id.in_(ids)))}


def _categories() -> dict[int, str]:
    return {c.id: c.name for c in db.session.scalars(db.select(TicketCategory))}


def tickets(
    rows: list[Ticket], *, staff: bool, unread: set[int] | frozenset = frozenset()
) -> list[TicketView]:
    settings = config.load()
    users = _names({t.user_id for t in rows} | {t.assignee_id for t in rows})
    categories = _categories()
    views = []
    for t in rows:
        customer, assignee = users.get(t.user_id), users.get(t.assignee_id)
        waited = queue.waiting_for(t)
        snapshot = dict(t.server_snapshot or {})
        if not staff:
            snapshot = {k: snapshot[k] for k in ("name", "product", "state") if k in snapshot}
        views.append(
            TicketView(
                id=t.id,
                subject=t.subject,
                status=t.status,
                priority=t.priority,
                category=categories.get(t.category_id, ""),
                category_id=t.category_id,
                waiting_on=t.waiting_on,
                created=stamp(t.created_at),
                last_message=stamp(t.last_message_at),
                customer_name=(customer.name or customer.email) if customer else "",
                customer_email=customer.email if customer and staff else "",
                customer_id=t.user_id,
                assignee=(assignee.name or assignee.email) if assignee else "",
                assignee_id=t.assignee_id,
                waited=queue.human_age(waited),
                sla=queue.sla_level(waited, settings.sla_warn_hours, settings.sla_breach_hours)
                if staff
                else "",
                unread=t.id in unread,
                server=snapshot,
                server_id=t.service_id,
            )
        )
    return views


def ticket(row: Ticket, *, staff: bool, unread: bool = False) -> TicketView:
    return tickets([row], staff=staff, unread={row.id} if unread else frozenset())[0]


def thread(row: Ticket, *, staff: bool, file_url: Callable[[int], str]) -> list[MessageView]:
    """The messages this viewer may see, with their files, oldest first."""
    messages = access.messages(row, staff=staff)
    files: dict[int, list[FileView]] = {}
    for a in access.attachments(row, staff=staff):
        files.setdefault(a.message_id, []).append(
            FileView(id=a.id, name=a.filename, size=human_size(a.size), url=file_url(a.id))
        )
    users = _names({m.author_id for m in messages})
    views = []
    for m in messages:
        author = users.get(m.author_id)
        if author is None:
            name = "Support" if m.from_staff else "system"
        elif m.from_staff and not staff:  # customers see a staff name, never an address
            name = author.name or "Support"
        else:
            name = author.name or author.email
        # events are plain text written by the plugin; messages are Markdown people typed
        html = Markup("{}").format(m.body) if m.kind == EVENT else render_markdown(m.body)
        views.append(
            MessageView(
                id=m.id,
                kind=m.kind,
                internal=m.kind == NOTE,
                from_staff=m.from_staff,
                author=name,
                html=html,
                created=stamp(m.created_at),
                files=files.get(m.id, []),
            )
        )
    return views
