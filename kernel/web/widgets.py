"""The kernel's own dashboard widgets: verification banner, message of the day, recent activity."""

from __future__ import annotations

from flask import render_template
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from kernel import site_settings
from kernel.extensions import db
from kernel.models import AuditLog

RECENT_ACTIVITY = 8

# Audit actions a customer understands, in their words; others show their code.
ACTION_LABELS = {
    "user.login": _l("Logged in"),
    "user.logout": _l("Logged out"),
    "user.login_failed": _l("Failed login attempt"),
    "user.login_refused": _l("Login refused"),
    "user.created": _l("Account created"),
    "user.registered": _l("Registered"),
    "user.email_verified": _l("Email address confirmed"),
    "user.verification_sent": _l("Confirmation email sent"),
    "user.password_changed": _l("Password changed"),
    "user.password_reset_requested": _l("Password reset requested"),
    "user.password_reset": _l("Password reset"),
    "user.email_change_requested": _l("Email change requested"),
    "user.email_change_cancelled": _l("Email change cancelled"),
    "user.email_changed": _l("Email address changed"),
    "user.profile_updated": _l("Profile updated"),
    "user.2fa_enabled": _l("Two-factor authentication switched on"),
    "user.2fa_disabled": _l("Two-factor authentication switched off"),
    "user.2fa_failed": _l("Wrong two-factor code"),
    "user.2fa_recovery_code_used": _l("Recovery code used"),
    "user.2fa_recovery_codes_renewed": _l("New recovery codes created"),
}


def recent_activity(user, limit: int = RECENT_ACTIVITY) -> list[AuditLog]:
    """The user's own audit entries (done by them or to their account), newest first."""
    query = (db.select(AuditLog)
             .where((AuditLog.actor == user.email) | (AuditLog.target == user.email))
             .order_by(AuditLog.id.desc()).limit(limit))
    return list(db.session.scalars(query))


def account_widgets(user) -> list[dict]:
    from kernel.accounts.links import verification_mode

    widgets = []
    if not user.is_verified and verification_mode() != "disabled":
        banner = render_template("panel/widgets/verify_banner.html",
                                 required=verification_mode() == "required")
        widgets.append({"title": _l("Confirm your email address"), "order": 1, "width": 2,
                        "html": Markup(banner)})
    motd = (site_settings.get("motd") or "").strip()
    if motd:
        widgets.append({"title": _l("Message of the day"), "order": 5, "width": 2,
                        "html": Markup(render_template("panel/widgets/motd.html", motd=motd))})
    entries = recent_activity(user)
    widgets.append({"title": _l("Recent activity"), "order": 200, "width": 1,
                    "html": Markup(render_template("panel/widgets/activity.html", entries=entries,
                                                   labels=ACTION_LABELS))})
    return widgets
