"""The state of an account's privacy requests, as plain data for its account page."""

from __future__ import annotations

from kernel.accounts.models import User
from kernel.privacy import erasure, export
from kernel.privacy.models import READY


def summary(user: User) -> dict:
    last = export.latest(user)
    pending = erasure.open_request(user)
    return {
        "export_status": last.status if last else "",
        "export_expires": f"{last.expires_at:%Y-%m-%d %H:%M} UTC"
        if last and last.status == READY and last.expires_at
        else "",
        "deletion_due": f"{pending.due_at:%Y-%m-%d %H:%M} UTC" if pending else "",
        "deletion_status": pending.status if pending else "",
        "grace_days": erasure.grace_days(),
        "link_hours": export.link_hours(),
    }
