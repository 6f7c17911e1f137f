"""Login sessions kept on the server, so that logging out really ends a session.

Sessions are signed cookies (no sticky sessions across machines), and a signed cookie stays
valid wherever it was copied to. So each login starts a ``login_session`` row: the cookie
carries a random token (inside Flask-Login's user id, ``"<id>:<token version>:<token>"``,
which the remember-me cookie repeats) and the row its SHA-256. Every request loads the user
through the row, in one query; logging out, a block or a password reset end it.

A session lasts at most ``REMEMBER_COOKIE_DURATION`` (Flask-Login's, 365 days unless set);
the ``kernel.prune_login_sessions`` cron task deletes rows ended or older than that.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app
from flask_login import current_user, login_user, logout_user
from sqlalchemy import bindparam, delete, select, update

from kernel import clock
from kernel.accounts.models import LoginSession, User
from kernel.extensions import db

DEFAULT_LIFETIME = timedelta(days=365)  # Flask-Login's REMEMBER_COOKIE_DURATION default


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def lifetime() -> timedelta:
    value = current_app.config.get("REMEMBER_COOKIE_DURATION") or DEFAULT_LIFETIME
    return value if isinstance(value, timedelta) else timedelta(seconds=int(value))


def log_in(user: User, *, remember: bool = False) -> None:
    """Start a login session for ``user`` and sign the browser in with it."""
    token = secrets.token_urlsafe(32)
    db.session.add(LoginSession(id=_digest(token), user_id=user.id, created_at=clock.now()))
    db.session.commit()
    user.session_token = token
    login_user(user, remember=remember)


def log_out() -> None:
    """End the current login session (every copy of its cookie) and sign the browser out."""
    user = current_user._get_current_object()
    token = getattr(user, "session_token", None)
    if token:
        db.session.execute(
            update(LoginSession)
            .where(LoginSession.id == _digest(token))
            .values(ended_at=clock.now())
        )
        db.session.commit()
    logout_user()


# Built once: every request runs it, and a statement built per call is compiled into
# SQLAlchemy's cache key again each time.
_OPEN_SESSION_USER = (
    select(User)
    .join(LoginSession, LoginSession.user_id == User.id)
    .where(
        User.id == bindparam("user_id"),
        LoginSession.id == bindparam("digest"),
        LoginSession.ended_at.is_(None),
        LoginSession.created_at > bindparam("since"),
    )
)


def load(user_id: str) -> User | None:
    """Flask-Login's loader: ``"<id>:<token version>:<token>"`` of a session still open."""
    ident, version, token = (str(user_id).split(":") + ["", ""])[:3]
    if not ident.isdigit() or not token or len(ident) > 18:
        return None  # a cookie from before login sessions, or not ours: log in again
    user = db.session.scalar(
        _OPEN_SESSION_USER,
        {"user_id": int(ident), "digest": _digest(token), "since": clock.now() - lifetime()},
    )
    if user is None or str(user.token_version or 0) != (version or "0"):
        return None
    user.session_token = token
    return user


def prune() -> int:
    """Cron task: delete ended and expired sessions; returns how many."""
    cutoff = clock.now() - lifetime()
    result = db.session.execute(
        delete(LoginSession).where(
            (LoginSession.ended_at.is_not(None)) | (LoginSession.created_at <= cutoff)
        )
    )
    db.session.commit()
    return result.rowcount or 0
