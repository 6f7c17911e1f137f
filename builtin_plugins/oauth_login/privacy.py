"""oauth_login's answers to the kernel's privacy hooks: its rows about one account."""

from __future__ import annotations

from kernel import call_hook, db

from . import identities
from .models import Flow, Identity


def export(user) -> dict:
    return {
        "identities": [
            {
                "provider": row.provider,
                "subject": row.subject,
                "username": row.username,
                "email": row.email,
                "email_verified": row.email_verified,
                "linked_at": row.created_at,
                "last_login_at": row.last_login_at,
            }
            for row in identities.of_user(user.id)
        ]
    }


def erase(user) -> None:
    """Unlink every identity (the event tells plugins that mirror them) and drop the flows
    this account started; safe to run again."""
    rows = identities.of_user(user.id)
    gone = [identities.public(row) for row in rows]
    db.session.execute(db.delete(Identity).where(Identity.user_id == user.id))
    db.session.execute(db.delete(Flow).where(Flow.user_id == user.id))
    db.session.commit()
    for identity in gone:
        call_hook("oauth_login_identity_unlinked", user=user, identity=identity)
