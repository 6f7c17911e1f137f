"""The admin's page for one account: who it is, its balance, and what staff can do for it.

Thin: every action calls a service (``kernel.accounts.staff_actions``,
``kernel.accounts.impersonation``, ``kernel.payments.adjustments``), which owns the rule and
the audit entry; a refusal is shown with its reason and a 400, nothing is changed.
"""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user

from kernel import site_settings
from kernel.accounts import impersonation, staff_actions
from kernel.accounts.models import User
from kernel.accounts.services import AccountError
from kernel.admin.base import ProtectedBaseView
from kernel.extensions import db
from kernel.payments import adjustments, debts, ledger
from kernel.payments.money import MoneyError, format_amount


class UserPageView(ProtectedBaseView):
    permission = "admin.users"

    def __init__(self):
        super().__init__(name="User", endpoint="user_page", url="/admin/users/account")

    def is_visible(self) -> bool:
        return False  # reached from the users list

    def _user(self, user_id: int) -> User:
        return db.session.get(User, user_id) or abort(404)

    def _page(self, user: User, status: int = 200, amount: str = "", reason: str = ""):
        currency = site_settings.get("currency")
        may_pay = current_user.has_permission("admin.payments")
        try:
            impersonation.check_may_impersonate(current_user, user)
            impersonable = ""
        except AccountError as exc:
            impersonable = str(exc)
        return self.render(
            "admin/pteroca/user.html",
            user=user,
            currency=currency,
            may_pay=may_pay,
            balance=ledger.balance(user.id),
            owed=debts.outstanding(user.id),
            entries=ledger.entries(user.id, 15) if may_pay else [],
            impersonable=impersonable,
            amount=amount,
            reason=reason,
        ), status

    @expose("/")
    def index(self):
        return redirect(url_for("users.index_view"))

    @expose("/<int:user_id>")
    def page(self, user_id: int):
        return self._page(self._user(user_id))

    def _act(self, user_id: int, action, done: str):
        user = self._user(user_id)
        try:
            action(current_user, user)
        except AccountError as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return self._page(user, 400)
        flash(done, "success")
        return redirect(url_for(".page", user_id=user.id))

    @expose("/<int:user_id>/two-factor-reset", methods=("POST",))
    def reset_two_factor(self, user_id: int):
        return self._act(
            user_id,
            staff_actions.reset_two_factor,
            "Two-factor authentication is off for this account; its sessions ended.",
        )

    @expose("/<int:user_id>/password-reset", methods=("POST",))
    def password_reset(self, user_id: int):
        return self._act(
            user_id,
            staff_actions.send_password_reset,
            "A password-reset link was emailed to the account's address.",
        )

    @expose("/<int:user_id>/verify", methods=("POST",))
    def verify(self, user_id: int):
        return self._act(user_id, staff_actions.mark_verified, "The address is marked verified.")

    @expose("/<int:user_id>/impersonate", methods=("POST",))
    def impersonate(self, user_id: int):
        user = self._user(user_id)
        try:
            impersonation.start(current_user, user)
        except AccountError as exc:
            flash(str(exc), "error")
            return self._page(user, 400)
        return redirect(url_for("web.dashboard"))

    @expose("/<int:user_id>/balance", methods=("POST",))
    def balance(self, user_id: int):
        user = self._user(user_id)
        if not current_user.has_permission("admin.payments"):
            abort(403)
        currency = site_settings.get("currency")
        amount_text = request.form.get("amount", "").strip()
        reason = request.form.get("reason", "")
        try:
            staff_actions.check_may_manage(current_user, user)
            adjustments.adjust(
                user,
                adjustments.parse_signed(amount_text, currency),
                reason,
                actor=current_user.email,
            )
        except (MoneyError, AccountError) as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return self._page(user, 400, amount_text, reason)
        flash(f"Balance is now {format_amount(ledger.balance(user.id), currency)}", "success")
        return redirect(url_for(".page", user_id=user.id))
