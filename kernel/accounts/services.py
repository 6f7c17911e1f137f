"""Account operations shared by the CLI, views and tests (no request objects here)."""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import gettext as _

from kernel import audit, clock, site_settings
from kernel.accounts.models import ERASED_DOMAIN, LANGUAGES, Role, User
from kernel.extensions import db
from kernel.hooks import call_hook, call_veto
from kernel.inputs import InputError, check_text, single_line

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_NAME = 255


class _Hasher:
    """argon2 with the library's defaults, or cheap parameters when ``PASSWORD_HASH_FAST`` is set
    (test suites only: it is refused outside TESTING)."""

    _default = PasswordHasher()
    _fast = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)

    def _pick(self) -> PasswordHasher:
        from flask import current_app, has_app_context

        fast = has_app_context() and current_app.config.get("PASSWORD_HASH_FAST")
        if fast and current_app.testing:
            return self._fast
        return self._default

    def hash(self, password: str) -> str:
        return self._pick().hash(password)

    def verify(self, hashed: str, password: str) -> bool:
        # verify reads the parameters from the hash itself, so either hasher checks both kinds
        return self._default.verify(hashed, password)


_hasher = _Hasher()


class AccountError(ValueError):
    """A user-correctable problem with account data; the message is shown as is."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


_DUMMY_HASH: list[str] = []


def _spend_hash_time(password: str) -> None:
    if not _DUMMY_HASH:
        _DUMMY_HASH.append(_hasher.hash("pteroca-dummy-password"))
    try:
        _hasher.verify(_DUMMY_HASH[0], password)
    except (VerificationError, InvalidHashError):
        pass


def verify_password(user: User, password: str) -> bool:
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def one_line(value: str | None, field: str) -> str:
    """``value`` stripped, as one line without control characters (``kernel.inputs``, the
    rule every text field follows), or AccountError saying what is wrong."""
    try:
        return single_line((value or "").strip(), field)
    except InputError as exc:
        raise AccountError(str(exc)) from None


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def valid_email(email: str) -> str:
    """The normalised address, or AccountError when it is not an email address."""
    email = one_line(normalise_email(email), "email")
    if not EMAIL_RE.match(email) or len(email) > 255 or email.endswith("@" + ERASED_DOMAIN):
        raise AccountError(_("%(email)s is not a valid email address", email=email or "''"))
    return email


def email_taken(email: str, *, exclude: User | None = None) -> bool:
    query = db.select(User.id).where((User.email == email) | (User.pending_email == email))
    if exclude is not None:
        query = query.where(User.id != exclude.id)
    return db.session.scalar(query) is not None


def check_password(password: str) -> None:
    minimum = int(site_settings.get("min_password_length") or 8)
    try:
        check_text(password or "", "password")
    except InputError as exc:
        raise AccountError(str(exc)) from None
    if len(password or "") < minimum:
        raise AccountError(_("The password must be at least %(n)d characters long.", n=minimum))


def find_user(email: str) -> User | None:
    return db.session.scalar(db.select(User).where(User.email == normalise_email(email)))


def create_user(
    email: str,
    password: str | None,
    *,
    name: str = "",
    role: str = "customer",
    actor: str | None = None,
    verified: bool = False,
) -> User:
    """Create an account after validation and the ``veto_registration`` hook.

    ``password=None`` makes an account without a password: its owner logs in through a
    linked identity (a plugin such as oauth_login) and can set a password by a reset link."""
    email = valid_email(email)
    if password is not None:
        check_password(password)
    name = one_line(name or "", "name")[:MAX_NAME]
    if db.session.get(Role, role) is None:
        roles = ", ".join(db.session.scalars(db.select(Role.name).order_by(Role.name)))
        raise AccountError(
            _("There is no role named %(role)s (roles: %(roles)s).", role=role, roles=roles)
        )
    if db.session.scalar(db.select(User.id).where(User.email == email)):
        raise AccountError(_("An account with %(email)s already exists.", email=email))
    reason = call_veto("veto_registration", email=email, name=name)
    if reason:
        raise AccountError(reason)
    now = clock.now()
    user = User(
        email=email,
        name=name or email.split("@")[0],
        role_name=role,
        password_hash=hash_password(password) if password is not None else "",
        password_changed_at=now if password is not None else None,
        email_verified_at=now if verified else None,
        token_version=0,
        language="",
    )
    db.session.add(user)
    db.session.commit()
    audit.record("user.created", email, {"role": role}, actor=actor)
    call_hook("user_registered", user=user)  # a listener that raises is logged; the account stays
    return user


def check_credentials(email: str, password: str) -> User:
    """The user whose password ``password`` is, or AccountError; nothing else is checked."""
    user = find_user(email)
    if user is None:
        _spend_hash_time(password)  # unknown addresses answer as slowly as known ones
    if user is None or not verify_password(user, password):
        audit.record("user.login_failed", normalise_email(email))
        raise AccountError(_("Wrong email or password."))
    return user


def check_login_allowed(user: User, *, method: str = "password") -> None:
    """Refuse (AccountError) a blocked or erased account, or a login a ``veto_login`` refuses.

    Every way of logging in (password, a linked identity, ...) passes here, so the same
    accounts and plugins can refuse it whatever the method."""
    if user.is_blocked or user.is_erased:
        audit.record("user.login_refused", user.email, {"reason": "blocked", "method": method})
        raise AccountError(_("This account is blocked; contact support."))
    reason = call_veto("veto_login", user=user)
    if reason:
        audit.record("user.login_refused", user.email, {"reason": reason[:200], "method": method})
        raise AccountError(reason)


def authenticate(email: str, password: str) -> User:
    """Return the user for valid credentials, or raise AccountError with a safe message."""
    user = check_credentials(email, password)
    check_login_allowed(user)
    return user


def record_login(user: User, *, method: str = "password") -> None:
    """Bookkeeping after a complete login (password and, when enabled, the second factor)."""
    user.last_login_at = clock.now()
    db.session.commit()
    audit.record("user.login", user.email, {"method": method}, actor=user.email)
    call_hook("user_logged_in", user=user)


def set_password(user: User, password: str, *, action: str = "user.password_changed") -> None:
    """Store a new password, end the user's other sessions and void reset links."""
    check_password(password)
    user.password_hash = hash_password(password)
    user.token_version = (user.token_version or 0) + 1
    user.password_changed_at = clock.now()
    db.session.commit()
    audit.record(action, user.email, actor=user.email)
    call_hook("user_password_changed", user=user, password=password)


def change_password(user: User, current: str, new: str) -> None:
    if not verify_password(user, current):
        raise AccountError(_("Your current password is not correct."))
    set_password(user, new)


def requires_2fa(user: User) -> bool:
    """True when the user's role is listed in the ``require_2fa_roles`` setting."""
    roles = {r.strip() for r in str(site_settings.get("require_2fa_roles") or "").split(",")}
    return user.role_name in roles


def update_profile(user: User, *, name: str | None = None, language: str | None = None) -> dict:
    """Change the name and/or language; fire ``user_updated`` with what changed."""
    changes: dict[str, tuple] = {}
    if name is not None:
        name = one_line(name, "name")[:MAX_NAME]
        if not name:
            raise AccountError(_("The name cannot be empty."))
        if name != user.name:
            changes["name"] = (user.name, name)
            user.name = name
    if language is not None:
        if language and language not in LANGUAGES:
            raise AccountError(_("Choose one of the offered languages."))
        if language != (user.language or ""):
            changes["language"] = (user.language or "", language)
            user.language = language
    if changes:
        db.session.commit()
        audit.record(
            "user.profile_updated",
            user.email,
            {k: v[1] for k, v in changes.items()},
            actor=user.email,
        )
        call_hook("user_updated", user=user, changes=changes)
    return changes
