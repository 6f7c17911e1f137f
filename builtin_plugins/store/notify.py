"""Emails to customers about their servers (templates: ``email/store/<event>.txt``).

Sending is a job (``kernel.jobs``): a request or a sweep only queues it, and a
sweep queues one job for a whole batch of servers, so rendering and delivery
happen on a worker when one runs (inline otherwise).
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from kernel import db, enqueue, job

SUBJECTS = {
    "server_purchased": _l("Your server is ready"),
    "server_renewed": _l("Your server was renewed"),
    "server_suspended": _l("Your server was suspended"),
    "deletion_warning": _l("Your server will be deleted soon"),
    "server_deleted": _l("Your server was deleted"),
}


JOB_SIZE = 500  # servers per email job


def customer(service, event: str, **context) -> None:
    """Queue the ``event`` email to the owner of ``service``."""
    customers([service.id], event, **context)


def customers(service_ids: list[int], event: str, **context) -> None:
    """Queue the ``event`` email to the owner of each server, as one job."""
    if event not in SUBJECTS:
        raise ValueError(f"unknown store email {event!r}")
    ids = list(service_ids)
    for start in range(0, len(ids), JOB_SIZE):
        enqueue(send, event, ids[start:start + JOB_SIZE], _plain(context))


@job(queue="mail")
def send(event: str, service_ids: list[int], context: dict | None = None) -> int:
    """Job: render and send ``event`` to the owner of each server; returns how many were sent."""
    from kernel import User
    from kernel import send_email

    from builtin_plugins.store.models import Service

    context = {key: _revive(value) for key, value in (context or {}).items()}
    rows = db.session.scalars(select(Service).options(selectinload(Service.product))
                              .where(Service.id.in_(service_ids)).order_by(Service.id)).all()
    users = {user.id: user for user in db.session.scalars(
        select(User).where(User.id.in_({row.user_id for row in rows})))}
    for service in rows:
        user = users[service.user_id]
        if user.is_erased:  # a queued email that reached us after the account's erasure
            continue
        send_email(user.email, str(SUBJECTS[event]), f"store/{event}", user=user, service=service,
                   product=service.product, commit=False, **context)
    db.session.commit()  # the email log, once: a commit per message would reload every row
    return len(rows)


# Job arguments stay plain (a worker may run in another process): datetimes travel as text.
_STAMP = "datetime:"


def _plain(context: dict) -> dict:
    return {key: f"{_STAMP}{value.isoformat()}" if isinstance(value, datetime) else value
            for key, value in context.items()}


def _revive(value):
    if isinstance(value, str) and value.startswith(_STAMP):
        return datetime.fromisoformat(value[len(_STAMP):])
    return value
