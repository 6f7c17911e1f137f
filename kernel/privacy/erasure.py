"""Right to erasure: a request, a grace period, every plugin's eraser, then the kernel's.

1. The customer asks (password or a fresh login, the second factor when on, their address
   typed as confirmation) or staff schedule it (audited). The request is due after the
   ``erasure_grace_days`` site setting (staff may skip it); until then the customer can cancel
   and their servers keep running.
2. When due, the ``kernel.privacy`` cron task claims it (a guarded update: one runner) and
   calls every plugin's ``erase_personal_data(user)``; the store terminates the servers
   through its normal path there. A plugin that raises leaves the request scheduled with
   a backoff; after :data:`MAX_ATTEMPTS` it is ``failed`` and waits for staff (admin page).
3. Only when every plugin succeeded does the kernel anonymise its own rows
   (:mod:`.anonymise`): the account keeps its id under a pseudonymous address, so the ledger,
   payments and invoices the law requires stay, balanced, with nobody's name on them.

A plugin enabled after an erasure (it was disabled then) is asked later by the same task
(catch-up), with the already anonymised account: plugins should key their rows by user id.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import update

from kernel import audit, clock, site_settings
from kernel.accounts import twofactor
from kernel.accounts.models import User
from kernel.accounts.services import AccountError, normalise_email, verify_password
from kernel.extensions import db
from kernel.hooks import answers, is_kernel
from kernel.mail import send_email
from kernel.plugins.host import plugin_manager
from kernel.privacy import anonymise
from kernel.privacy.export import expire_exports
from kernel.privacy.models import (
    CANCELLED,
    DONE,
    FAILED,
    RUNNING,
    SCHEDULED,
    ErasureRequest,
)

MAX_ATTEMPTS = 5
RETRY_AFTER = (timedelta(minutes=10), timedelta(hours=1), timedelta(hours=6), timedelta(days=1))
STUCK_AFTER = timedelta(hours=1)  # a run that died (process killed) is taken over after this
FRESH_LOGIN_SECONDS = 600  # accounts without a password confirm with a login this recent
BATCH = 20


class ErasureError(AccountError):
    """An erasure request refused; the message is shown as is."""


def grace_days() -> int:
    return max(0, int(site_settings.get("erasure_grace_days") or 0))


def open_request(user: User) -> ErasureRequest | None:
    """The account's request that is still to be carried out (scheduled, running or failed)."""
    return db.session.scalar(
        db.select(ErasureRequest)
        .where(
            ErasureRequest.user_id == user.id,
            ErasureRequest.status.in_((SCHEDULED, RUNNING, FAILED)),
        )
        .limit(1)
    )


def request_erasure(
    user: User,
    *,
    confirm: str,
    password: str = "",
    code: str = "",
    recently_authenticated: bool = False,
) -> ErasureRequest:
    """The customer's own request, after proving it is them; due after the grace period."""
    if user.has_permission("admin.access"):
        raise ErasureError(
            _("Staff accounts are deleted by another administrator (Admin > Privacy).")
        )
    pending = open_request(user)
    if pending is not None:
        when = f"{pending.due_at:%Y-%m-%d %H:%M} UTC"
        raise ErasureError(
            _("Your account is already scheduled for deletion on %(date)s.", date=when)
        )
    if normalise_email(confirm) != user.email:
        raise ErasureError(_("Type your email address exactly as shown to confirm."))
    if user.has_password:
        if not verify_password(user, password):
            raise ErasureError(_("Your current password is not correct."))
    elif not recently_authenticated:
        raise ErasureError(
            _("For your safety, log in again (with the same method) and confirm within 10 minutes.")
        )
    if user.has_2fa:
        twofactor.check_second_factor(user, code)
    return _schedule(
        user,
        requested_by="customer",
        actor=user.email,
        due=clock.now() + timedelta(days=grace_days()),
    )


def schedule_by_staff(user: User, *, actor: str, immediately: bool = False) -> ErasureRequest:
    """Staff schedule an account's erasure (after the grace period, or now); audited."""
    if user.is_erased:
        raise ErasureError(f"account #{user.id} was already erased")
    pending = open_request(user)
    if pending is not None:
        if pending.status == RUNNING:
            raise ErasureError(f"the erasure of account #{user.id} is running")
        pending.status, pending.attempts, pending.last_error = SCHEDULED, 0, ""
        if immediately:
            pending.due_at = clock.now()
        db.session.commit()
        audit.record(
            "privacy.erasure_rescheduled",
            user.email,
            {"request": pending.id, "due": pending.due_at.isoformat()},
            actor=actor,
        )
        return pending
    due = clock.now() if immediately else clock.now() + timedelta(days=grace_days())
    return _schedule(user, requested_by="staff", actor=actor, due=due)


def _schedule(user: User, *, requested_by: str, actor: str, due: datetime) -> ErasureRequest:
    request = ErasureRequest(
        user_id=user.id,
        status=SCHEDULED,
        due_at=due,
        requested_by=requested_by,
        attempts=0,
        last_error="",
        erased_by=[],
    )
    db.session.add(request)
    db.session.commit()
    audit.record(
        "privacy.erasure_requested",
        user.email,
        {"request": request.id, "due": due.isoformat(), "by": requested_by},
        actor=actor,
    )
    send_email(
        user.email,
        _("Your account will be deleted"),
        "privacy_erasure_scheduled",
        user=user,
        due=f"{due:%Y-%m-%d %H:%M} UTC",
        by_staff=requested_by == "staff",
    )
    return request


def cancel(user: User, *, actor: str) -> bool:
    """Cancel a scheduled (not yet running) erasure; False when there is none."""
    done = db.session.execute(
        update(ErasureRequest)
        .where(ErasureRequest.user_id == user.id, ErasureRequest.status.in_((SCHEDULED, FAILED)))
        .values(status=CANCELLED)
    ).rowcount
    db.session.commit()
    if done:
        audit.record("privacy.erasure_cancelled", user.email, actor=actor)
    return bool(done)


# --- carrying it out ---------------------------------------------------------------------------


def _claim(request_id: int, now: datetime) -> bool:
    """Take the request for this runner: one runner wins, whatever races it."""
    claimed = db.session.execute(
        update(ErasureRequest)
        .where(
            ErasureRequest.id == request_id,
            ((ErasureRequest.status == SCHEDULED) & (ErasureRequest.due_at <= now))
            | ((ErasureRequest.status == RUNNING) & (ErasureRequest.due_at <= now - STUCK_AFTER)),
        )
        .values(status=RUNNING, attempts=ErasureRequest.attempts + 1, due_at=now)
    ).rowcount
    db.session.commit()
    return claimed == 1


def _run_erasers(user: User) -> tuple[list[str], list[str]]:
    """Every plugin's ``erase_personal_data``: (plugins that succeeded, failures)."""
    done, failed = [], []
    for plugin, _answer, error in answers("erase_personal_data", user=user):
        if is_kernel(plugin):
            continue
        if error is None:
            done.append(plugin)
        else:
            failed.append(f"{plugin}: {type(error).__name__}: {error}")
    return done, failed


def erase(request_id: int, *, actor: str = "system", now: datetime | None = None) -> ErasureRequest:
    """Carry out one due request (plugins, then the kernel); idempotent and safe to race."""
    now = now or clock.now()
    if not _claim(request_id, now):
        return db.session.get(ErasureRequest, request_id)
    request = db.session.get(ErasureRequest, request_id)
    user = db.session.get(User, request.user_id)
    done, failed = _run_erasers(user)
    db.session.refresh(request)
    if failed:
        return _postpone(request, user, failed, now)
    if not user.is_erased:
        send_email(user.email, _("Your account was deleted"), "privacy_erased", user=user)
        anonymise.anonymise(user)
    request.status, request.finished_at, request.last_error = DONE, clock.now(), ""
    request.erased_by = sorted(done)
    db.session.commit()
    audit.record(
        "privacy.erased",
        user.email,
        {"request": request.id, "plugins": sorted(done), "by": request.requested_by},
        actor=actor,
    )
    return request


def _postpone(request: ErasureRequest, user: User, failed: list[str], now: datetime):
    request.last_error = "; ".join(failed)[:2000]
    if request.attempts >= MAX_ATTEMPTS:
        request.status = FAILED
    else:
        request.status = SCHEDULED
        request.due_at = now + RETRY_AFTER[min(request.attempts, len(RETRY_AFTER)) - 1]
    db.session.commit()
    current_app.logger.warning(
        "erasure %s of account #%s not complete: %s", request.id, user.id, request.last_error
    )
    audit.record(
        "privacy.erasure_failed" if request.status == FAILED else "privacy.erasure_postponed",
        f"user:{user.id}",
        {"request": request.id, "attempt": request.attempts, "error": request.last_error[:500]},
        actor="system",
    )
    return request


def catch_up(limit: int = BATCH) -> int:
    """Ask plugins enabled since an erasure (they missed it) to erase too; returns how many."""
    implementers = {
        impl.plugin_name
        for impl in plugin_manager().hook.erase_personal_data.get_hookimpls()
        if not is_kernel(impl.plugin_name)
    }
    if not implementers:
        return 0
    caught = 0
    rows = db.session.execute(
        db.select(ErasureRequest.id, ErasureRequest.erased_by).where(ErasureRequest.status == DONE)
    ).all()
    for request_id, erased_by in rows:
        if caught >= limit or implementers <= set(erased_by or []):
            continue
        request = db.session.get(ErasureRequest, request_id)
        user = db.session.get(User, request.user_id)
        done, _failed = _run_erasers(user)
        db.session.refresh(request)
        request.erased_by = sorted(set(request.erased_by or []) | set(done))
        db.session.commit()
        caught += 1
    return caught


def run_due(now: datetime | None = None, limit: int = BATCH) -> dict[str, int]:
    """Cron task ``kernel.privacy``: due erasures, catch-up, expired export files."""
    now = now or clock.now()
    due = list(
        db.session.scalars(
            db.select(ErasureRequest.id)
            .where(
                ((ErasureRequest.status == SCHEDULED) & (ErasureRequest.due_at <= now))
                | (
                    (ErasureRequest.status == RUNNING)
                    & (ErasureRequest.due_at <= now - STUCK_AFTER)
                )
            )
            .order_by(ErasureRequest.due_at)
            .limit(limit)
        )
    )
    erased = sum(1 for request_id in due if erase(request_id, now=now).status == DONE)
    return {"erased": erased, "caught_up": catch_up(), "exports_expired": expire_exports(now)}
