"""API tables: access tokens and the idempotency keys of requests that must not repeat."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kernel.accounts.models import User
from kernel.clock import now as utcnow
from kernel.extensions import db

PERSONAL = "personal"  # made by the customer on the account page
SERVICE = "service"  # made by an admin for an account used by a program


class ApiToken(db.Model):
    """One bearer token. The secret is shown once; the row keeps its SHA-256 (the secret is
    32 random bytes, so a fast hash is enough: there is nothing to guess) and the first
    characters, so people can tell their tokens apart."""

    __tablename__ = "api_token"
    # What theme templates may read (kernel/theme_sandbox.py): never the hash.
    __template_fields__ = (
        "id",
        "name",
        "kind",
        "prefix",
        "scopes",
        "created_at",
        "expires_at",
        "last_used_at",
        "last_used_ip",
        "revoked_at",
        "is_live",
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16), default=PERSONAL)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(24))
    scopes: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(255), default="")
    expires_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    last_used_ip: Mapped[str] = mapped_column(String(64), default="")
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    user: Mapped[User] = relationship(lazy="joined")

    @property
    def is_live(self) -> bool:
        from kernel.rest.tokens import live

        return live(self)


class IdempotencyKey(db.Model):
    """The first request made with a customer's ``Idempotency-Key`` on one operation: its
    body's fingerprint, so the same key with another body is refused (422) instead of
    answering with the first request's result."""

    __tablename__ = "api_idempotency_key"
    __table_args__ = (
        UniqueConstraint("user_id", "operation", "key", name="uq_api_idempotency_key"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    operation: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
