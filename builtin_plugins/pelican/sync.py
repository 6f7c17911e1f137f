"""User sync: every local account gets a Pelican user, found, linked or created, kept in step.

Linking order for an account without a link: the Pelican user with our external id
(``<prefix>-user-<id>``: one we created before, maybe in a call whose answer was lost), else
the Pelican user whose email is the account's (compared here, case-insensitively: the
panel's filter matches partially), else a new Pelican user. Pelican users have no first or
last name, so only the email, the username (derived from the email, lower case: Pelican
stores it so and has no character rule for it) and the password are sent; an account's name
change has nothing to push.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from builtin_plugins.panel_kit.api import RetryPolicy, errors
from builtin_plugins.pelican import panel
from builtin_plugins.pelican.client import PelicanClient
from builtin_plugins.pelican.links import user_link
from builtin_plugins.pelican.models import UserLink
from kernel import User, db, enqueue, job, record_audit
from kernel import now as utcnow

PUSH_RETRY = RetryPolicy(attempts=3, backoff=0.5)
NAME_TRIES = 12


def username_for(email: str, attempt: int) -> str:
    """The ``attempt``-th username to try for an email: its local part in lower case (at most
    200 characters), then with a number, then with a random suffix."""
    base = re.sub(r"\s+", "", email.split("@", 1)[0].lower())[:200] or "user"
    if attempt == 0:
        return base
    if attempt < 6:
        return f"{base}{attempt + 1}"
    return f"{base}-{secrets.token_hex(3)}"


def _link(user, panel_user: dict, origin: str) -> UserLink:
    row = UserLink(
        user_id=user.id,
        panel_user_id=int(panel_user["id"]),
        panel_username=str(panel_user.get("username") or ""),
        origin=origin,
        synced_at=utcnow(),
        last_error="",
    )
    db.session.add(row)
    try:
        db.session.commit()
    except IntegrityError:  # linked meanwhile, or that Pelican user is another account's
        db.session.rollback()
        mine = user_link(user.id)
        if mine is not None:
            return mine
        raise errors.PanelError(
            f"Pelican user {panel_user.get('username')!r} is already linked to another account"
        ) from None
    record_audit(
        f"pelican.user_{origin}",
        user.email,
        {"panel_user": int(panel_user["id"]), "username": row.panel_username},
    )
    return row


def ensure_linked(client: PelicanClient, user) -> UserLink:
    """The account's link, finding, linking or creating its Pelican user as needed."""
    found_link = user_link(user.id)
    if found_link is not None:
        return found_link
    ext = panel.user_external_id(user)
    by_id = client.app.get_user_by_external_id(ext)
    if by_id is not None:
        return _link(user, by_id, "created")
    by_email = client.app.find_user_by_email(user.email)
    if by_email is not None:
        return _link(user, by_email, "linked")
    problem: errors.PanelError | None = None
    for attempt in range(NAME_TRIES):
        try:
            made = client.app.create_user(
                email=user.email,
                username=username_for(user.email, attempt),
                password=secrets.token_urlsafe(24),
                external_id=ext,
            )
        except errors.ValidationFailed as exc:
            problem = exc
            if exc.has("email") or exc.has("external_id"):  # made meanwhile, elsewhere
                again = client.app.get_user_by_external_id(ext) or client.app.find_user_by_email(
                    user.email
                )
                if again is not None:
                    return _link(user, again, "linked")
            if exc.has("username"):
                continue
            raise
        return _link(user, made, "created")
    raise errors.PanelError(f"no free Pelican username was found for {user.email} ({problem})")


def _connect(quick: bool = False) -> PelicanClient:
    return panel.connect(quick=quick, **({} if quick else {"retry": PUSH_RETRY}))


def _quietly(user, what: str, action: Callable[[PelicanClient], object], quick=False) -> None:
    """Run ``action`` for ``user``; an unconfigured panel is nothing to do, a failure is
    rolled back, logged, noted on the link and audited, never raised (a registration or a
    profile change must not fail because the panel is away: the sync task links later)."""
    try:
        with _connect(quick) as client:
            action(client)
    except errors.NotConfigured:
        return
    except errors.PanelError as exc:
        db.session.rollback()
        message = f"{what}: {errors.describe(exc)}"[:2000]
        current_app.logger.warning("pelican sync of %s failed: %s", user.email, message)
        found = user_link(user.id)
        if found is not None:
            found.last_error = message
            db.session.commit()
        record_audit("pelican.sync_failed", user.email, {"error": message[:500]})


def _push(client: PelicanClient, user, **fields) -> None:
    found = ensure_linked(client, user)
    client.app.update_user(found.panel_user_id, **fields)
    found.synced_at, found.last_error = utcnow(), ""
    db.session.commit()


def on_registered(user) -> None:
    settings = panel.load_settings()
    if settings.configured and settings.sync_users:
        enqueue(link_user, user.id)


@job(queue="provisioning")
def link_user(user_id: int) -> None:
    """Job: find, link or create one account's Pelican user."""
    user = db.session.get(User, int(user_id))
    if user is not None:
        _quietly(user, "creating the Pelican user", lambda c: ensure_linked(c, user), True)


def on_updated(user, changes: dict) -> None:
    """Only the email reaches Pelican (its users have no names)."""
    settings = panel.load_settings()
    if settings.configured and settings.sync_users and "email" in changes:
        enqueue(push_email, user.id)


@job(queue="provisioning")
def push_email(user_id: int) -> None:
    user = db.session.get(User, int(user_id))
    if user is not None:
        _quietly(user, "updating the Pelican user", lambda c: _push(c, user, email=user.email))


def on_password_changed(user, password: str) -> None:
    """The same password on the Pelican user, at once (never through a queue or a table)."""
    if panel.load_settings().sync_users:
        _quietly(user, "setting the Pelican password", lambda c: _push(c, user, password=password))


@dataclass
class SyncReport:
    created: list[str] = field(default_factory=list)
    linked: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def sync_all(batch: int = 200) -> SyncReport:
    """Link or create a Pelican user for every local account without one."""
    report = SyncReport()
    after = 0
    with _connect() as client:
        while True:
            users = db.session.scalars(
                select(User)
                .outerjoin(UserLink, UserLink.user_id == User.id)
                .where(UserLink.user_id.is_(None), User.erased_at.is_(None), User.id > after)
                .order_by(User.id)
                .limit(batch)
            ).all()
            if not users:
                return report
            after = users[-1].id
            for user in users:
                try:
                    row = ensure_linked(client, user)
                except errors.PanelUnreachable:
                    raise
                except errors.PanelError as exc:
                    db.session.rollback()
                    report.failed[user.email] = errors.describe(exc)
                    continue
                (report.created if row.origin == "created" else report.linked).append(user.email)


@job(queue="provisioning", timeout=3600)
def sync_task() -> dict | None:
    """Cron and job: link accounts that registered while the panel was away."""
    settings = panel.load_settings()
    if not (settings.configured and settings.sync_users):
        return None
    report = sync_all()
    return {"created": report.created, "linked": report.linked, "failed": report.failed}
