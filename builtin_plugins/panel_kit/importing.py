"""What both panel plugins' imports of existing servers share beyond the store's part
(``adopted_service``, ``import_terms``): who, here, owns a panel user's servers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from kernel import User, db


def local_owner(panel_user: dict | None, user_link: Any) -> User | None:
    """The local account of ``panel_user``: the one linked to it (``user_link`` is the plugin's
    link model, with ``user_id`` and ``panel_user_id``), else the one with exactly its email
    (case aside); None when there is none."""
    if panel_user is None:
        return None
    linked = db.session.scalar(
        select(user_link.user_id).where(user_link.panel_user_id == int(panel_user["id"]))
    )
    if linked is not None:
        return db.session.get(User, linked)
    email = str(panel_user.get("email") or "").strip().lower()
    return db.session.scalar(select(User).where(func.lower(User.email) == email)) if email else None
