"""Email through the job queue: with rq, a rendered message is delivered by a worker, with retries.

``kernel.mail.send_email`` renders the message in the caller (templates need the request's
objects), then asks :func:`queue_delivery`: with ``PTEROCA_REDIS_URL`` set the message goes on
the ``mail`` queue and the email log entry says ``queued``; a worker runs
:func:`deliver_queued`, which marks the entry ``sent``, or ``failed`` and raises so that the
queue tries again after the backoff (30 s, 2 min, 10 min, 30 min). A slow or refusing mail
server then never holds up a web request. Without rq the caller delivers at once as before;
with Redis away, ``kernel.jobs.enqueue`` runs the delivery at once.

The queued job carries the whole rendered message (reset and verification links included):
Redis must be as private as the database.
"""

from __future__ import annotations

from email import message_from_string
from email.message import EmailMessage
from email.policy import default as default_policy

from flask import current_app

from kernel import jobs
from kernel.extensions import db


def queue_delivery(entry, message: EmailMessage) -> bool:
    """Queue ``message`` for ``entry`` (an unsaved ``EmailLog``); False: deliver it now instead."""
    if not jobs.uses_rq():
        return False
    entry.status = "queued"
    db.session.add(entry)
    db.session.commit()  # the worker must find the entry
    try:
        # With Redis away, enqueue runs the delivery at once (kernel.jobs).
        jobs.enqueue(deliver_queued, entry.id, message.as_string())
    except Exception as exc:  # noqa: BLE001 - that immediate delivery failed: already logged
        current_app.logger.warning("sending %r to %s failed: %s: %s", entry.template,
                                   entry.recipient, type(exc).__name__, exc)
    return True


@jobs.job(queue="mail", retries=4, backoff=(30, 120, 600, 1800))
def deliver_queued(log_id: int, raw: str) -> str:
    """Job: deliver a message rendered by ``send_email``; raises (to be retried) on failure."""
    from kernel.mail import EmailLog, deliver

    entry = db.session.get(EmailLog, log_id)
    try:
        deliver(message_from_string(raw, policy=default_policy),
                current_app.config.get("MAIL_URL") or "console://")
    except Exception as exc:
        if entry is not None:
            entry.status, entry.error = "failed", f"{type(exc).__name__}: {exc}"[:2000]
            db.session.commit()
        current_app.logger.warning("queued mail %s not delivered: %s: %s", log_id,
                                   type(exc).__name__, exc)
        raise
    if entry is not None:
        entry.status, entry.error = "sent", ""
        db.session.commit()
    return "sent"
