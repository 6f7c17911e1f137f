"""Outgoing email: theme templates, the ``before_email_send`` hook, then delivery now or queued.

``send_email`` never raises for a delivery problem: the failure is logged and
recorded in the email log, and the user's action goes on. Delivery (the transports and the
email log) lives in :mod:`kernel.mail_delivery`; the transport comes from ``PTEROCA_MAIL_URL``:

- ``console://`` (default): the message is written to the application log;
- ``file:///path/to/mbox``: messages are appended to the file;
- ``smtp://user:pass@host:port`` (plain, port 25), ``smtp+starttls://...`` (STARTTLS,
  port 587), ``smtps://...`` (TLS from the start, port 465).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Any

import jinja2
from flask import current_app, render_template
from sqlalchemy.exc import IntegrityError

from kernel.extensions import db
from kernel.hooks import call_hook
from kernel.mail_delivery import (
    EmailLog,
    deliver,
    is_local_transport,
    queue_delivery,
    text_of,
)

Attachment = tuple[str, str, bytes]  # (file name, MIME type such as "application/pdf", content)


def build_message(
    to: str, subject: str, template: str, *, attachments: Sequence[Attachment] = (), **context
) -> EmailMessage:
    """Render ``email/<template>.txt`` (and ``.html`` when the theme has it) into a message,
    with ``attachments`` (an invoice PDF, say) after the text."""
    from kernel import site_settings

    context.setdefault("site_name", site_settings.get("site_name"))
    context.setdefault("base_url", current_app.config.get("BASE_URL", "").rstrip("/"))
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = formataddr(
        (site_settings.get("mail_from_name") or "", site_settings.get("mail_from"))
    )
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
        message.add_attachment(
            bytes(content), maintype=maintype, subtype=subtype or "octet-stream", filename=filename
        )
    return message


def sent_keys(keys: Iterable[str]) -> set[str]:
    """The keys among ``keys`` whose once-only message was sent or queued already: a batch
    job run again (after a crash) skips them without rendering (``send_email`` would too)."""
    keys = [key for key in keys if key]
    if not keys:
        return set()
    return set(
        db.session.scalars(
            db.select(EmailLog.key).where(
                EmailLog.key.in_(keys), EmailLog.status.in_(("sent", "queued"))
            )
        )
    )


def send_email(
    to: str,
    subject: str,
    template: str,
    *,
    commit: bool = True,
    now: bool = False,
    attachments: Sequence[Attachment] = (),
    key: str | None = None,
    **context: Any,
) -> EmailLog:
    """Render, let plugins adjust (``before_email_send``), deliver and log one message.

    Never raises for a delivery problem; the returned log entry says ``sent`` or ``failed``.
    A batch sender passes ``commit=False`` and commits the log entries itself.
    ``attachments`` are ``(file name, MIME type, bytes)`` triples added to the message.
    With ``PTEROCA_REDIS_URL`` set, a message is rendered here and delivered by a worker, with
    retries (``kernel.mail_delivery``; the entry says ``queued``), unless ``now`` is set or the
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
            if queue_delivery(entry, message):
                return entry
        deliver(message, current_app.config.get("MAIL_URL") or "console://")
    except IntegrityError:  # queued by another run of the same keyed message meanwhile
        db.session.rollback()
        return db.session.scalar(db.select(EmailLog).where(EmailLog.key == key))
    except Exception as exc:  # noqa: BLE001 - mail trouble must never break the user's action
        current_app.logger.warning(
            "sending %r to %s failed: %s: %s", template, to, type(exc).__name__, exc
        )
        entry.status, entry.error = "failed", f"{type(exc).__name__}: {exc}"[:2000]
    db.session.add(entry)
    if commit:
        try:
            db.session.commit()
        except IntegrityError:  # another run sent the same keyed message at the same moment
            db.session.rollback()
            return db.session.scalar(db.select(EmailLog).where(EmailLog.key == key))
    return entry
