"""oauth_login's tables: linked identities, and sign-in flows in progress."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kernel import db
from kernel import now as utcnow


class Identity(db.Model):
    """An account at a provider, linked to a local account: logging in with it logs in there."""

    __tablename__ = "oauth_login_identity"
    __table_args__ = (
        UniqueConstraint("provider", "subject", name="uq_oauth_login_identity_subject"),
        UniqueConstraint("user_id", "provider", name="uq_oauth_login_identity_user"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(191))  # the provider's stable user id
    username: Mapped[str] = mapped_column(String(191), default="")
    email: Mapped[str] = mapped_column(String(255), default="")
    email_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class Flow(db.Model):
    """One trip to a provider and back. Kept server-side: the PKCE verifier and the nonce
    never reach the browser, and the state is spent by a guarded update, once."""

    __tablename__ = "oauth_login_flow"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    state: Mapped[str] = mapped_column(String(64), unique=True)
    browser: Mapped[str] = mapped_column(String(64))  # sha256 of the browser's session key
    provider: Mapped[str] = mapped_column(String(32))
    purpose: Mapped[str] = mapped_column(String(16))  # login | link
    user_id: Mapped[int | None] = mapped_column(Integer, nullable=True)  # who links
    nonce: Mapped[str] = mapped_column(String(64))
    code_verifier: Mapped[str] = mapped_column(String(128))
    next_url: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|signup|done
    identity: Mapped[dict | None] = mapped_column(JSON, nullable=True)  # for a sign-up
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
