"""Making, checking and revoking API tokens (one module owns the token rules).

A token is ``pteroca_`` and 43 URL-safe characters (32 random bytes). Only its SHA-256 is
stored, so a database leak yields no usable token, and a lookup by that hash is the
comparison: a guess that matches no row costs the same as any other, with a final
constant-time check of the hashes. Every call reads the row, so a revocation or an expiry
holds on every web process at once; there is no cache to wait out.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select

from kernel import audit
from kernel.clock import now
from kernel.extensions import db
from kernel.rest.models import PERSONAL, SERVICE, ApiToken
from kernel.rest.scopes import check_grant

TOKEN_PREFIX = "pteroca_"
MAX_NAME = 100
MAX_DAYS = 3650
# last_used_* is written at most this often per token: a busy bot must not make every
# call a write (SQLite has one writer), and a minute is exact enough for "last used".
TOUCH_EVERY = timedelta(seconds=60)


class TokenRefused(Exception):
    """The bearer token is missing, malformed, unknown, expired or revoked (401)."""


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def create(
    user,
    *,
    name: str,
    scopes: list[str],
    days: int | None = None,
    kind: str = PERSONAL,
    actor: str | None = None,
) -> tuple[ApiToken, str]:
    """A new token for ``user`` and its secret (shown once, never stored). Raises
    ScopeError or ValueError with a message for the person who asked."""
    name = (name or "").strip()
    if not 1 <= len(name) <= MAX_NAME:
        raise ValueError(f"give the token a name of 1 to {MAX_NAME} characters")
    if kind not in (PERSONAL, SERVICE):
        raise ValueError("a token is personal or for a service account")
    if days is not None and not 1 <= days <= MAX_DAYS:
        raise ValueError(f"a token expires after 1 to {MAX_DAYS} days, or never")
    clean = check_grant(user, list(scopes))
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=name,
        kind=kind,
        token_hash=_digest(secret),
        prefix=secret[: len(TOKEN_PREFIX) + 6],
        scopes=clean,
        created_by=actor or user.email,
        last_used_ip="",
        expires_at=now() + timedelta(days=days) if days else None,
    )
    db.session.add(token)
    db.session.flush()
    audit.record(
        "api.token_created",
        f"api_token:{token.id}",
        {"user": user.id, "kind": kind, "scopes": clean, "days": days},
        actor=actor or user.email,
        commit=False,
    )
    db.session.commit()
    return token, secret


def authenticate(secret: str) -> ApiToken:
    """The live token ``secret`` names, or TokenRefused."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        raise TokenRefused("malformed token")
    digest = _digest(secret)
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == digest))
    if token is None or not hmac.compare_digest(token.token_hash, digest):
        raise TokenRefused("unknown token")
    if token.revoked_at is not None:
        raise TokenRefused("this token was revoked")
    if token.expires_at is not None and token.expires_at <= now():
        raise TokenRefused("this token has expired")
    if token.user.is_blocked or token.user.is_erased:
        raise TokenRefused("the account of this token is blocked")
    return token


def touch(token: ApiToken, ip: str) -> None:
    """Record the use (uncommitted), at most once a minute unless the address changed."""
    stamp = now()
    if (
        token.last_used_at is None
        or token.last_used_ip != ip
        or stamp - token.last_used_at >= TOUCH_EVERY
    ):
        token.last_used_at, token.last_used_ip = stamp, ip[:64]


def revoke(token: ApiToken, *, actor: str) -> None:
    if token.revoked_at is None:
        token.revoked_at = now()
        audit.record(
            "api.token_revoked",
            f"api_token:{token.id}",
            {"user": token.user_id},
            actor=actor,
            commit=False,
        )
    db.session.commit()


def tokens_of(user_id: int) -> list[ApiToken]:
    return list(
        db.session.scalars(
            select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id.desc())
        )
    )


def all_service_tokens() -> list[ApiToken]:
    return list(
        db.session.scalars(
            select(ApiToken).where(ApiToken.kind == SERVICE).order_by(ApiToken.id.desc())
        )
    )


def live(token: ApiToken, at: datetime | None = None) -> bool:
    at = at or now()
    return token.revoked_at is None and (token.expires_at is None or token.expires_at > at)
