"""Emails to customers about their servers (templates: ``email/store/<event>.txt``).

An email is an intent written in the same transaction as the change it tells about: the
caller's change, its audit row and :func:`customers` (an outbox row, :mod:`kernel.outbox`)
commit together, so a change is never left without its email nor an email sent for a change
that was rolled back. A sweep adds one job per batch of :data:`JOB_SIZE` servers.

The job may run twice (a worker killed in the middle, an outbox row handed over again): each
message carries a key made of the event, the server and the intent's token, and the email
log remembers each key as soon as its message went out, so a run again sends only the rest.
Templates get plain values, not database rows.
"""

from __future__ import annotations

import secrets
from dataclasses import make_dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from kernel import db, job, outbox_add, sent_email_keys

SUBJECTS = {
    "server_purchased": _l("Your server is ready"),
    "server_renewed": _l("Your server was renewed"),
    "server_suspended": _l("Your server was suspended"),
    "deletion_warning": _l("Your server will be deleted soon"),
    "server_deleted": _l("Your server was deleted"),
    "install_failed": _l("Your server could not be installed"),
    "install_retrying": _l("Your server is being installed again"),
}


JOB_SIZE = 500  # servers per email job


def customer(service, event: str, **context) -> None:
    """Add the ``event`` email to the owner of ``service`` to the caller's transaction."""
    customers([service.id], event, **context)


def customers(service_ids: list[int], event: str, **context) -> None:
    """Add the ``event`` email to the owner of each server to the caller's transaction
    (one job per :data:`JOB_SIZE` servers, sent after the commit)."""
    if event not in SUBJECTS:
        raise ValueError(f"unknown store email {event!r}")
    ids = list(service_ids)
    token = secrets.token_hex(8)
    for start in range(0, len(ids), JOB_SIZE):
        outbox_add(send, event, ids[start : start + JOB_SIZE], _plain(context), token)


def key(event: str, service_id: int, token: str) -> str:
    return f"store:{event}:{service_id}:{token}"


@job(queue="mail")
def send(
    event: str, service_ids: list[int], context: dict | None = None, token: str | None = None
) -> int:
    """Job: render and send ``event`` to the owner of each server (skipping those a run of the
    same intent sent already, and accounts erased since); returns how many were sent now."""
    from builtin_plugins.store.models import Service
    from kernel import User, send_email

    context = {name: _revive(value) for name, value in (context or {}).items()}
    rows = db.session.scalars(
        select(Service)
        .options(selectinload(Service.product), selectinload(Service.plan))
        .where(Service.id.in_(service_ids))
        .order_by(Service.id)
    ).all()
    users = {
        user.id: user
        for user in db.session.scalars(
            select(User).where(User.id.in_({row.user_id for row in rows}))
        )
    }
    # a queued email that reached us after the account's erasure is not sent
    letters = [
        (
            users[row.user_id].email,
            row.id,
            _view(row),
            _view(row.product),
            _view(users[row.user_id]),
        )
        for row in rows
        if not users[row.user_id].is_erased
    ]
    keys = [key(event, service_id, token) for _email, service_id, *_ in letters] if token else []
    done = sent_email_keys(keys)
    db.session.commit()  # end the read: each message below is logged in its own transaction
    sent = 0
    for email, service_id, service, product, user in letters:
        once = key(event, service_id, token) if token else None
        if once in done:
            continue
        entry = send_email(
            email,
            str(SUBJECTS[event]),
            f"store/{event}",
            user=user,
            service=service,
            product=product,
            now=True,
            key=once,
            **context,
        )
        sent += entry.status == "sent"
    return sent


_VIEWS: dict[type, type] = {}


def _view(row):
    """What a template may read of a row (its ``__template_fields__``), copied into a frozen
    dataclass: each message commits its log entry, which would reload every row a template
    touches. Methods are left out; relationships become views of their own."""
    kind = type(row)
    names = [
        name
        for name in getattr(kind, "__template_fields__", ())
        if not callable(getattr(row, name, None))
    ]
    view = _VIEWS.get(kind)
    if view is None:
        view = _VIEWS[kind] = make_dataclass(f"{kind.__name__}View", names, frozen=True)
    return view(**{name: _value(getattr(row, name, None)) for name in names})


def _value(value):
    if hasattr(type(value), "__template_fields__"):
        return _view(value)
    if isinstance(value, list | tuple) and any(
        hasattr(type(v), "__template_fields__") for v in value
    ):
        return tuple(_value(v) for v in value)
    return value


# Job arguments stay plain (a worker may run in another process): datetimes travel as text.
_STAMP = "datetime:"


def _plain(context: dict) -> dict:
    return {
        name: f"{_STAMP}{value.isoformat()}" if isinstance(value, datetime) else value
        for name, value in context.items()
    }


def _revive(value):
    if isinstance(value, str) and value.startswith(_STAMP):
        return datetime.fromisoformat(value[len(_STAMP) :])
    return value
