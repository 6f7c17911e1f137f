"""Per-request account rules: blocked users, role-enforced 2FA (sessions: ``sessions.py``)."""

from __future__ import annotations

from flask import Flask, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from kernel.accounts.models import User
from kernel.accounts.sessions import log_out

# Endpoints a user who must still set up 2FA can reach.
SETUP_ENDPOINTS = frozenset(
    {
        "web.account_2fa",
        "web.logout",
        "web.theme_static",
        "web.plugin_static",
        "web.health",
        "web.favicon",
        "static",
    }
)


def _enforce() -> object | None:
    if request.path.startswith("/api/"):
        return None  # the API's tokens have their own rules (kernel/rest/auth.py)
    user = current_user._get_current_object()
    if not isinstance(user, User):
        return None
    if user.is_blocked:
        from kernel import audit

        audit.record("user.session_ended", user.email, {"reason": "blocked"}, actor=user.email)
        log_out()
        flash(
            _(
                "Your account has been blocked, so you were logged out. Contact support if "
                "you think this is a mistake."
            ),
            "error",
        )
        return redirect(url_for("web.login"))
    if not user.has_2fa and request.endpoint not in SETUP_ENDPOINTS:
        from kernel.accounts.services import requires_2fa

        if requires_2fa(user):
            flash(
                _("Your role requires two-factor authentication. Set it up to continue."), "warning"
            )
            return redirect(url_for("web.account_2fa"))
    return None


def init_guard(app: Flask) -> None:
    app.before_request(_enforce)
