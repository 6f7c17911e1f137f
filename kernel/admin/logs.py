"""Read-only logs: the audit log and (when the mail module provides it) the email log.

Both grow with every action and message, so they page by cursor (:mod:`kernel.admin.keyset`):
the newest page and the millionth row's page cost the same. Their filters' columns have a
``(column, id)`` index (migration k0015) so a filtered page reads only its rows too.
"""

from __future__ import annotations

import json
import re

from flask_admin.contrib.sqla import ModelView
from markupsafe import Markup, escape

from kernel.admin.base import PermissionMixin
from kernel.admin.keyset import KeysetListMixin
from kernel.extensions import db


def _json(view, context, model, name):
    value = getattr(model, name)
    if not value:
        return ""
    return Markup("<code>{}</code>").format(escape(json.dumps(value, sort_keys=True)))


_LINK = re.compile(r"https?://[^\s<>\"']+")


def _message(view, context, model, name):
    """A kept message's text as the customer reads it, its links clickable (the demo outbox)."""
    text = getattr(model, name) or ""
    if not text:
        return Markup("<em>{}</em>").format(
            "Not kept: only messages of the console:// and file:// transports are stored."
        )
    pieces, at = [], 0
    for found in _LINK.finditer(text):  # escape the text around links, and each link
        pieces.append(escape(text[at : found.start()]))
        pieces.append(Markup('<a href="{0}" rel="noreferrer">{0}</a>').format(found.group(0)))
        at = found.end()
    pieces.append(escape(text[at:]))
    return Markup(
        '<pre class="email-body" style="white-space: pre-wrap; overflow-wrap: anywhere">{}</pre>'
    ).format(Markup("").join(pieces))


def _open_link(view, context, model, name):
    from flask import url_for

    return Markup('<a href="{}">{}</a>').format(
        url_for("emails.details_view", id=model.id), getattr(model, name) or "(no subject)"
    )


class ReadOnlyView(PermissionMixin, KeysetListMixin, ModelView):
    """A log: read-only, newest first, paged by cursor (the tables grow without bound)."""

    permission = "admin.logs"
    can_create = can_edit = can_delete = False
    can_view_details = True
    can_export = False
    page_size = 50


def audit_log_view() -> ModelView:
    from kernel.models import AuditLog

    class AuditLogAdmin(ReadOnlyView):
        column_list = ("created_at", "actor", "action", "target", "ip", "details")
        column_filters = ("action", "actor", "target", "created_at")
        column_searchable_list = ("actor", "action", "target")
        column_formatters = {"details": _json}
        column_formatters_detail = {"details": _json}

    return AuditLogAdmin(
        AuditLog, db, name="Audit log", endpoint="audit", url="/admin/audit", category="Logs"
    )


def email_log_view() -> ModelView:
    from kernel.mail_delivery import EmailLog

    class EmailLogAdmin(ReadOnlyView):
        column_list = ("created_at", "recipient", "subject", "template", "status", "error")
        column_details_list = (
            "created_at",
            "recipient",
            "subject",
            "template",
            "status",
            "error",
            "body",
        )
        column_labels = {"body": "Message", "created_at": "Sent at"}
        column_formatters = {"subject": _open_link}
        column_formatters_detail = {"body": _message}
        column_searchable_list = ("recipient", "subject")
        column_filters = ("recipient", "template", "status", "created_at")

    return EmailLogAdmin(
        EmailLog, db, name="Email log", endpoint="emails", url="/admin/emails", category="Logs"
    )
