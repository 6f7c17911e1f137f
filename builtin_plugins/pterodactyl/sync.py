"""User sync: every local account has a panel user, found, linked or created, and kept in step.

Linking order for an account without a link: the panel user with our external id
(``<prefix>-user-<id>``: one we created before, maybe in a call whose answer was lost),
else the panel user whose email is exactly the account's (the panel's email filter
is a partial match, so the answer is compared here), else a new panel user with a
username derived from the email and made unique. The link is stored in
``pterodactyl_user_link``; name, email and password changes are pushed through it.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from builtin_plugins.panel_kit.api import RetryPolicy, errors
from builtin_plugins.pterodactyl.client import PanelClient
from builtin_plugins.pterodactyl.links import user_link
from builtin_plugins.pterodactyl.panel import load_settings, make_client
from kernel import db, enqueue, job, record_audit
from kernel import now as utcnow

log = logging.getLogger(__name__)

USERNAME_OK = re.compile(r"^[a-z0-9][\w.-]+[a-z0-9]$")
MAX_USERNAME = 180
USERNAME_TRIES = 25
PUSH_RETRY = RetryPolicy(attempts=3, backoff=0.5)


def user_external_id(user) -> str:
    return f"{load_settings().external_id_prefix}-user-{user.id}"


def derive_username(email: str, fallback: str = "user") -> str:
    """A panel username from an email: lower case, 3+ characters of ``a-z0-9_.-`` starting
    and ending with a letter or digit (the panel's ``p_username`` rule)."""
    local = email.split("@", 1)[0].lower()
    name = re.sub(r"[^a-z0-9_.-]+", "", local)
    name = re.sub(r"^[^a-z0-9]+|[^a-z0-9]+$", "", name)[:MAX_USERNAME]
    name = re.sub(r"[^a-z0-9]+$", "", name)
    if len(name) < 3:
        name = f"{name}{fallback}"
    return name


def username_candidates(base: str):
    yield base
    for n in range(2, 12):
        yield f"{base}{n}"
    for _ in range(USERNAME_TRIES):
        yield f"{base}{secrets.randbelow(900000) + 100000}"


def split_name(user) -> tuple[str, str]:
    """First and last name for the panel (both required there, 1-191 characters)."""
    words = (user.name or "").split()
    if not words:
        words = [user.email.split("@", 1)[0] or "Customer"]
    first = words[0][:191]
    last = " ".join(words[1:])[:191] or "-"
    return first, last


@dataclass
class Linked:
    panel_user_id: int
    username: str
    origin: str  # created | linked | existing


def _save_link(user, panel_user: dict, origin: str):
    from builtin_plugins.pterodactyl.models import UserLink

    link = UserLink(
        user_id=user.id,
        panel_user_id=int(panel_user["id"]),
        panel_username=str(panel_user.get("username") or ""),
        origin=origin,
        synced_at=utcnow(),
        last_error="",
    )
    db.session.add(link)
    try:
        db.session.commit()
    except IntegrityError:  # linked concurrently (or that panel user is someone else's)
        db.session.rollback()
        existing = user_link(user.id)
        if existing is not None:
            return existing
        other = db.session.scalar(
            select(UserLink).where(UserLink.panel_user_id == int(panel_user["id"]))
        )
        raise errors.PanelError(
            f"panel user {panel_user.get('username')!r} is already linked to "
            f"another account (local user #{other.user_id if other else '?'})"
        ) from None
    record_audit(
        f"pterodactyl.user_{origin}",
        user.email,
        {"panel_user": int(panel_user["id"]), "username": link.panel_username},
    )
    return link


def ensure_linked(client: PanelClient, user):
    """The user's link, finding, linking or creating the panel user as needed."""
    link = user_link(user.id)
    if link is not None:
        return link
    ext = user_external_id(user)
    found = client.app.get_user_by_external_id(ext)
    if found is not None:
        return _save_link(user, found, "created")
    found = client.app.find_user_by_email(user.email)
    if found is not None:
        return _save_link(user, found, "linked")
    return _create(client, user, ext)


def _create(client: PanelClient, user, ext: str):
    first, last = split_name(user)
    base = derive_username(user.email)
    last_error: errors.PanelError | None = None
    for username in username_candidates(base):
        if client.app.find_user_by_username(username) is not None:
            continue
        try:
            created = client.app.create_user(
                email=user.email,
                username=username,
                first_name=first,
                last_name=last,
                password=secrets.token_urlsafe(24),
                external_id=ext,
            )
        except errors.ValidationFailed as exc:
            last_error = exc
            if exc.has("email", "unique"):  # created meanwhile, elsewhere
                found = client.app.find_user_by_email(user.email)
                if found is not None:
                    return _save_link(user, found, "linked")
            if exc.has("external_id"):
                found = client.app.get_user_by_external_id(ext)
                if found is not None:
                    return _save_link(user, found, "created")
            if exc.has("username"):
                continue
            raise
        return _save_link(user, created, "created")
    raise errors.PanelError(
        f"no free panel username like {base!r} was found"
        + (f" ({last_error})" if last_error else "")
    )


def _client(quick: bool = False) -> PanelClient:
    settings = load_settings()
    if not settings.configured:
        raise errors.NotConfigured("the Pterodactyl panel is not configured")
    return make_client(settings, quick=quick, **({} if quick else {"retry": PUSH_RETRY}))


def _note_failure(user, what: str, exc: Exception) -> None:
    message = f"{what}: {errors.describe(exc)}"
    current_app.logger.warning("pterodactyl sync of %s failed: %s", user.email, message)
    link = user_link(user.id)
    if link is not None:
        link.last_error = message[:2000]
        db.session.commit()
    record_audit("pterodactyl.sync_failed", user.email, {"error": message[:500]})


def _with_panel(
    user, what: str, action: Callable[[PanelClient], object], *, quick: bool = False
) -> None:
    """Run ``action(client)`` for ``user``: nothing when the panel is not configured, a
    panel failure rolled back and noted on the link (``what`` failed), never raised."""
    try:
        with _client(quick=quick) as client:
            action(client)
    except errors.NotConfigured:
        return
    except errors.PanelError as exc:
        db.session.rollback()
        _note_failure(user, what, exc)


def _update_panel_user(client: PanelClient, user, **fields) -> None:
    """Set ``fields`` on the account's panel user (linking it first) and mark it synced."""
    link = ensure_linked(client, user)
    client.app.update_user(link.panel_user_id, **fields)
    link.synced_at, link.last_error = utcnow(), ""
    db.session.commit()


def on_registered(user) -> None:
    """Hook: create or link the panel user in a job (the sync task retries if the panel is away)."""
    if load_settings().sync_users:
        enqueue(link_user, user.id)


@job(queue="provisioning")
def link_user(user_id: int) -> None:
    """Job: find, link or create the panel user of one account; failures are noted, not raised."""
    user = _user(user_id)
    if user is not None:
        _with_panel(
            user, "creating the panel user", lambda client: ensure_linked(client, user), quick=True
        )


def on_updated(user, changes: dict) -> None:
    """Hook: push a new email or name to the linked panel user (in a job)."""
    if load_settings().sync_users and {"email", "name"} & set(changes):
        enqueue(push_profile, user.id)


@job(queue="provisioning")
def push_profile(user_id: int) -> None:
    """Job: send the account's email and name to its panel user."""
    user = _user(user_id)
    if user is None:
        return
    first, last = split_name(user)
    _with_panel(
        user,
        "updating the panel user",
        lambda client: _update_panel_user(
            client, user, email=user.email, first_name=first, last_name=last
        ),
    )


def _user(user_id: int):
    from kernel import User

    return db.session.get(User, int(user_id))


def on_password_changed(user, password: str) -> None:
    """Hook: set the same password on the linked panel user, at once: the password never
    goes through a job queue, a table or a log."""
    if load_settings().sync_users:
        _with_panel(
            user,
            "setting the panel password",
            lambda client: _update_panel_user(client, user, password=password),
        )


@dataclass
class SyncReport:
    created: list[str] = field(default_factory=list)
    linked: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def unlinked_users(after_id: int = 0, limit: int = 200) -> list:
    from builtin_plugins.pterodactyl.models import UserLink
    from kernel import User

    return list(
        db.session.scalars(
            select(User)
            .outerjoin(UserLink, UserLink.user_id == User.id)
            .where(UserLink.user_id.is_(None), User.erased_at.is_(None), User.id > after_id)
            .order_by(User.id)
            .limit(limit)
        )
    )


def sync_all(client: PanelClient | None = None, *, batch: int = 200) -> SyncReport:
    """Link or create a panel user for every local account without one."""
    report = SyncReport()
    own = client is None
    client = client or _client()
    try:
        last = 0
        while True:
            users = unlinked_users(last, batch)
            if not users:
                break
            last = users[-1].id
            for user in users:
                try:
                    link = ensure_linked(client, user)
                except errors.PanelUnreachable:
                    raise
                except errors.PanelError as exc:
                    db.session.rollback()
                    report.failed[user.email] = errors.describe(exc)
                    continue
                (report.created if link.origin == "created" else report.linked).append(user.email)
    finally:
        if own:
            client.close()
    return report


@job(queue="provisioning", timeout=3600)
def sync_task() -> dict | None:
    """Cron and job: link accounts that registered while the panel was away (or before the
    plugin was enabled). Returns the emails created, linked and failed."""
    settings = load_settings()
    if not (settings.configured and settings.sync_users):
        return None
    report = sync_all()
    return {"created": report.created, "linked": report.linked, "failed": report.failed}
