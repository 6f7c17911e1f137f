"""Sample data for ``pteroca demo``: a saved reply staff can try (made once)."""

from __future__ import annotations

from builtin_plugins.support.models import SavedReply
from kernel import db

WELCOME = (
    "Thanks for getting in touch! We are looking into it and will write again here "
    "as soon as we know more."
)


def seed() -> list[str]:
    if db.session.scalar(db.select(SavedReply.id).limit(1)) is None:
        db.session.add(SavedReply(title="We are on it", body=WELCOME))
        db.session.commit()
    return ["support: customers open tickets on /support/, staff answer on /admin/support/tickets/"]
