"""User, role and recovery-code tables."""

from __future__ import annotations

from datetime import datetime

from flask_login import AnonymousUserMixin, UserMixin
from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kernel import clock
from kernel.extensions import db

LANGUAGES = {"en": "English", "pl": "Polski"}
# Erased accounts get an address at this reserved domain (RFC 2606): nobody can register one.
ERASED_DOMAIN = "erased.invalid"


class Role(db.Model):
    __tablename__ = "role"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    description: Mapped[str] = mapped_column(String(255), default="")
    # Permission codes; "*" grants every permission.
    permissions: Mapped[list] = mapped_column(JSON, default=list)


class User(UserMixin, db.Model):
    __tablename__ = "user"
    # What theme templates may read (kernel/theme_sandbox.py); never hashes, secrets, tokens.
    __template_fields__ = (
        "id",
        "email",
        "name",
        "language",
        "created_at",
        "last_login_at",
        "email_verified_at",
        "pending_email",
        "role_name",
        "is_authenticated",
        "is_anonymous",
        "is_active",
        "is_verified",
        "has_2fa",
        "has_permission",
        "has_password",
        "is_erased",
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    password_hash: Mapped[str] = mapped_column(String(255), default="")
    role_name: Mapped[str] = mapped_column(ForeignKey("role.name"), default="customer")
    is_blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=clock.now)
    email_verified_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # A new address waiting for its confirmation link; ``email`` changes only then.
    pending_email: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # Bumped on every password change: ends other sessions and voids reset links.
    token_version: Mapped[int] = mapped_column(Integer, default=0)
    password_changed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    language: Mapped[str] = mapped_column(String(8), default="")  # "" follows the browser
    # Fernet-encrypted TOTP secret; pending until ``totp_enabled_at`` is set.
    totp_secret: Mapped[str] = mapped_column(Text, default="")
    totp_enabled_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    totp_last_counter: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # Set when the account's personal data was erased (kernel/privacy/erasure.py):
    # the row stays, under a pseudonymous address, for the ledger and payments that need it.
    erased_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    role: Mapped[Role] = relationship(lazy="joined")

    def has_permission(self, code: str) -> bool:
        perms = self.role.permissions if self.role else []
        return "*" in perms or code in perms

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return not self.is_blocked

    @property
    def is_verified(self) -> bool:
        return self.email_verified_at is not None

    @property
    def has_2fa(self) -> bool:
        return self.totp_enabled_at is not None

    # The token of the login session this object was loaded for (kernel/accounts/sessions.py).
    session_token = None  # not a column: set per request

    @property
    def has_password(self) -> bool:
        """False for an account made through a linked identity that never set a password."""
        return bool(self.password_hash)

    @property
    def is_erased(self) -> bool:
        return self.erased_at is not None

    def get_id(self) -> str:
        # The session remembers the token version (a password change elsewhere ends it) and
        # its login session (logging out ends it, wherever the cookie was copied to).
        ident = f"{self.id}:{self.token_version or 0}"
        return f"{ident}:{self.session_token}" if self.session_token else ident


class Anonymous(AnonymousUserMixin):
    """The visitor who is not logged in (``current_user`` before login)."""

    __template_fields__ = ("is_authenticated", "is_anonymous", "is_active", "has_permission")

    def has_permission(self, code: str) -> bool:
        return False


class LoginSession(db.Model):
    """One signed-in browser. Its cookie holds a random token; the row holds the token's
    SHA-256. Logging out ends the row, so a copy of the cookie stops working at once."""

    __tablename__ = "login_session"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex of the token
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=clock.now, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class RecoveryCode(db.Model):
    """One-time 2FA recovery codes, stored as SHA-256 hashes of high-entropy random codes."""

    __tablename__ = "recovery_code"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
