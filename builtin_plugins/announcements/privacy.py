"""The announcements plugin's answers to the kernel's privacy hooks (docs/announcements.md).

Per account the plugin keeps two kinds of rows, both keyed by user id: the banners it
dismissed (``announcements_dismissal``) and the announcements emailed to it
(``announcements_delivery``). The export lists both with the announcement's title; the
erasure deletes both (an erased account is blocked, so no announcement is mailed to it
again). An announcement a staff member wrote names them by address (``created_by``): the
export lists those announcements, the erasure replaces the address; the text of the
announcement is the site's, not theirs, and stays.
"""

from __future__ import annotations

from builtin_plugins.announcements.models import (
    Announcement,
    AnnouncementDelivery,
    AnnouncementDismissal,
)
from kernel import db

ERASED_AUTHOR = "(erased)"


def export(user) -> dict:
    dismissed = db.session.execute(
        db.select(Announcement.id, Announcement.title, AnnouncementDismissal.dismissed_at)
        .join(AnnouncementDismissal, AnnouncementDismissal.announcement_id == Announcement.id)
        .where(AnnouncementDismissal.user_id == user.id)
        .order_by(Announcement.id)
    ).all()
    emailed = db.session.execute(
        db.select(Announcement.id, Announcement.title, AnnouncementDelivery.sent_at)
        .join(AnnouncementDelivery, AnnouncementDelivery.announcement_id == Announcement.id)
        .where(AnnouncementDelivery.user_id == user.id)
        .order_by(Announcement.id)
    ).all()
    data: dict = {
        "dismissed": [
            {"announcement": i, "title": t, "dismissed_at": at} for i, t, at in dismissed
        ],
        "emailed": [{"announcement": i, "title": t, "sent_at": at} for i, t, at in emailed],
    }
    written = _written_by(user)
    if written:
        data["written"] = [
            {"announcement": a.id, "title": a.title, "created_at": a.created_at} for a in written
        ]
    return data


def _written_by(user) -> list[Announcement]:
    if not user.email:
        return []
    return list(
        db.session.scalars(
            db.select(Announcement)
            .where(db.func.lower(Announcement.created_by) == user.email.lower())
            .order_by(Announcement.id)
        )
    )


def erase(user) -> None:
    db.session.execute(
        db.delete(AnnouncementDismissal).where(AnnouncementDismissal.user_id == user.id)
    )
    db.session.execute(
        db.delete(AnnouncementDelivery).where(AnnouncementDelivery.user_id == user.id)
    )
    for announcement in _written_by(user):
        announcement.created_by = ERASED_AUTHOR
    db.session.commit()
