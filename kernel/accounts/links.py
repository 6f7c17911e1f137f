"""Flows driven by emailed links: email verification, email change, password reset."""

from __future__ import annotations

from contextlib import nullcontext

from flask import current_app, url_for
from flask_babel import force_locale
from flask_babel import gettext as _

from kernel import audit, clock, site_settings
from kernel.accounts import tokens
from kernel.accounts.models import User
from kernel.accounts.services import (
    AccountError,
    email_taken,
    find_user,
    set_password,
    valid_email,
    verify_password,
)
from kernel.extensions import db
from kernel.hooks import call_hook
from kernel.mail import send_email


def verification_mode() -> str:
    """``disabled``, ``optional`` or ``required`` (the ``email_verification`` setting)."""
    return site_settings.get("email_verification") or "optional"


def must_verify(user: User) -> bool:
    """True when ``user`` may not use actions gated by ``kernel.accounts.verification``."""
    return verification_mode() == "required" and not user.is_verified


def _language(user: User):
    """Write to ``user`` in their chosen language (else the current request's)."""
    return force_locale(user.language) if user.language else nullcontext()


def _link(endpoint: str, token: str) -> str:
    # From BASE_URL, never the request's Host header: a forged Host must not redirect reset links.
    base = str(current_app.config.get("BASE_URL") or "").rstrip("/")
    return base + url_for(endpoint, token=token)


# --- verification -------------------------------------------------------------------


def send_verification(user: User) -> None:
    if user.is_verified:
        return
    token = tokens.make_token("verify", user, e=user.email)
    with _language(user):
        send_email(
            user.email,
            _("Confirm your email address"),
            "verify_email",
            user=user,
            link=_link("web.verify_email", token),
            hours=tokens.max_age("verify") // 3600,
        )
    audit.record("user.verification_sent", user.email)


def verify_email(token: str) -> User:
    user, claims = tokens.read_token("verify", token)
    if claims.get("e") != user.email:
        raise tokens.TokenError(_("This link was for another email address."))
    if not user.is_verified:
        user.email_verified_at = clock.now()
        db.session.commit()
        audit.record("user.email_verified", user.email, actor=user.email)
    return user


# --- email change --------------------------------------------------------------------


def request_email_change(user: User, new_email: str, password: str) -> None:
    """Remember ``new_email`` as pending and send it a confirmation link."""
    if not verify_password(user, password):
        raise AccountError(_("Your current password is not correct."))
    new_email = valid_email(new_email)
    if new_email == user.email:
        raise AccountError(_("That is already your email address."))
    if email_taken(new_email, exclude=user):
        raise AccountError(_("Another account already uses %(email)s.", email=new_email))
    user.pending_email = new_email
    db.session.commit()
    audit.record(
        "user.email_change_requested", user.email, {"new_email": new_email}, actor=user.email
    )
    token = tokens.make_token("email_change", user, e=new_email)
    with _language(user):
        send_email(
            new_email,
            _("Confirm your new email address"),
            "email_change",
            user=user,
            new_email=new_email,
            link=_link("web.confirm_email_change", token),
            hours=tokens.max_age("email_change") // 3600,
        )


def cancel_email_change(user: User) -> None:
    if user.pending_email:
        audit.record(
            "user.email_change_cancelled",
            user.email,
            {"new_email": user.pending_email},
            actor=user.email,
            commit=False,
        )
        user.pending_email = None
        db.session.commit()


def confirm_email_change(token: str) -> User:
    user, claims = tokens.read_token("email_change", token)
    new_email = claims.get("e")
    if not new_email or user.pending_email != new_email:
        raise tokens.TokenError(
            _(
                "This link is no longer valid: the change was completed, "
                "cancelled or replaced by a newer one."
            )
        )
    if email_taken(new_email, exclude=user):
        raise tokens.TokenError(_("Another account already uses %(email)s.", email=new_email))
    old = user.email
    user.email, user.pending_email, user.email_verified_at = new_email, None, clock.now()
    db.session.commit()
    audit.record("user.email_changed", new_email, {"old_email": old}, actor=new_email)
    with _language(user):
        send_email(
            old,
            _("Your email address was changed"),
            "email_changed",
            user=user,
            old_email=old,
            new_email=new_email,
        )
    call_hook("user_updated", user=user, changes={"email": (old, new_email)})
    return user


# --- password reset ------------------------------------------------------------------


def request_password_reset(email: str) -> None:
    """Email a one-time reset link when an account exists; say nothing either way."""
    user = find_user(email)
    if user is None or user.is_blocked:
        audit.record("user.password_reset_unknown", (email or "").strip().lower()[:255])
        return
    token = tokens.make_token("reset", user, v=user.token_version or 0)
    with _language(user):
        send_email(
            user.email,
            _("Reset your password"),
            "password_reset",
            user=user,
            link=_link("web.reset_password", token),
            minutes=tokens.max_age("reset") // 60,
        )
    audit.record("user.password_reset_requested", user.email)


def check_reset_token(token: str) -> User:
    user, claims = tokens.read_token("reset", token)
    if claims.get("v") != (user.token_version or 0):
        raise tokens.TokenError(
            _(
                "This link was already used, or your password changed since "
                "it was sent. Ask for a new one."
            )
        )
    if user.is_blocked:
        raise tokens.TokenError(_("This account is blocked; contact support."))
    return user


def reset_password(token: str, password: str) -> User:
    user = check_reset_token(token)
    set_password(user, password, action="user.password_reset")
    if not user.is_verified:  # the link reached the inbox: the address works
        user.email_verified_at = clock.now()
        db.session.commit()
    return user
