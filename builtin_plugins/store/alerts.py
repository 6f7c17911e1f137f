"""Telling staff what needs a human: a server the reconciler gave up on, a failed installation.

An alert is an audit row (``store.alert``) and an email to every account allowed to manage the
store (permission ``store.manage``), both written in the caller's transaction. The servers also
stay listed on **Admin > Store > Out of sync** and in the store's health check until someone
retries or accepts them.
"""

from __future__ import annotations

import secrets

from kernel import db, job, outbox_add, record_audit_many, users_with_permission

PERMISSION = "store.manage"


def staff(service_ids: list[int], what: str, detail: str) -> None:
    """Alert staff about ``service_ids`` (``what``: a short title; ``detail``: what happened)."""
    if not service_ids:
        return
    record_audit_many(
        "store.alert",
        [(f"service:{sid}", {"what": what, "detail": detail[:2000]}) for sid in service_ids],
        actor="system",
        commit=False,
    )
    outbox_add(send, list(service_ids), what, detail[:2000], secrets.token_hex(8))


def recipients() -> list:
    """Accounts that manage the store (their role grants ``store.manage`` or everything)."""
    return [user for user in users_with_permission(PERMISSION) if not user.is_erased]


@job(queue="mail")
def send(service_ids: list[int], what: str, detail: str, token: str) -> int:
    """Job: email the alert to each staff account (once per account and alert)."""
    from kernel import send_email

    people = [(user.email, user.name) for user in recipients()]
    db.session.commit()
    for email, name in people:
        send_email(
            email,
            f"[staff] {what}",
            "store/staff_alert",
            now=True,
            key=f"store:alert:{token}:{email}"[:191],
            name=name,
            what=what,
            detail=detail,
            service_ids=service_ids,
        )
    return len(people)
