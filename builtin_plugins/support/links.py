"""Signed, expiring links: the customer answers a ticket from the email, without logging in.

A link stands for one customer on one ticket (never for staff: their emails link to the
admin page, which needs a login). It is signed with the app's secret key (salted for this
use only), expires after ``reply_link_days``, and stops working when the account is
blocked. Paths are fixed here because emails are built in jobs, where there is no request
to build URLs from.
"""

from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from builtin_plugins.support import config
from builtin_plugins.support.errors import SupportError
from builtin_plugins.support.models import Ticket
from kernel import User, db

SALT = "pteroca.support.reply-link"
CUSTOMER_TICKET = "/support/{id}"
REPLY_LINK = "/support/reply/{token}"
STAFF_TICKET = "/admin/support/tickets/{id}"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=SALT)


def base_url() -> str:
    return str(current_app.config.get("BASE_URL", "")).rstrip("/")


def reply_token(ticket: Ticket) -> str:
    return _serializer().dumps({"t": ticket.id, "u": ticket.user_id})


def reply_url(ticket: Ticket) -> str:
    return base_url() + REPLY_LINK.format(token=reply_token(ticket))


def staff_url(ticket_id: int) -> str:
    return base_url() + STAFF_TICKET.format(id=ticket_id)


def customer_url(ticket_id: int) -> str:
    return base_url() + CUSTOMER_TICKET.format(id=ticket_id)


def resolve(token: str) -> tuple[Ticket, User]:
    """The ticket and customer a reply link stands for; :class:`SupportError` otherwise."""
    max_age = config.load().reply_link_days * 86400
    try:
        data = _serializer().loads(token, max_age=max_age)
    except SignatureExpired:
        raise SupportError("This link has expired: log in to answer the ticket.", 410) from None
    except BadSignature:
        raise SupportError("This link is not valid.", 404) from None
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("t"), int)
        or not isinstance(data.get("u"), int)
    ):
        raise SupportError("This link is not valid.", 404)
    ticket = db.session.get(Ticket, data["t"])
    user = db.session.get(User, data["u"])
    if ticket is None or user is None or ticket.user_id != user.id:
        raise SupportError("This link is not valid.", 404)
    if user.is_blocked:
        raise SupportError("This account is blocked.", 403)
    return ticket, user
