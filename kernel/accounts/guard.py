"""Per-request account rules: session loading, blocked users, role-enforced 2FA."""

from __future__ import annotations

from flask import Flask, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user

from kernel.accounts.models import User
from kernel.extensions import db

# Endpoints a user who must still set up 2FA can reach.
SETUP_ENDPOINTS = frozenset({
    "web.account_2fa", "web.logout", "web.theme_static", "web.plugin_static", "web.health",
    "web.favicon", "static",
})


def load_user(user_id: str) -> User | None:
    """Flask-Login loader: ``"<id>:<token_version>"``; a password change ends old sessions."""
    ident, _sep, version = str(user_id).partition(":")
    try:
        user = db.session.get(User, int(ident))
    except ValueError:
        return None
    if user is None or str(user.token_version or 0) != (version or "0"):
        return None
    return user


def _enforce() -> object | None:
    user = current_user._get_current_object()
    if not isinstance(user, User):
        return None
    if user.is_blocked:
        from kernel import audit

        audit.record("user.session_ended", user.email, {"reason": "blocked"}, actor=user.email)
        logout_user()
        flash(_("Your account has been blocked, so you were logged out. Contact support if "
                "you think this is a mistake."), "error")
        return redirect(url_for("web.login"))
    if not user.has_2fa and request.endpoint not in SETUP_ENDPOINTS:
        from kernel.accounts.services import requires_2fa

        if requires_2fa(user):
            flash(_("Your role requires two-factor authentication. Set it up to continue."),
                  "warning")
            return redirect(url_for("web.account_2fa"))
    return None


def init_guard(app: Flask) -> None:
    app.before_request(_enforce)
