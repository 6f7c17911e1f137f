"""The audit log: who did what to which target, from where."""

from __future__ import annotations

from flask import has_request_context, request
from flask_login import current_user

from kernel import clock
from kernel.extensions import db
from kernel.models import AuditLog


def current_actor() -> str:
    if has_request_context():
        try:
            if current_user and current_user.is_authenticated:
                return current_user.email
        except Exception:  # noqa: BLE001 - no login manager in a bare app
            pass
    return "system"


def record(
    action: str,
    target: str = "",
    details: dict | None = None,
    *,
    actor: str | None = None,
    commit: bool = True,
) -> AuditLog:
    """Append one audit entry. ``actor`` defaults to the logged-in user, else ``system``."""
    entry = AuditLog(
        actor=actor or current_actor(),
        action=action,
        target=target,
        details=details or {},
        ip=(request.remote_addr or "") if has_request_context() else "",
    )
    db.session.add(entry)
    if commit:
        db.session.commit()
    return entry


def record_many(
    action: str, entries: list[tuple[str, dict]], *, actor: str | None = None, commit: bool = True
) -> int:
    """Append one entry per ``(target, details)`` in a single INSERT (for batch jobs)."""
    if not entries:
        return 0
    who = actor or current_actor()
    ip = (request.remote_addr or "") if has_request_context() else ""
    stamp = clock.now()
    db.session.execute(
        db.insert(AuditLog),
        [
            dict(
                actor=who,
                action=action,
                target=target,
                details=details or {},
                ip=ip,
                created_at=stamp,
            )
            for target, details in entries
        ],
    )
    if commit:
        db.session.commit()
    return len(entries)
