"""Delivering a rendered message: the transports, the email log, and the queued delivery job.

:func:`deliver` hands a message to the transport ``PTEROCA_MAIL_URL`` names (``console://``,
``file://``, ``smtp://``, ``smtps://``, ``smtp+starttls://``); :class:`EmailLog` records every
message the panel tried to send, with its outcome.

Email through the job queue: with rq, a rendered message is delivered by a worker, with retries.

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

import smtplib
import ssl
from datetime import datetime
from email import message_from_string
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from urllib.parse import unquote, urlsplit

from flask import current_app
from sqlalchemy import DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kernel import clock, jobs
from kernel.extensions import db

SMTP_TIMEOUT = 15


class EmailLog(db.Model):
    """Every message the panel tried to send, with its outcome."""

    __tablename__ = "email_log"
    # Keyset pages of a filtered log (kernel/paging.py; migration k0015).
    __table_args__ = (
        Index("ix_email_log_recipient_id", "recipient", "id"),
        Index("ix_email_log_status_id", "status", "id"),
        Index("ix_email_log_template_id", "template", "id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=clock.now, index=True)
    recipient: Mapped[str] = mapped_column(String(255), index=True)
    subject: Mapped[str] = mapped_column(String(255), default="")
    template: Mapped[str] = mapped_column(String(128), default="")
    status: Mapped[str] = mapped_column(String(16), default="sent")  # sent | queued | failed
    error: Mapped[str] = mapped_column(Text, default="")
    # Idempotency key of a message that must go out once (a batch job run again skips it).
    key: Mapped[str | None] = mapped_column(String(191), unique=True, nullable=True)
    # The text of a message that stayed on this machine (console:// and file:// transports):
    # the admin reads it in the email log, so a demo or a test instance can follow the links
    # of verification and reset mails. Never stored for SMTP (the mail server has it).
    body: Mapped[str] = mapped_column(Text, default="")


LOCAL_TRANSPORTS = ("console", "file")


def is_local_transport(url: str | None) -> bool:
    """True when mail does not leave this machine (written to the log or to a file)."""
    return urlsplit(url or "console://").scheme.lower() in LOCAL_TRANSPORTS


def text_of(message: EmailMessage) -> str:
    """The plain text a person reads (links included), without attachments."""
    part = message.get_body(preferencelist=("plain", "html"))
    return part.get_content() if part is not None else ""


class MailError(Exception):
    """The mail transport is misconfigured or refused the message."""


def deliver(message: EmailMessage, url: str) -> None:
    """Hand ``message`` to the transport named by ``url``; raise on failure."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "console":
        current_app.logger.info("email (console transport):\n%s", message.as_string())
        return
    if scheme == "file":
        path = Path(unquote(parts.path))
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as fh:
            fh.write(message.as_string() + "\n\n")
        return
    if scheme not in ("smtp", "smtps", "smtp+starttls"):
        raise MailError(f"unknown mail transport {scheme!r} in PTEROCA_MAIL_URL")
    host = parts.hostname or "localhost"
    default_port = {"smtp": 25, "smtps": 465, "smtp+starttls": 587}[scheme]
    port = parts.port or default_port
    if scheme == "smtps":
        client = smtplib.SMTP_SSL(
            host, port, timeout=SMTP_TIMEOUT, context=ssl.create_default_context()
        )
    else:
        client = smtplib.SMTP(host, port, timeout=SMTP_TIMEOUT)
    with client:
        if scheme == "smtp+starttls":
            client.starttls(context=ssl.create_default_context())
        if parts.username:
            client.login(unquote(parts.username), unquote(parts.password or ""))
        client.send_message(message)


def queue_delivery(entry: EmailLog, message: EmailMessage) -> bool:
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
        current_app.logger.warning(
            "sending %r to %s failed: %s: %s",
            entry.template,
            entry.recipient,
            type(exc).__name__,
            exc,
        )
    return True


@jobs.job(queue="mail", retries=4, backoff=(30, 120, 600, 1800))
def deliver_queued(log_id: int, raw: str) -> str:
    """Job: deliver a message rendered by ``send_email``; raises (to be retried) on failure."""
    entry = db.session.get(EmailLog, log_id)
    try:
        deliver(
            message_from_string(raw, policy=default_policy),
            current_app.config.get("MAIL_URL") or "console://",
        )
    except Exception as exc:
        if entry is not None:
            entry.status, entry.error = "failed", f"{type(exc).__name__}: {exc}"[:2000]
            db.session.commit()
        current_app.logger.warning(
            "queued mail %s not delivered: %s: %s", log_id, type(exc).__name__, exc
        )
        raise
    if entry is not None:
        entry.status, entry.error = "sent", ""
        db.session.commit()
    return "sent"
