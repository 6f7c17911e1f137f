"""Announcements: what staff may publish, what each user sees now, and dismissing a banner.

Time windows are UTC (``kernel.now``): an announcement is *active* from ``starts_at`` until
``ends_at`` (open-ended when empty), *scheduled* before and *ended* after. Viewers see the
active ones of their audience (``audience.py``); a dismissible one leaves the dashboard once
they dismiss it and stays on the list page. Saving one that is active and has ``email`` set
hands it to the mailing (``mailing.py``) at once; a scheduled one is mailed when it starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from builtin_plugins.announcements import mailing
from builtin_plugins.announcements.audience import Viewer, concerns_server
from builtin_plugins.announcements.models import (
    AUDIENCES,
    LEVELS,
    MAINTENANCE,
    NODE,
    PRODUCT,
    WARNING,
    Announcement,
    AnnouncementDismissal,
)
from builtin_plugins.store.api import Product, known_nodes, nodes_of
from kernel import db, record_audit, settings_for
from kernel import now as utcnow

TITLE_MAX, BODY_MAX = 160, 20_000
SEVERITY = {MAINTENANCE: 0, WARNING: 1}  # banners: maintenance first, then warnings, then info


class AnnouncementError(ValueError):
    """Input staff can fix, or a refused action; ``status`` is the HTTP status to answer."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


@dataclass
class AnnouncementInput:
    """What the admin form submits, as text; :func:`validate` turns it into values."""

    title: str = ""
    body: str = ""
    level: str = "info"
    audience: str = "everyone"
    product_ids: list[str] = field(default_factory=list)
    node_ids: list[str] = field(default_factory=list)
    starts_at: str = ""
    ends_at: str = ""
    dismissible: bool = True
    email: bool = False


def parse_time(text: str, label: str) -> datetime | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace(" ", "T")).replace(
            tzinfo=None, second=0, microsecond=0
        )
    except ValueError:
        raise AnnouncementError(
            f"{label}: {text!r} is not a date and time (YYYY-MM-DD HH:MM, UTC)"
        ) from None


def validate(data: AnnouncementInput) -> dict:
    """The column values of a valid announcement, or :class:`AnnouncementError`."""
    title = " ".join((data.title or "").split())
    body = (data.body or "").replace("\r\n", "\n").strip()
    if not title:
        raise AnnouncementError("give the announcement a title")
    if len(title) > TITLE_MAX:
        raise AnnouncementError(f"keep the title under {TITLE_MAX} characters")
    if len(body) > BODY_MAX:
        raise AnnouncementError(f"keep the text under {BODY_MAX} characters")
    if data.level not in LEVELS:
        raise AnnouncementError(f"choose a level: {', '.join(LEVELS)}")
    if data.audience not in AUDIENCES:
        raise AnnouncementError(f"choose an audience: {', '.join(AUDIENCES)}")
    products: list[int] = []
    nodes: list[str] = []
    if data.audience == PRODUCT:
        wanted = {int(i) for i in data.product_ids if str(i).strip().isdigit()}
        products = sorted(db.session.scalars(db.select(Product.id).where(Product.id.in_(wanted))))
        if not products or len(products) != len(set(data.product_ids)):
            raise AnnouncementError("choose at least one product, from the list")
    if data.audience == NODE:
        offered = {n["id"] for n in known_nodes()}
        nodes = sorted({str(i) for i in data.node_ids if str(i).strip()})
        if not nodes or not set(nodes) <= offered:
            raise AnnouncementError(
                "choose at least one node, from the list"
                if offered
                else "no provisioner reports any node yet"
            )
    starts = parse_time(data.starts_at, "start") or utcnow().replace(second=0, microsecond=0)
    ends = parse_time(data.ends_at, "end")
    if ends is not None and ends <= starts:
        raise AnnouncementError("the end must be after the start")
    if data.email and ends is not None and ends <= utcnow():
        raise AnnouncementError("this announcement has ended: there is nothing to email")
    return {
        "title": title,
        "body": body,
        "level": data.level,
        "audience": data.audience,
        "product_ids": products,
        "node_ids": nodes,
        "starts_at": starts,
        "ends_at": ends,
        "dismissible": bool(data.dismissible),
        "email": bool(data.email),
    }


def save(
    data: AnnouncementInput, actor: str, announcement: Announcement | None = None
) -> Announcement:
    values = validate(data)
    created = announcement is None
    if announcement is None:
        announcement = Announcement(created_by=actor, created_at=utcnow())
        db.session.add(announcement)
    elif announcement.emailed_at is not None:
        values["email"] = True  # sent is sent: the flag stays as a record
    for key, value in values.items():
        setattr(announcement, key, value)
    announcement.updated_at = utcnow()
    db.session.flush()
    record_audit(
        "announcements.created" if created else "announcements.changed",
        f"announcement #{announcement.id}",
        {
            "title": announcement.title,
            "audience": announcement.audience,
            "level": announcement.level,
        },
        actor=actor,
        commit=False,
    )
    db.session.commit()
    mailing.dispatch(announcement.id)  # active and to be mailed: queued now, not in a minute
    return announcement


def delete(announcement: Announcement, actor: str) -> None:
    record_audit(
        "announcements.deleted",
        f"announcement #{announcement.id}",
        {"title": announcement.title},
        actor=actor,
        commit=False,
    )
    db.session.delete(announcement)
    db.session.commit()


def state(announcement: Announcement, now: datetime | None = None) -> str:
    now = now or utcnow()
    if announcement.starts_at > now:
        return "scheduled"
    if announcement.ends_at is not None and announcement.ends_at <= now:
        return "ended"
    return "active"


def _active(now: datetime):
    return db.select(Announcement).where(
        Announcement.starts_at <= now,
        (Announcement.ends_at.is_(None)) | (Announcement.ends_at > now),
    )


def _ordered(rows: list[Announcement]) -> list[Announcement]:
    return sorted(rows, key=lambda a: (SEVERITY.get(a.level, 2), -a.starts_at.timestamp(), -a.id))


def dismissed_ids(user_id: int) -> set[int]:
    return set(
        db.session.scalars(
            db.select(AnnouncementDismissal.announcement_id).where(
                AnnouncementDismissal.user_id == user_id
            )
        )
    )


def banners(user) -> list[Announcement]:
    """The active announcements of the user's audience they did not dismiss, most severe
    first: the dashboard banners."""
    viewer, gone = Viewer(user), dismissed_ids(user.id)
    rows = db.session.scalars(_active(utcnow()))
    return _ordered([a for a in rows if viewer.sees(a) and not (a.dismissible and a.id in gone)])


def listing(user) -> tuple[list[Announcement], list[Announcement]]:
    """(active, recently ended) announcements of the user's audience, for the list page."""
    now = utcnow()
    viewer = Viewer(user)
    active = _ordered([a for a in db.session.scalars(_active(now)) if viewer.sees(a)])
    days = max(0, int(settings_for("announcements")["list_days"] or 0))
    ended = db.session.scalars(
        db.select(Announcement)
        .where(Announcement.ends_at <= now, Announcement.ends_at > now - timedelta(days=days))
        .order_by(Announcement.ends_at.desc())
        .limit(50)
    )
    return active, [a for a in ended if viewer.sees(a)]


def for_server(service) -> list[Announcement]:
    """Active announcements aimed at this server's product or node (its page's notices)."""
    rows = [a for a in db.session.scalars(_active(utcnow())) if a.audience in (PRODUCT, NODE)]
    if not rows:
        return []
    node = nodes_of([service]).get(service.id) if any(a.audience == NODE for a in rows) else None
    return _ordered([a for a in rows if concerns_server(a, service, node)])


def dismiss(announcement_id: int, user) -> None:
    """Remember that ``user`` closed this banner; 404 unless they can see it now."""
    announcement = db.session.get(Announcement, announcement_id)
    if (
        announcement is None
        or state(announcement) != "active"
        or not Viewer(user).sees(announcement)
    ):
        raise AnnouncementError("announcement not found", 404)
    if not announcement.dismissible:
        raise AnnouncementError("this announcement cannot be dismissed", 409)
    if db.session.get(AnnouncementDismissal, (announcement.id, user.id)) is None:
        db.session.add(
            AnnouncementDismissal(
                announcement_id=announcement.id, user_id=user.id, dismissed_at=utcnow()
            )
        )
        db.session.commit()
