"""Impersonation: a staff member sees the client area as one customer, and comes back.

Rules (one place): the staff member holds ``admin.impersonate`` and may manage the account
(:func:`kernel.accounts.staff_actions.check_may_manage`); the target is a customer, never staff
(an account with ``admin.access``, whatever its role), not blocked, not erased, not oneself.
Starting and ending are audited under the staff member's address, with the customer as target.

How: the staff member's own login session stays open, its cookie identity is kept in the
(signed) session under ``IMPERSONATOR``, and a new login session is opened for the customer
(no ``user_logged_in`` hook, no last-login stamp: the customer did not log in). Ending closes
the customer's session and restores the staff member's, if it is still valid (not logged out
elsewhere, password unchanged, not blocked); otherwise the browser is simply logged out.
While it lasts, every client-area page shows a banner with the way back (``banner``).
"""

from __future__ import annotations

from flask import session
from flask_login import current_user, login_user

from kernel import audit
from kernel.accounts import sessions
from kernel.accounts.login_flow import AUTHENTICATED_AT
from kernel.accounts.models import User
from kernel.accounts.services import AccountError
from kernel.accounts.staff_actions import check_may_manage

IMPERSONATOR = "pteroca_impersonator"
PERMISSION = "admin.impersonate"


def check_may_impersonate(actor, user: User) -> None:
    """Raise AccountError with the reason when ``actor`` may not impersonate ``user``."""
    if not actor.has_permission(PERMISSION):
        raise AccountError("you do not have the permission to sign in as a customer")
    if actor.id == user.id:
        raise AccountError("you are already signed in as yourself")
    if user.has_permission("admin.access"):
        raise AccountError("staff accounts cannot be impersonated")
    if user.is_blocked:
        raise AccountError("the account is blocked")
    check_may_manage(actor, user)


def active() -> dict | None:
    """``{"identity", "email", "target", "target_id"}`` while this browser impersonates.

    Only while the signed-in user is still the impersonated customer: after a logout and
    another login in the same browser, a leftover record gives nobody a way into staff's
    account.
    """
    found = session.get(IMPERSONATOR)
    if not (isinstance(found, dict) and found.get("identity")):
        return None
    if not current_user.is_authenticated or current_user.id != found.get("target_id"):
        return None
    return found


def start(actor, user: User) -> None:
    """Sign this browser in as ``user`` on behalf of ``actor`` (the current staff member)."""
    check_may_impersonate(actor, user)
    if active():
        raise AccountError("you are already impersonating someone: go back first")
    identity, staff_email = actor.get_id(), actor.email  # ``actor`` may be current_user's proxy
    audit.record("user.impersonation_started", user.email, {"by": staff_email}, actor=staff_email)
    sessions.log_in(user)
    # the staff member's proof of a recent login must not unlock the customer's dangerous actions
    session.pop(AUTHENTICATED_AT, None)
    session[IMPERSONATOR] = {
        "identity": identity,
        "email": staff_email,
        "target": user.email,
        "target_id": user.id,
    }


def stop() -> User | None:
    """End the impersonation: the staff member again (returned), or None when their own session
    has ended meanwhile (the browser is then logged out)."""
    found = active()
    if found is None:
        raise AccountError("you are not impersonating anyone")
    target = current_user.email if current_user.is_authenticated else found.get("target", "")
    session.pop(IMPERSONATOR, None)
    sessions.log_out()
    staff = sessions.load(found["identity"])
    audit.record(
        "user.impersonation_ended",
        target,
        {"by": found.get("email", "")},
        actor=found.get("email", ""),
    )
    if staff is None or not staff.is_active:
        return None
    login_user(staff)
    return staff
