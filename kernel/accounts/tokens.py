"""Signed, expiring tokens for emailed links: password reset, email verification, email change.

A token carries the user id and what must still be true when it is used: the
reset token the user's ``token_version`` (bumped by every password change, so a
used or superseded link stops working), the verification and email-change tokens
the address they confirm. Nothing is stored server-side.
"""

from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from kernel.accounts.models import User
from kernel.extensions import db

# purpose -> (salt, default lifetime in seconds, config key that overrides it)
PURPOSES = {
    "reset": ("pteroca-password-reset", 3600, "RESET_TOKEN_MAX_AGE"),
    "verify": ("pteroca-verify-email", 3 * 86400, "VERIFY_TOKEN_MAX_AGE"),
    "email_change": ("pteroca-email-change", 86400, "EMAIL_CHANGE_TOKEN_MAX_AGE"),
}


class TokenError(ValueError):
    """The link is invalid, expired or already used; the message is shown as is."""


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=PURPOSES[purpose][0])


def max_age(purpose: str) -> int:
    _salt, default, key = PURPOSES[purpose]
    return int(current_app.config.get(key, default))


def make_token(purpose: str, user: User, **claims) -> str:
    return _serializer(purpose).dumps({"u": user.id, **claims})


def read_token(purpose: str, token: str) -> tuple[User, dict]:
    """Return the user and the claims of a valid token, or raise TokenError."""
    from flask_babel import gettext as _

    try:
        data = _serializer(purpose).loads(token, max_age=max_age(purpose))
    except SignatureExpired:
        raise TokenError(_("This link has expired. Ask for a new one.")) from None
    except BadSignature:
        raise TokenError(_("This link is not valid. Check that you copied all of it.")) from None
    user = db.session.get(User, data.get("u")) if isinstance(data, dict) else None
    if user is None:
        raise TokenError(_("This link is not valid. Check that you copied all of it."))
    return user, data
