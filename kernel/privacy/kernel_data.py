"""What the kernel itself keeps about one account, and where: read for exports, found for erasure.

An account's trail in the kernel's tables is keyed two ways: by ``user_id`` (wallet, ledger,
payments, exports, erasure requests) and by email address (the audit log's actor and target,
the email log's recipient), including addresses the account had before an email change.
:func:`footprint` finds both, so the export shows and the erasure removes the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_

from kernel.accounts.models import User
from kernel.extensions import db
from kernel.mail_delivery import EmailLog
from kernel.models import AuditLog
from kernel.payments.models import LedgerEntry, Payment, Wallet
from kernel.privacy.models import DataExport, ErasureRequest

# audit details keys that name another address of the same account
ADDRESS_KEYS = ("old_email", "new_email")


@dataclass
class Footprint:
    """The identifiers of one account found in the kernel's tables."""

    emails: set[str] = field(default_factory=set)
    ips: set[str] = field(default_factory=set)

    def audit_rows(self):
        return db.select(AuditLog).where(
            or_(AuditLog.actor.in_(self.emails), AuditLog.target.in_(self.emails))
        )


def footprint(user: User) -> Footprint:
    """Every address the account used (current, pending, earlier ones named by the audit log's
    email changes) and every IP address its audit entries recorded."""
    found = Footprint(emails={e for e in (user.email, user.pending_email) if e})
    frontier = set(found.emails)
    while frontier:  # an address change names the next (or previous) address
        rows = db.session.scalars(
            db.select(AuditLog).where(
                AuditLog.action.in_(
                    (
                        "user.email_changed",
                        "user.email_change_requested",
                        "user.email_change_cancelled",
                    )
                ),
                or_(AuditLog.actor.in_(frontier), AuditLog.target.in_(frontier)),
            )
        )
        new = {
            str(row.details.get(key))
            for row in rows
            for key in ADDRESS_KEYS
            if isinstance(row.details, dict) and row.details.get(key)
        } - found.emails
        found.emails |= new
        frontier = new
    own = db.select(AuditLog.ip).where(AuditLog.actor.in_(found.emails), AuditLog.ip != "")
    found.ips = set(db.session.scalars(own.distinct()))
    return found


def _staff_or_self(actor: str, emails: set[str]) -> str:
    """Who acted, as the customer may see it: themselves, the system, or "staff" (the
    staff member's own address is their personal data, not the customer's)."""
    return actor if actor in emails or actor == "system" else "staff"


def _own_target(target: str, emails: set[str]) -> str:
    """A staff member's entries may target other customers: their addresses are not shown."""
    return "another account" if "@" in target and target not in emails else target


def collect(user: User) -> dict[str, Any]:
    """The kernel's areas of an export: ``{area: data}``."""
    trail = footprint(user)
    wallet = db.session.get(Wallet, user.id)
    ledger = db.session.scalars(
        db.select(LedgerEntry).where(LedgerEntry.user_id == user.id).order_by(LedgerEntry.id)
    )
    payments = db.session.scalars(
        db.select(Payment).where(Payment.user_id == user.id).order_by(Payment.id)
    )
    audit = db.session.scalars(trail.audit_rows().order_by(AuditLog.id))
    mails = db.session.scalars(
        db.select(EmailLog).where(EmailLog.recipient.in_(trail.emails)).order_by(EmailLog.id)
    )
    exports = db.session.scalars(db.select(DataExport).where(DataExport.user_id == user.id))
    erasures = db.session.scalars(
        db.select(ErasureRequest).where(ErasureRequest.user_id == user.id)
    )
    return {
        "account": {
            "id": user.id,
            "email": user.email,
            "name": user.name,
            "role": user.role_name,
            "language": user.language or "",
            "created_at": user.created_at,
            "email_verified_at": user.email_verified_at,
            "pending_email": user.pending_email,
            "last_login_at": user.last_login_at,
            "has_password": user.has_password,
            "password_changed_at": user.password_changed_at,
            "two_factor_enabled_at": user.totp_enabled_at,
            "blocked": user.is_blocked,
            "addresses_used": sorted(trail.emails),
        },
        "wallet": {
            "balance": wallet.balance if wallet else 0,
            "entries": [
                {
                    "created_at": e.created_at,
                    "amount": e.amount,
                    "kind": e.kind,
                    "reference": e.reference,
                    "meta": e.meta,
                }
                for e in ledger
            ],
        },
        "payments": [
            {
                "id": p.id,
                "provider": p.provider,
                "external_id": p.external_id,
                "status": p.status,
                "currency": p.currency,
                "amount_charged": p.amount_charged,
                "amount_credited": p.amount_credited,
                "amount_refunded": p.amount_refunded,
                "created_at": p.created_at,
                "settled_at": p.settled_at,
                "failure_reason": p.failure_reason,
                "meta": p.meta,
            }
            for p in payments
        ],
        "audit_log": [
            {
                "at": a.created_at,
                "action": a.action,
                "actor": _staff_or_self(a.actor, trail.emails),
                "target": _own_target(a.target, trail.emails),
                "details": a.details,
                "ip": a.ip if a.actor in trail.emails else "",
            }
            for a in audit
        ],
        "email_log": [
            {
                "at": m.created_at,
                "to": m.recipient,
                "subject": m.subject,
                "template": m.template,
                "status": m.status,
            }
            for m in mails
        ],
        "privacy": {
            "exports": [
                {"requested_at": x.created_at, "status": x.status, "expires_at": x.expires_at}
                for x in exports
            ],
            "erasure_requests": [
                {
                    "requested_at": r.requested_at,
                    "due_at": r.due_at,
                    "status": r.status,
                    "requested_by": r.requested_by,
                }
                for r in erasures
            ],
        },
    }
