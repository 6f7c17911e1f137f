"""Finding tickets: the staff queue and its filters, unread counts for the menus, SLA age.

Unread is measured against read marks (``support_read``): a customer has unread news when
staff replied (or closed) after they last opened the ticket; a staff member when the
customer wrote after they last opened it, on open tickets that are theirs or nobody's.
Each count is one query: the menus draw them on every page.

Both ticket lists grow without bound (closed tickets stay), so they page by cursor
(``kernel.keyset_page_sorted``): ``?before=`` / ``?after=`` a ticket id and ``?per_page=``, in
the queue's own order, never ``OFFSET``. The cursor's ticket is looked up through the same
filters (and, for a customer, their own tickets only), so it cannot reveal or start from a
ticket the list would not show.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_

from builtin_plugins.support.models import CLOSED, CUSTOMER, OPEN, STAFF, ReadMark, Ticket
from kernel import KeysetPage, User, db, keyset_page_sorted
from kernel import now as utcnow

PAGE_SIZE = 50
CUSTOMER_PAGE_SIZE = 25
EPOCH = datetime(1970, 1, 1)
NEVER = datetime(9999, 12, 31)  # a ticket nobody waits on sorts after every wait
# Open before closed; longest waiting for staff first; then the latest message; then id.
STAFF_ORDER = (
    (Ticket.status, True),
    (func.coalesce(Ticket.waiting_since, NEVER), False),
    (Ticket.last_message_at, True),
)
CUSTOMER_ORDER = ((Ticket.status, True), (Ticket.last_message_at, True))
WAITING = (STAFF, CUSTOMER)


@dataclass(frozen=True)
class QueueFilter:
    """What the queue page asks for; every field has a harmless default."""

    status: str = OPEN  # open | closed | all
    category_id: int | None = None
    assignee: str = "any"  # any | me | none | <user id>
    waiting: str = ""  # "" | staff | customer
    older_than_hours: int | None = None  # customers waiting at least this long
    q: str = ""  # subject, ticket number or customer email

    @classmethod
    def parse(cls, args) -> QueueFilter:
        """From query arguments; a value that makes no sense is ignored, never an error."""

        def number(name: str) -> int | None:
            try:
                value = int(args.get(name) or "")
            except ValueError:
                return None
            return value if value >= 0 else None

        status = args.get("status", OPEN)
        assignee = args.get("assignee", "any")
        if assignee not in ("any", "me", "none") and not assignee.isdigit():
            assignee = "any"
        return cls(
            status=status if status in (OPEN, CLOSED, "all") else OPEN,
            category_id=number("category") or None,
            assignee=assignee,
            waiting=args.get("waiting", "") if args.get("waiting") in WAITING else "",
            older_than_hours=number("older_than"),
            q=(args.get("q") or "").strip()[:100],
        )


def staff_queue(filters: QueueFilter, viewer_id: int, args=None) -> KeysetPage:
    """One page of tickets (open first, longest-waiting first) from the cursor in ``args``.
    Raises ``kernel.PagingError`` for a malformed cursor or page size, or a cursor naming a
    ticket the filters leave out."""
    query = db.select(Ticket)
    if filters.status != "all":
        query = query.where(Ticket.status == filters.status)
    if filters.category_id:
        query = query.where(Ticket.category_id == filters.category_id)
    if filters.assignee == "me":
        query = query.where(Ticket.assignee_id == viewer_id)
    elif filters.assignee == "none":
        query = query.where(Ticket.assignee_id.is_(None))
    elif filters.assignee.isdigit():
        query = query.where(Ticket.assignee_id == int(filters.assignee))
    if filters.waiting:
        query = query.where(Ticket.waiting_on == filters.waiting, Ticket.status == OPEN)
    if filters.older_than_hours is not None:
        cutoff = utcnow() - timedelta(hours=filters.older_than_hours)
        query = query.where(
            Ticket.status == OPEN, Ticket.waiting_on == STAFF, Ticket.waiting_since <= cutoff
        )
    if filters.q:
        text = filters.q.lstrip("#")
        like = f"%{text.replace('%', '').replace('_', '')}%"
        owners = db.select(User.id).where(User.email.ilike(like))
        conditions = [Ticket.subject.ilike(like), Ticket.user_id.in_(owners)]
        if text.isdigit():
            conditions.append(Ticket.id == int(text))
        query = query.where(or_(*conditions))
    return keyset_page_sorted(db.session, query, STAFF_ORDER, Ticket.id, args or {}, PAGE_SIZE)


def customer_tickets(user_id: int, args=None) -> tuple[KeysetPage, set[int]]:
    """One page of a customer's tickets, open first, and which of them have unread news (one
    query for the page's read marks). Raises ``kernel.PagingError`` as :func:`staff_queue`;
    another customer's ticket id as cursor is refused the same way as a made-up one."""
    page = keyset_page_sorted(
        db.session,
        db.select(Ticket).where(Ticket.user_id == user_id),
        CUSTOMER_ORDER,
        Ticket.id,
        args or {},
        CUSTOMER_PAGE_SIZE,
    )
    ids = [t.id for t in page.items]
    read = (
        dict(
            db.session.execute(
                db.select(ReadMark.ticket_id, ReadMark.read_at).where(
                    ReadMark.user_id == user_id, ReadMark.ticket_id.in_(ids)
                )
            ).all()
        )
        if ids
        else {}
    )
    return page, {t.id for t in page.items if _customer_unread(t, read.get(t.id))}


def _customer_unread(ticket: Ticket, read_at: datetime | None) -> bool:
    news = ticket.last_staff_at  # a staff reply is news; notes and events are not
    return news is not None and news > (read_at or EPOCH)


def customer_unread_count(user_id: int) -> int:
    news = func.coalesce(Ticket.last_staff_at, EPOCH)
    query = (
        db.select(func.count(Ticket.id))
        .outerjoin(ReadMark, and_(ReadMark.ticket_id == Ticket.id, ReadMark.user_id == user_id))
        .where(Ticket.user_id == user_id, news > func.coalesce(ReadMark.read_at, EPOCH))
    )
    return db.session.scalar(query) or 0


def staff_unread_count(user_id: int) -> int:
    """Open tickets waiting on staff, theirs or nobody's, with customer news they have not
    opened since."""
    query = (
        db.select(func.count(Ticket.id))
        .outerjoin(ReadMark, and_(ReadMark.ticket_id == Ticket.id, ReadMark.user_id == user_id))
        .where(
            Ticket.status == OPEN,
            Ticket.waiting_on == STAFF,
            or_(Ticket.assignee_id.is_(None), Ticket.assignee_id == user_id),
            func.coalesce(Ticket.last_customer_at, EPOCH) > func.coalesce(ReadMark.read_at, EPOCH),
        )
    )
    return db.session.scalar(query) or 0


def staff_unread_ids(user_id: int, ticket_ids: list[int]) -> set[int]:
    """Which of these tickets have customer news ``user_id`` has not opened since."""
    if not ticket_ids:
        return set()
    rows = db.session.execute(
        db.select(Ticket.id, Ticket.last_customer_at, ReadMark.read_at)
        .outerjoin(ReadMark, and_(ReadMark.ticket_id == Ticket.id, ReadMark.user_id == user_id))
        .where(Ticket.id.in_(ticket_ids))
    )
    return {tid for tid, news, read in rows if news is not None and news > (read or EPOCH)}


def waiting_for(ticket: Ticket, now: datetime | None = None) -> timedelta | None:
    """How long the customer has waited for staff (None when it is not staff's turn)."""
    if ticket.status != OPEN or ticket.waiting_on != STAFF or ticket.waiting_since is None:
        return None
    return max(timedelta(0), (now or utcnow()) - ticket.waiting_since)


def sla_level(waited: timedelta | None, warn_hours: int, breach_hours: int) -> str:
    """``""`` (fine or not waiting), ``warn`` or ``breach`` for a wait."""
    if waited is None:
        return ""
    hours = waited.total_seconds() / 3600
    if breach_hours and hours >= breach_hours:
        return "breach"
    if warn_hours and hours >= warn_hours:
        return "warn"
    return ""


def human_age(delta: timedelta | None) -> str:
    if delta is None:
        return ""
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h"
