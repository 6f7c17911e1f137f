"""Outgoing email: theme templates, the ``before_email_send`` hook, a transport, the email log.

``send_email`` never raises for a delivery problem: the failure is logged and
recorded in the email log, and the user's action goes on. The transport comes
from ``PTEROCA_MAIL_URL``:

- ``console://`` (default): the message is written to the application log;
- ``file:///path/to/mbox``: messages are appended to the file;
- ``smtp://user:pass@host:port`` (plain, port 25), ``smtp+starttls://...`` (STARTTLS,
  port 587), ``smtps://...`` (TLS from the start, port 465).
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from datetime import datetime
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from pathlib import Path
from urllib.parse import unquote, urlsplit

import jinja2
from flask import current_app, render_template
from sqlalchemy import DateTime, Integer, String, Text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from kernel.extensions import db
from kernel.hooks import call_hook
from kernel.models import utcnow

SMTP_TIMEOUT = 15


class EmailLog(db.Model):
    """Every message the panel tried to send, with its outcome."""

    __tablename__ = "email_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
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


Attachment = tuple[str, str, bytes]  # (file name, MIME type such as "application/pdf", content)


def build_message(to: str, subject: str, template: str, *,
                  attachments: Sequence[Attachment] = (), **context) -> EmailMessage:
    """Render ``email/<template>.txt`` (and ``.html`` when the theme has it) into a message,
    with ``attachments`` (an invoice PDF, say) after the text."""
    from kernel import site_settings

    context.setdefault("site_name", site_settings.get("site_name"))
    context.setdefault("base_url", current_app.config.get("BASE_URL", "").rstrip("/"))
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = formataddr((site_settings.get("mail_from_name") or "",
                                  site_settings.get("mail_from")))
    message["To"] = to
    message["Message-ID"] = make_msgid(domain=str(site_settings.get("mail_from")).rsplit("@")[-1])
    message.set_content(render_template(f"email/{template}.txt", **context))
    try:
        html = render_template(f"email/{template}.html", **context)
    except jinja2.TemplateNotFound:
        html = None
    if html:
        message.add_alternative(html, subtype="html")
    for filename, mime_type, content in attachments:
        maintype, _, subtype = mime_type.partition("/")
        message.add_attachment(bytes(content), maintype=maintype, subtype=subtype or "octet-stream",
                               filename=filename)
    return message


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
        client = smtplib.SMTP_SSL(host, port, timeout=SMTP_TIMEOUT,
                                  context=ssl.create_default_context())
    else:
        client = smtplib.SMTP(host, port, timeout=SMTP_TIMEOUT)
    with client:
        if scheme == "smtp+starttls":
            client.starttls(context=ssl.create_default_context())
        if parts.username:
            client.login(unquote(parts.username), unquote(parts.password or ""))
        client.send_message(message)


def sent_keys(keys) -> set[str]:
    """The keys among ``keys`` whose once-only message was sent or queued already: a batch
    job run again (after a crash) skips them without rendering (``send_email`` would too)."""
    keys = [key for key in keys if key]
    if not keys:
        return set()
    return set(db.session.scalars(db.select(EmailLog.key).where(
        EmailLog.key.in_(keys), EmailLog.status.in_(("sent", "queued")))))


def send_email(to: str, subject: str, template: str, *, commit: bool = True, now: bool = False,
               attachments: Sequence[Attachment] = (), key: str | None = None,
               **context) -> EmailLog:
    """Render, let plugins adjust (``before_email_send``), deliver and log one message.

    Never raises for a delivery problem; the returned log entry says ``sent`` or ``failed``.
    A batch sender passes ``commit=False`` and commits the log entries itself.
    ``attachments`` are ``(file name, MIME type, bytes)`` triples added to the message.
    With ``PTEROCA_REDIS_URL`` set, a message is rendered here and delivered by a worker, with
    retries (``kernel.mail_queue``; the entry says ``queued``), unless ``now`` is set or the
    caller batches (``commit=False``: it already runs as a job).

    ``key`` makes the message once-only: when the log already has an entry with that key that
    was sent or queued, nothing is sent and that entry is returned (a failed one is tried
    again). A job that may run twice (after a crash) passes a key per message and ``now=True``,
    so each message is logged, and so remembered, as soon as it went out.
    """
    entry = None
    if key is not None:
        entry = db.session.scalar(db.select(EmailLog).where(EmailLog.key == key))
        if entry is not None and entry.status in ("sent", "queued"):
            return entry
    if entry is None:
        entry = EmailLog(recipient=to, subject=str(subject), template=template, key=key)
    entry.status, entry.error = "sent", ""
    try:
        message = build_message(to, str(subject), template, attachments=attachments, **context)
        call_hook("before_email_send", message=message)  # a plugin that raises is skipped
        entry.subject = str(message["Subject"] or "")[:255]
        if is_local_transport(current_app.config.get("MAIL_URL")):
            entry.body = text_of(message)
        if commit and not now:
            from kernel.mail_queue import queue_delivery

            if queue_delivery(entry, message):
                return entry
        deliver(message, current_app.config.get("MAIL_URL") or "console://")
    except IntegrityError:  # queued by another run of the same keyed message meanwhile
        db.session.rollback()
        return db.session.scalar(db.select(EmailLog).where(EmailLog.key == key))
    except Exception as exc:  # noqa: BLE001 - mail trouble must never break the user's action
        current_app.logger.warning("sending %r to %s failed: %s: %s", template, to,
                                   type(exc).__name__, exc)
        entry.status, entry.error = "failed", f"{type(exc).__name__}: {exc}"[:2000]
    db.session.add(entry)
    if commit:
        try:
            db.session.commit()
        except IntegrityError:  # another run sent the same keyed message at the same moment
            db.session.rollback()
            return db.session.scalar(db.select(EmailLog).where(EmailLog.key == key))
    return entry
