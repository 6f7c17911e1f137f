"""Completing a login, whatever proved who the user is: one path for every login method.

The password form and a plugin's login method (oauth_login's "Log in with Discord") both end
here once they know *which account* is logging in, so the same rules apply to all of them:
a blocked or erased account and a ``veto_login`` refusal stop the login
(:func:`kernel.accounts.services.check_login_allowed`), an account with two-factor
authentication goes through the second-factor page, and only then is the session opened,
the login recorded and ``user_logged_in`` fired. Plugins reach it through the public API as
``kernel.complete_login``.

It lives here (not in a view) because it is a rule of the accounts; it uses the session
because a login *is* a change of the session.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask import redirect, session, url_for
from werkzeug.wrappers import Response

from kernel import clock
from kernel.accounts import sessions
from kernel.accounts.models import User
from kernel.accounts.services import check_login_allowed, record_login

PENDING_2FA = "pending_2fa"  # session key: a login waiting for its second factor
AUTHENTICATED_AT = "pteroca_auth_at"  # session key: when this session last proved its owner


# Whitespace, controls and backslashes: browsers drop or rewrite them ("/\\evil.com" and
# "/\t/evil.com" become "//evil.com"), and a line break cannot go into a Location header.
_UNSAFE_IN_NEXT = re.compile(r"[\x00-\x20\x7f-\x9f\\\u2028\u2029]")


def safe_next(target: str | None) -> str:
    """``target`` when it is a path on this site, else the dashboard (no open redirects)."""
    if (
        isinstance(target, str)
        and target.startswith("/")
        and not target.startswith("//")
        and not _UNSAFE_IN_NEXT.search(target)
    ):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("web.dashboard")


def complete_login(
    user: User, *, method: str = "password", remember: bool = False, next_url: str | None = None
) -> Response:
    """Log ``user`` in by ``method`` (``"password"``, ``"oauth:discord"``, ...): the redirect to
    send the browser. Raises AccountError (the message is shown as is) when the account is
    blocked or a ``veto_login`` refuses; sends accounts with 2FA to the second-factor page."""
    check_login_allowed(user, method=method)
    if user.has_2fa:
        session[PENDING_2FA] = {
            "uid": user.id,
            "v": user.token_version or 0,
            "remember": remember,
            "next": next_url,
            "at": clock.now().timestamp(),
            "method": method,
        }
        return redirect(url_for("web.login_2fa"))
    finish_login(user, method=method, remember=remember)
    return redirect(safe_next(next_url))


def finish_login(user: User, *, method: str, remember: bool = False) -> None:
    """Open the session of a login whose every step passed, and record it."""
    session.pop(PENDING_2FA, None)
    sessions.log_in(user, remember=remember)  # a login session on the server (logout ends it)
    session[AUTHENTICATED_AT] = clock.now().timestamp()
    record_login(user, method=method)


def authenticated_within(seconds: float) -> bool:
    """True when this session logged in (all factors) less than ``seconds`` ago: the proof of
    presence asked before dangerous actions of accounts that have no password."""
    stamp = session.get(AUTHENTICATED_AT)
    return isinstance(stamp, (int, float)) and 0 <= clock.now().timestamp() - stamp < seconds
