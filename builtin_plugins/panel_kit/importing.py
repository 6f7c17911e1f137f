"""What both panel plugins' imports of existing servers share beyond the store's part
(``adopted_service``, ``import_terms``): who, here, owns a panel user's servers, and the
end of one server's import."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from kernel import User, db, record_audit


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


def record_import(
    report: Any,
    service: Any,
    server: dict[str, Any],
    user: User,
    owner: dict[str, Any],
    *,
    links: Any,
    user_link: Any,
    event: str,
    details: dict[str, Any],
    actor: str,
) -> None:
    """The end of one server's import, once the panel carries the service's external id: the
    server linked (``links``: the plugin's links module), the owner's account linked to its
    panel user when it was not (``user_link``: the plugin's model), the audit ``event``
    written and all committed together, the report told."""
    links.link_server(service, server, "imported")
    if db.session.get(user_link, user.id) is None:
        db.session.add(
            user_link(
                user_id=user.id,
                panel_user_id=int(owner["id"]),
                panel_username=str(owner.get("username") or ""),
                origin="linked",
                last_error="",
            )
        )
    record_audit(event, f"service:{service.id}", details, actor=actor, commit=False)
    db.session.commit()
    report.imported.append((int(server["id"]), service.id, user.email))
