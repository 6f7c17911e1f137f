"""The Privacy page: erasure requests, and staff erasing an account (always audited)."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user

from kernel.accounts.models import User
from kernel.accounts.services import AccountError, find_user, normalise_email
from kernel.admin.base import ProtectedBaseView
from kernel.extensions import db
from kernel.privacy import erasure
from kernel.privacy.models import CANCELLED, DONE, ErasureRequest

LISTED = 200


def request_rows() -> list[dict]:
    """Open requests first, then the latest finished ones, as plain rows for the page."""
    rows = db.session.execute(
        db.select(ErasureRequest, User.email)
        .join(User, User.id == ErasureRequest.user_id)
        .order_by(ErasureRequest.status.in_((DONE, CANCELLED)), ErasureRequest.id.desc())
        .limit(LISTED)
    ).all()
    return [
        {
            "id": r.id,
            "user_id": r.user_id,
            "email": email,
            "status": r.status,
            "requested_at": r.requested_at,
            "due_at": r.due_at,
            "by": r.requested_by,
            "attempts": r.attempts,
            "error": r.last_error,
            "plugins": r.erased_by or [],
        }
        for r, email in rows
    ]


class PrivacyView(ProtectedBaseView):
    permission = "admin.privacy"

    def __init__(self):
        super().__init__(
            name="Privacy", endpoint="privacy", url="/admin/privacy", category="Accounts"
        )

    def _page(self, status: int = 200, **form):
        return self.render(
            "admin/pteroca/privacy.html",
            requests=request_rows(),
            grace_days=erasure.grace_days(),
            form=form,
        ), status

    @expose("/")
    def index(self):
        return self._page()

    @expose("/erase", methods=("POST",))
    def erase(self):
        email = normalise_email(request.form.get("email", ""))
        now = bool(request.form.get("now"))
        user = find_user(email) if email else None
        if user is None:
            flash(f"There is no account with the email {email or '(empty)'}.", "error")
            return self._page(400, email=email)
        if normalise_email(request.form.get("confirm", "")) != user.email:
            flash("Type the account's email address twice to confirm.", "error")
            return self._page(400, email=email)
        if user.id == current_user.id:
            flash("You cannot erase your own account here; ask another administrator.", "error")
            return self._page(400, email=email)
        try:
            found = erasure.schedule_by_staff(user, actor=current_user.email, immediately=now)
        except AccountError as exc:
            flash(str(exc), "error")
            return self._page(400, email=email)
        if now:
            found = erasure.erase(found.id, actor=current_user.email)
        flash(self._outcome(found), "success" if found.status != "failed" else "error")
        return redirect(url_for(".index"), 303)

    @staticmethod
    def _outcome(found: ErasureRequest) -> str:
        if found.status == DONE:
            return f"Account #{found.user_id} was erased."
        if found.last_error:
            return (
                f"Account #{found.user_id}: the erasure is not complete ({found.last_error}); "
                f"it is tried again at {found.due_at:%Y-%m-%d %H:%M} UTC."
            )
        return f"Account #{found.user_id} will be erased at {found.due_at:%Y-%m-%d %H:%M} UTC."

    @expose("/<int:request_id>/retry", methods=("POST",))
    def retry(self, request_id: int):
        found = db.session.get(ErasureRequest, request_id)
        if found is None or found.status in (DONE, CANCELLED):
            flash("That request is finished or does not exist.", "error")
            return self._page(404)
        user = db.session.get(User, found.user_id)
        found = erasure.erase(
            erasure.schedule_by_staff(user, actor=current_user.email, immediately=True).id,
            actor=current_user.email,
        )
        flash(self._outcome(found), "success" if found.status == DONE else "error")
        return redirect(url_for(".index"), 303)

    @expose("/<int:request_id>/cancel", methods=("POST",))
    def cancel(self, request_id: int):
        found = db.session.get(ErasureRequest, request_id)
        user = db.session.get(User, found.user_id) if found is not None else None
        if user is None or not erasure.cancel(user, actor=current_user.email):
            flash("That request cannot be cancelled (finished, running or unknown).", "error")
            return self._page(400)
        flash(f"The erasure of account #{user.id} was cancelled.", "success")
        return redirect(url_for(".index"), 303)
