"""Emailing an announcement to its audience: once, in batches, through the job queue.

When an announcement with ``email`` set is active (saved while active, or reached its start:
the ``announcements.mail`` cron task looks every minute), one runner claims it with a guarded
``UPDATE ... WHERE emailed_at IS NULL`` and queues one job per ``mail_batch`` recipients.
Each job records a delivery per user before sending, so a job that runs twice, or two
runners, never mail anyone twice.
"""

from __future__ import annotations

from flask import current_app

from builtin_plugins.announcements.audience import recipients
from builtin_plugins.announcements.models import Announcement, AnnouncementDelivery
from kernel import User, db, enqueue, job, record_audit, send_email, settings_for
from kernel import now as utcnow

LIST_PATH = "/announcements/"


def batch_size() -> int:
    return min(max(int(settings_for("announcements")["mail_batch"] or 1), 1), 1000)


def _claim(announcement_id: int) -> bool:
    now = utcnow()
    table = Announcement.__table__
    result = db.session.execute(
        table.update()
        .where(
            table.c.id == announcement_id,
            table.c.email.is_(True),
            table.c.emailed_at.is_(None),
            table.c.starts_at <= now,
            (table.c.ends_at.is_(None)) | (table.c.ends_at > now),
        )
        .values(emailed_at=now)
    )
    db.session.commit()
    return result.rowcount == 1


def dispatch(announcement_id: int) -> int:
    """Queue the emails of an announcement if it is due and not sent; how many recipients."""
    if not _claim(announcement_id):
        return 0
    announcement = db.session.get(Announcement, announcement_id)
    users = recipients(announcement)
    size = batch_size()
    record_audit(
        "announcements.emailed",
        f"announcement #{announcement_id}",
        {"recipients": len(users), "jobs": -(-len(users) // size)},
        actor="system",
    )
    for start in range(0, len(users), size):
        enqueue(send_batch, announcement_id, users[start : start + size])
    return len(users)


def dispatch_due() -> int:
    """Cron: mail every active announcement that waits for its email; how many recipients."""
    now = utcnow()
    due = db.session.scalars(
        db.select(Announcement.id).where(
            Announcement.email.is_(True),
            Announcement.emailed_at.is_(None),
            Announcement.starts_at <= now,
            (Announcement.ends_at.is_(None)) | (Announcement.ends_at > now),
        )
    ).all()
    return sum(dispatch(announcement_id) for announcement_id in due)


@job(queue="mail")
def send_batch(announcement_id: int, user_ids: list[int]) -> int:
    """Job: email the announcement to these users (each once); how many were sent now."""
    announcement = db.session.get(Announcement, announcement_id)
    if announcement is None:
        return 0
    done = set(
        db.session.scalars(
            db.select(AnnouncementDelivery.user_id).where(
                AnnouncementDelivery.announcement_id == announcement_id,
                AnnouncementDelivery.user_id.in_(user_ids),
            )
        )
    )
    users = db.session.scalars(
        db.select(User).where(User.id.in_(set(user_ids) - done), User.is_blocked.is_(False))
    ).all()
    link = str(current_app.config.get("BASE_URL", "")).rstrip("/") + LIST_PATH
    for user in users:
        db.session.add(
            AnnouncementDelivery(announcement_id=announcement_id, user_id=user.id, sent_at=utcnow())
        )
        send_email(
            user.email,
            f"[{announcement.level}] {announcement.title}",
            "announcements/announcement",
            name=user.name or user.email,
            title=announcement.title,
            body=announcement.body,
            level=announcement.level,
            link=link,
            commit=False,
        )
    db.session.commit()
    return len(users)
