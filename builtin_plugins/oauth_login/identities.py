"""Linked identities: who may log in with which provider account, and the rules around it.

- **No account takeover.** A provider account logs in only to the local account it was
  linked to. A provider answering with the address of an existing account never logs into
  it and never links to it: the owner logs in (password, or a linked provider) and links
  from the account page. One provider account is linked to at most one local account, and a
  local account has at most one identity per provider.
- **Never lock someone out.** An identity cannot be unlinked when it is the account's last
  way to log in (no password and no other identity).
- **Sign-up** creates the account through the kernel's registration (its rules, vetoes and
  terms), without a password; the address counts as verified only when the provider said so
  and the person kept it, otherwise the site's normal email verification applies.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from kernel import AccountError, User, call_hook, db, record_audit, register_account
from kernel import now as utcnow

from .client import ProviderIdentity
from .models import Identity
from .providers import label


@dataclass(frozen=True)
class LinkedIdentity:
    """A linked identity as other plugins see it (plain data, no database object)."""

    user_id: int
    provider: str  # "discord", "google", "github", "oidc"
    subject: str  # the provider's stable id of the account (Discord's user id, ...)
    username: str
    email: str
    email_verified: bool
    linked_at: datetime
    last_login_at: datetime | None

    @classmethod
    def of(cls, row: Identity) -> LinkedIdentity:
        return cls(
            row.user_id,
            row.provider,
            row.subject,
            row.username,
            row.email,
            bool(row.email_verified),
            row.created_at,
            row.last_login_at,
        )


class IdentityError(AccountError):
    """A link, unlink or sign-up refused; the message is shown as is."""


def of_user(user_id: int) -> list[Identity]:
    return list(
        db.session.scalars(
            db.select(Identity).where(Identity.user_id == user_id).order_by(Identity.provider)
        )
    )


def find(provider: str, subject: str) -> Identity | None:
    return db.session.scalar(
        db.select(Identity).where(Identity.provider == provider, Identity.subject == subject)
    )


def owner(identity: Identity) -> User | None:
    return db.session.get(User, identity.user_id)


def _fill(row: Identity, found: ProviderIdentity) -> None:
    row.username, row.email = found.username, found.email
    row.email_verified = found.email_verified


def note_login(identity: Identity, found: ProviderIdentity) -> None:
    """Refresh what the provider says (username, address) on each login."""
    _fill(identity, found)
    identity.last_login_at = utcnow()
    db.session.commit()


def link(user: User, found: ProviderIdentity) -> Identity:
    """Link ``found`` to ``user`` (who is logged in and started the link)."""
    name = label(found.provider)
    existing = find(found.provider, found.subject)
    if existing is not None:
        if existing.user_id == user.id:
            raise IdentityError(f"This {name} account is already linked to your account.")
        raise IdentityError(
            f"This {name} account is linked to another account on this site. Unlink it there first."
        )
    if any(i.provider == found.provider for i in of_user(user.id)):
        raise IdentityError(
            f"Your account is already linked to another {name} account. Unlink that one first."
        )
    row = Identity(user_id=user.id, provider=found.provider, subject=found.subject)
    _fill(row, found)
    db.session.add(row)
    try:
        db.session.commit()
    except IntegrityError:  # linked concurrently
        db.session.rollback()
        raise IdentityError(f"This {name} account was linked meanwhile; reload the page.") from None
    record_audit("oauth_login.linked", user.email, {"provider": found.provider}, actor=user.email)
    call_hook("oauth_login_identity_linked", user=user, identity=public(row))
    return row


def can_unlink(user: User) -> bool:
    """Unlinking one identity leaves another way to log in."""
    return user.has_password or len(of_user(user.id)) > 1


def unlink(user: User, provider: str) -> None:
    row = next((i for i in of_user(user.id) if i.provider == provider), None)
    if row is None:
        raise IdentityError(f"Your account is not linked to {label(provider)}.")
    if not can_unlink(user):
        raise IdentityError(
            f"{label(provider)} is the only way you log in. Set a password (or "
            "link another provider) first, so you can still log in afterwards."
        )
    gone = public(row)
    db.session.delete(row)
    db.session.commit()
    record_audit("oauth_login.unlinked", user.email, {"provider": provider}, actor=user.email)
    call_hook("oauth_login_identity_unlinked", user=user, identity=gone)


def email_in_use(email: str) -> bool:
    return (
        bool(email)
        and db.session.scalar(
            db.select(User.id).where((User.email == email) | (User.pending_email == email))
        )
        is not None
    )


def check_signup(found: ProviderIdentity) -> None:
    """Refuse a sign-up whose provider address belongs to an account (no takeover, no hint
    of a link): the owner must log in and link instead."""
    if email_in_use(found.email):
        raise IdentityError(
            f"An account with the address {found.email} already exists. Log in to it (with "
            f"your password), then link {label(found.provider)} on your account page."
        )


def sign_up(found: ProviderIdentity, *, email: str, name: str, accepted_terms: bool) -> User:
    """Create the account (kernel registration, no password) and link ``found`` to it."""
    email = (email or "").strip().lower()
    if find(found.provider, found.subject) is not None:
        raise IdentityError(
            f"This {label(found.provider)} account is already linked to an account. Log in instead."
        )
    if email_in_use(email):
        raise IdentityError(
            f"An account with the address {email} already exists. Log in to "
            f"it, then link {label(found.provider)} on your account page."
        )
    verified = found.email_verified and bool(found.email) and email == found.email
    user = register_account(
        email, None, name=name, accepted_terms=accepted_terms, verified=verified
    )
    row = Identity(
        user_id=user.id, provider=found.provider, subject=found.subject, last_login_at=utcnow()
    )
    _fill(row, found)
    db.session.add(row)
    db.session.commit()
    record_audit(
        "oauth_login.signed_up",
        user.email,
        {"provider": found.provider, "verified_by_provider": verified},
        actor=user.email,
    )
    call_hook("oauth_login_identity_linked", user=user, identity=public(row))
    return user


def public(row: Identity) -> LinkedIdentity:
    """The read-only view other plugins get (:mod:`.api`)."""
    return LinkedIdentity.of(row)
