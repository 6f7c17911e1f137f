"""Emails to customers about their servers (templates: ``email/store/<event>.txt``)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from kernel.extensions import db

SUBJECTS = {
    "server_purchased": _l("Your server is ready"),
    "server_renewed": _l("Your server was renewed"),
    "server_suspended": _l("Your server was suspended"),
    "deletion_warning": _l("Your server will be deleted soon"),
    "server_deleted": _l("Your server was deleted"),
}


def customer(service, event: str, **context) -> None:
    from kernel.accounts.models import User
    from kernel.mail import send_email

    user = db.session.get(User, service.user_id)
    send_email(user.email, str(SUBJECTS[event]), f"store/{event}", user=user, service=service,
               product=service.product, **context)
