"""The kernel's part of an erasure: anonymise the account and its trail, keep the books.

Kept, because the law requires the records (and the ledger's invariant needs them): the
account row itself (same id), its wallet, every ledger entry, every payment. Their personal
content goes: the account's address becomes a pseudonymous one (``erased-<id>-<random>@
erased.invalid``, a reserved domain nobody can register), its name, password, second factor,
language and login times are cleared, and every address, name and IP address of the account
found by :func:`kernel.privacy.kernel_data.footprint` is replaced in the audit log, the
email log, payments and ledger metadata; the texts in the details of the account's own audit
entries are redacted (what happened, when and the numbers stay). Exports and recovery codes
are deleted.
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import Text, cast, or_

from kernel import clock
from kernel.accounts.limit_storage import RateLimitCounter
from kernel.accounts.models import ERASED_DOMAIN, LoginSession, RecoveryCode, User
from kernel.extensions import db
from kernel.mail_delivery import EmailLog
from kernel.models import AuditLog
from kernel.payments.models import LedgerEntry, Payment
from kernel.privacy.export import delete_exports
from kernel.privacy.kernel_data import Footprint, footprint

ERASED_NAME = "erased account"
REDACTED = "(erased)"
MIN_NAME = 3  # a shorter name is not searched for in free text (it would match everywhere)


def pseudonym(user: User) -> str:
    return f"erased-{user.id}-{secrets.token_hex(4)}@{ERASED_DOMAIN}"


class Scrubber:
    """Replaces an account's identifiers in strings and JSON values."""

    def __init__(self, trail: Footprint, names: set[str], address: str):
        self.replacements: list[tuple[str, str]] = sorted(
            [(email, address) for email in trail.emails]
            + [(name, ERASED_NAME) for name in names if len(name) >= MIN_NAME]
            + [(ip, "") for ip in trail.ips],
            key=lambda pair: -len(pair[0]),
        )

    def text(self, value: str) -> str:
        if not value:
            return value
        for needle, replacement in self.replacements:
            if needle.lower() in value.lower():
                value = _replace_folded(value, needle, replacement)
        return value

    def json(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(str(k)): self.json(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.json(v) for v in value]
        return value

    def redact(self, value: Any) -> Any:
        """Details of the account's own audit entries: numbers and flags stay, every text
        goes (plugins log usernames, server names and such, which the kernel cannot know)."""
        if isinstance(value, str):
            return REDACTED if value else value
        if isinstance(value, dict):
            return {str(k): self.redact(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.redact(v) for v in value]
        return value

    def needles(self) -> list[str]:
        return [needle for needle, _r in self.replacements if needle]


def _replace_folded(text: str, needle: str, replacement: str) -> str:
    """Replace ``needle`` in ``text`` whatever its case (addresses are case-insensitive)."""
    low, target, out, start = text.lower(), needle.lower(), [], 0
    while (found := low.find(target, start)) >= 0:
        out.append(text[start:found])
        out.append(replacement)
        start = found + len(needle)
    out.append(text[start:])
    return "".join(out)


def _names(user: User, trail: Footprint) -> set[str]:
    """The account's name and the names it had (the audit log records profile changes)."""
    names = {user.name} if user.name else set()
    for row in db.session.scalars(
        trail.audit_rows().where(AuditLog.action == "user.profile_updated")
    ):
        if isinstance(row.details, dict) and isinstance(row.details.get("name"), str):
            names.add(row.details["name"])
    return {name.strip() for name in names if name.strip()}


def _mentioning(model, column, needles: list[str]):
    """Rows of ``model`` whose ``column`` (text or JSON) mentions any of ``needles``."""
    if not needles:
        return []
    as_text = cast(column, Text)
    return db.session.scalars(
        db.select(model).where(or_(*[as_text.ilike(f"%{needle}%") for needle in needles]))
    )


def anonymise(user: User) -> str:
    """Anonymise ``user`` and the kernel's rows about it (no commit); the pseudonymous address."""
    trail = footprint(user)
    address = pseudonym(user)
    scrub = Scrubber(trail, _names(user, trail), address)
    needles = scrub.needles()
    own = trail.emails
    for row in db.session.scalars(trail.audit_rows()):
        if row.actor in own or row.actor == "system":
            row.ip = ""  # the account's own requests (and anonymous ones about it)
        row.actor = address if row.actor in own else row.actor
        row.target = address if row.target in own else scrub.text(row.target)
        row.details = scrub.redact(row.details)
    if trail.ips:  # anonymous entries made from the account's addresses (its requests)
        db.session.execute(
            db.update(AuditLog)
            .where(AuditLog.actor == "system", AuditLog.ip.in_(trail.ips))
            .values(ip="")
        )
    for row in _mentioning(AuditLog, AuditLog.details, needles):
        row.details = scrub.json(row.details)
    for row in db.session.scalars(db.select(EmailLog).where(EmailLog.recipient.in_(own))):
        row.recipient, row.body = address, ""  # a kept copy of a mail to them: links, names
    for column in (EmailLog.subject, EmailLog.error):
        for row in _mentioning(EmailLog, column, needles):
            row.subject, row.error = scrub.text(row.subject), scrub.text(row.error)
    # A kept message that names them (to staff: "x opened ticket ...") quotes what they wrote
    # too, which no needle finds: the whole text goes.
    for row in _mentioning(EmailLog, EmailLog.body, needles):
        row.body = ""
    for row in db.session.scalars(db.select(Payment).where(Payment.user_id == user.id)):
        row.failure_reason = scrub.text(row.failure_reason)
        row.checkout_url = scrub.text(row.checkout_url)
        row.meta = scrub.json(row.meta)
    for row in db.session.scalars(db.select(LedgerEntry).where(LedgerEntry.user_id == user.id)):
        # amounts and references stay: the books balance; a server's name (meta["server"],
        # kernel.payments.history) is one the customer chose, so it goes
        meta = scrub.json(row.meta)
        row.meta = (
            {k: v for k, v in meta.items() if k != "server"} if isinstance(meta, dict) else meta
        )
    db.session.execute(db.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.session.execute(db.delete(LoginSession).where(LoginSession.user_id == user.id))
    keyed = sorted(set(own) | set(trail.ips))  # rate-limit counters keyed by address or IP
    if keyed:
        db.session.execute(
            db.delete(RateLimitCounter).where(
                or_(*[RateLimitCounter.key.like(f"%/{value}/%") for value in keyed])
            )
        )
    delete_exports(user)
    user.email, user.name, user.pending_email, user.language = address, "", None, ""
    user.password_hash, user.password_changed_at = "", None
    user.totp_secret, user.totp_enabled_at, user.totp_last_counter = "", None, None
    user.email_verified_at, user.last_login_at = None, None
    user.token_version = (user.token_version or 0) + 1  # every session of it ends
    user.is_blocked, user.erased_at = True, clock.now()
    return address
