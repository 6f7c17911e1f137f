"""TOTP two-factor authentication: setup, confirmation, recovery codes, verification."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time

import pyotp
import segno
from cryptography.fernet import Fernet, InvalidToken
from flask import current_app
from flask_babel import gettext as _

from kernel import audit, clock, site_settings
from kernel.accounts.models import RecoveryCode, User
from kernel.accounts.services import AccountError, requires_2fa, verify_password
from kernel.extensions import db

RECOVERY_CODES = 10


def _fernet() -> Fernet:
    # Same construction as plugin secrets, with its own label: a TOTP key never doubles as another.
    key = hashlib.sha256(("pteroca-totp:" + current_app.config["SECRET_KEY"]).encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def _secret(user: User) -> str:
    if not user.totp_secret:
        return ""
    try:
        return _fernet().decrypt(user.totp_secret.encode()).decode()
    except InvalidToken:  # the secret key changed: the stored secret is unusable
        return ""


def _hash_code(code: str) -> str:
    return hashlib.sha256(code.replace("-", "").replace(" ", "").lower().encode()).hexdigest()


def begin_setup(user: User) -> str:
    """Return the pending secret (creating one); it works only after :func:`confirm_setup`."""
    if user.has_2fa:
        raise AccountError(_("Two-factor authentication is already on."))
    secret = _secret(user)
    if not secret:
        secret = pyotp.random_base32()
        user.totp_secret = _fernet().encrypt(secret.encode()).decode()
        db.session.commit()
    return secret


def provisioning_uri(user: User, secret: str) -> str:
    issuer = site_settings.get("site_name") or "pteroca"
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=issuer)


def qr_data_uri(uri: str) -> str:
    """An SVG QR code as a ``data:`` URI (allowed by the panel's CSP for images)."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2)


def _new_recovery_codes(user: User) -> list[str]:
    db.session.execute(db.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _i in range(RECOVERY_CODES):
        raw = secrets.token_hex(5)  # 40 bits each, single use, behind the password
        code = f"{raw[:5]}-{raw[5:]}"
        codes.append(code)
        db.session.add(RecoveryCode(user_id=user.id, code_hash=_hash_code(code)))
    return codes


def _totp_counter(user: User, code: str) -> int | None:
    """The time step ``code`` matches (one step of drift either way), or None."""
    secret = _secret(user)
    code = (code or "").strip().replace(" ", "")
    if not secret or not code.isdigit() or len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    current = int(time.time()) // totp.interval
    for counter in (current, current - 1, current + 1):
        if secrets.compare_digest(totp.generate_otp(counter), code):
            return counter
    return None


def confirm_setup(user: User, code: str) -> list[str]:
    """Switch 2FA on when ``code`` matches the pending secret; return the recovery codes."""
    if user.has_2fa:
        raise AccountError(_("Two-factor authentication is already on."))
    counter = _totp_counter(user, code)
    if counter is None:
        raise AccountError(
            _("That code did not match. Check the time on your device and enter the current code.")
        )
    user.totp_enabled_at, user.totp_last_counter = clock.now(), counter
    codes = _new_recovery_codes(user)
    db.session.commit()
    audit.record("user.2fa_enabled", user.email, actor=user.email)
    return codes


def regenerate_recovery_codes(user: User, password: str) -> list[str]:
    if not user.has_2fa:
        raise AccountError(_("Two-factor authentication is off."))
    if not verify_password(user, password):
        raise AccountError(_("Your current password is not correct."))
    codes = _new_recovery_codes(user)
    db.session.commit()
    audit.record("user.2fa_recovery_codes_renewed", user.email, actor=user.email)
    return codes


def disable(user: User, password: str) -> None:
    if not user.has_2fa:
        raise AccountError(_("Two-factor authentication is off."))
    if not verify_password(user, password):
        raise AccountError(_("Your current password is not correct."))
    if requires_2fa(user):
        raise AccountError(
            _("Your role requires two-factor authentication; it cannot be switched off.")
        )
    user.totp_secret, user.totp_enabled_at, user.totp_last_counter = "", None, None
    db.session.execute(db.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.session.commit()
    audit.record("user.2fa_disabled", user.email, actor=user.email)


def unused_recovery_codes(user: User) -> int:
    return len(
        list(
            db.session.scalars(
                db.select(RecoveryCode.id).where(
                    RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
                )
            )
        )
    )


def check_second_factor(user: User, code: str) -> str:
    """Accept a current TOTP code (each once) or an unused recovery code; return which."""
    counter = _totp_counter(user, code)
    if counter is not None:
        if user.totp_last_counter is not None and counter <= user.totp_last_counter:
            raise AccountError(_("That code was already used. Wait for the next one."))
        user.totp_last_counter = counter
        db.session.commit()
        return "totp"
    cleaned = (code or "").strip()
    if cleaned:
        row = db.session.scalar(
            db.select(RecoveryCode).where(
                RecoveryCode.user_id == user.id,
                RecoveryCode.code_hash == _hash_code(cleaned),
                RecoveryCode.used_at.is_(None),
            )
        )
        if row is not None:
            row.used_at = clock.now()
            db.session.commit()
            audit.record(
                "user.2fa_recovery_code_used",
                user.email,
                {"left": unused_recovery_codes(user)},
                actor=user.email,
            )
            return "recovery"
    audit.record("user.2fa_failed", user.email, actor=user.email)
    raise AccountError(_("That code is not valid."))
