"""Account operations shared by the CLI, views and tests."""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

from kernel import audit
from kernel.accounts.models import Role, User
from kernel.extensions import db

MIN_PASSWORD = 8
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_hasher = PasswordHasher()


class AccountError(ValueError):
    """A user-correctable problem with account data; the message is shown as is."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(user: User, password: str) -> bool:
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def normalise_email(email: str) -> str:
    return email.strip().lower()


def create_user(email: str, password: str, *, name: str = "", role: str = "customer",
                actor: str | None = None) -> User:
    """Create an account after validation and the ``veto_registration`` hook."""
    email = normalise_email(email)
    if not EMAIL_RE.match(email):
        raise AccountError(f"{email!r} is not a valid email address")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password must be at least {MIN_PASSWORD} characters")
    if db.session.get(Role, role) is None:
        roles = ", ".join(db.session.scalars(db.select(Role.name).order_by(Role.name)))
        raise AccountError(f"no role named {role!r} (roles: {roles})")
    if db.session.scalar(db.select(User).where(User.email == email)):
        raise AccountError(f"an account with {email} already exists")
    pm = current_app.extensions["pteroca"].pm
    reason = pm.hook.veto_registration(email=email, name=name)
    if reason:
        raise AccountError(str(reason))
    user = User(email=email, name=name or email.split("@")[0], role_name=role,
                password_hash=hash_password(password))
    db.session.add(user)
    db.session.commit()
    audit.record("user.created", email, {"role": role}, actor=actor)
    pm.hook.user_registered(user=user)
    return user


def authenticate(email: str, password: str) -> User:
    """Return the user for valid credentials, or raise AccountError with a safe message."""
    user = db.session.scalar(db.select(User).where(User.email == normalise_email(email)))
    if user is None or not verify_password(user, password):
        audit.record("user.login_failed", normalise_email(email))
        raise AccountError("wrong email or password")
    if user.is_blocked:
        raise AccountError("this account is blocked; contact support")
    reason = current_app.extensions["pteroca"].pm.hook.veto_login(user=user)
    if reason:
        raise AccountError(str(reason))
    return user
