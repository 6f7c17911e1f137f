"""The kernel's own dashboard widgets: verification banner, message of the day, recent activity."""

from __future__ import annotations

from flask import render_template
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import bindparam

from kernel import site_settings
from kernel.extensions import db
from kernel.models import AuditLog

RECENT_ACTIVITY = 8


# Built once (every dashboard runs it): a statement built per call is turned into
# SQLAlchemy's cache key again each time, which cost more than running it.
_RECENT = (
    db.select(AuditLog)
    .where((AuditLog.actor == bindparam("email")) | (AuditLog.target == bindparam("email")))
    .order_by(AuditLog.id.desc())
    .limit(RECENT_ACTIVITY)
)


def recent_activity(user, limit: int = RECENT_ACTIVITY) -> list[AuditLog]:
    """The user's own audit entries (done by them or to their account), newest first."""
    query = _RECENT if limit == RECENT_ACTIVITY else _RECENT.limit(limit)
    return list(db.session.scalars(query, {"email": user.email}))


def account_widgets(user) -> list[dict]:
    from kernel.accounts.links import verification_mode

    widgets = []
    if not user.is_verified and verification_mode() != "disabled":
        banner = render_template(
            "panel/widgets/verify_banner.html", required=verification_mode() == "required"
        )
        widgets.append(
            {
                "title": _l("Confirm your email address"),
                "order": 1,
                "width": 2,
                "html": Markup(banner),
            }
        )
    motd = (site_settings.get("motd") or "").strip()
    if motd:
        widgets.append(
            {
                "title": _l("Message of the day"),
                "order": 5,
                "width": 2,
                "html": Markup(render_template("panel/widgets/motd.html", motd=motd)),
            }
        )
    entries = recent_activity(user)
    widgets.append(
        {
            "title": _l("Recent activity"),
            "order": 200,
            "width": 1,
            "html": Markup(render_template("panel/widgets/activity.html", entries=entries)),
        }
    )
    return widgets
