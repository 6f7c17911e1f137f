"""What staff do to a customer's account from the admin's user page, audited under their name.

Every action first checks :func:`check_may_manage`: staff act only on accounts whose role holds
no permission they lack themselves (support cannot reset an admin's second factor), the same
rule as granting roles (:func:`kernel.accounts.permissions.can_grant`).
"""

from __future__ import annotations

from kernel import audit
from kernel.accounts import links
from kernel.accounts.models import RecoveryCode, User
from kernel.accounts.permissions import can_grant
from kernel.accounts.services import AccountError
from kernel.clock import now as utcnow
from kernel.extensions import db


def check_may_manage(actor, user: User) -> None:
    """Raise AccountError unless ``actor`` may act on ``user``'s account."""
    if not can_grant(actor, user.role.permissions if user.role else []):
        raise AccountError(
            "you cannot act on an account whose role has permissions you do not hold"
        )
    if user.is_erased:
        raise AccountError("this account's personal data was erased")


def reset_two_factor(actor, user: User) -> None:
    """Switch off ``user``'s second factor (lost phone and recovery codes): the next login asks
    for the password only; a role that requires 2FA sends them to set it up again. Ends the
    user's sessions, as any change to how they log in does."""
    check_may_manage(actor, user)
    if not user.has_2fa:
        raise AccountError("two-factor authentication is already off for this account")
    user.totp_secret, user.totp_enabled_at, user.totp_last_counter = "", None, None
    user.token_version = (user.token_version or 0) + 1
    db.session.execute(db.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    audit.record("user.2fa_reset", user.email, {"by": actor.email}, actor=actor.email, commit=False)
    db.session.commit()


def send_password_reset(actor, user: User) -> None:
    """Email ``user`` a password-reset link (the same link and mail as "forgot password")."""
    check_may_manage(actor, user)
    if user.is_blocked:
        raise AccountError("the account is blocked: unblock it before sending a reset link")
    links.request_password_reset(user.email)
    audit.record("user.password_reset_sent", user.email, {"by": actor.email}, actor=actor.email)


def mark_verified(actor, user: User) -> None:
    """Record ``user``'s address as verified (staff confirmed it another way)."""
    check_may_manage(actor, user)
    if user.is_verified:
        raise AccountError("the address is already verified")
    user.email_verified_at = utcnow()
    audit.record(
        "user.verified_by_staff", user.email, {"by": actor.email}, actor=actor.email, commit=False
    )
    db.session.commit()
