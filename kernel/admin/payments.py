"""Admin: payments (list, detail, refund through the provider) and wallet balance adjustments."""

from __future__ import annotations

from flask import abort, flash, jsonify, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user

from kernel import jobs, paging, site_settings
from kernel.admin.base import ProtectedBaseView
from kernel.admin.keyset import page_url
from kernel.extensions import db
from kernel.payments import adjustments, converge, debts, ledger, reports
from kernel.payments.models import Payment
from kernel.payments.money import MoneyError, exponent, format_amount, parse_amount
from kernel.payments.settlement import PaymentError
from kernel.payments.takebacks import refund


def _user(user_id: int):
    from kernel.accounts.models import User

    return db.session.get(User, user_id)


def _users(user_ids) -> dict:
    """The accounts of a page's rows in one query (``{id: User}``; a missing id maps to None)."""
    from kernel.accounts.models import User

    ids = sorted(set(user_ids))
    found = (
        {u.id: u for u in db.session.scalars(db.select(User).where(User.id.in_(ids)))}
        if ids
        else {}
    )
    return {i: found.get(i) for i in ids}


class PaymentsView(ProtectedBaseView):
    permission = "admin.payments"

    @expose("/")
    def index(self):
        status = 200
        try:
            page = reports.payments_page(request.args)
        except paging.PagingError as exc:
            flash(f"{exc}; showing the newest payments", "error")
            filters = {k: request.args.get(k, "") for k in ("status", "provider")}
            page, status = reports.payments_page(filters), 400
        owing = debts.open_debts(100)
        users = _users([p.user_id for p in page.items] + [d.user_id for d in owing])
        return self.render(
            "admin/pteroca/payments.html",
            page=page,
            users=users,
            providers=reports.known_providers(),
            args=request.args,
            debt_totals=debts.totals(),
            debts=owing,
            currency=site_settings.get("currency"),
            events=reports.event_counts(),
            waiting=reports.waiting_events(),
            keyset=page,
            keyset_url=page_url,
        ), status

    @expose("/<int:payment_id>")
    def detail(self, payment_id: int, status: int = 200):
        payment = db.session.get(Payment, payment_id) or abort(404)
        entries = [
            e
            for e in ledger.entries(payment.user_id, 200)
            if (e.meta or {}).get("payment") == payment.id
        ]
        return self.render(
            "admin/pteroca/payment.html",
            payment=payment,
            user=_user(payment.user_id),
            entries=entries,
            balance=ledger.balance(payment.user_id),
            debts=debts.of_payment(payment.id),
            owed=debts.outstanding(payment.user_id),
        ), status

    @expose("/<int:payment_id>/check", methods=("POST",))
    def check(self, payment_id: int):
        """Ask the provider about an open payment now (the convergence task's job)."""
        payment = db.session.get(Payment, payment_id) or abort(404)
        if payment.status != "open":
            flash(f"Payment #{payment.id} is {payment.status}; there is nothing to check", "error")
            return self.detail(payment_id, status=400)
        outcome = jobs.enqueue(converge.check, payment.id, "admin")
        if isinstance(outcome, dict):
            error = outcome.get("error")
            flash(
                error or f"Payment #{payment.id} is {outcome.get('status')}",
                "error" if error else "success",
            )
        else:
            flash(f"A check of payment #{payment.id} is queued", "success")
        return redirect(url_for(".detail", payment_id=payment_id))

    @expose("/<int:payment_id>/refund", methods=("POST",))
    def refund(self, payment_id: int):
        payment = db.session.get(Payment, payment_id) or abort(404)
        try:
            amount = parse_amount(request.form.get("amount", ""), payment.currency)
            refund(payment, amount, force=bool(request.form.get("force")), actor=current_user.email)
        except (MoneyError, PaymentError) as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return self.detail(payment_id, status=400)
        flash(f"Refunded {format_amount(amount, payment.currency)}", "success")
        return redirect(url_for(".detail", payment_id=payment_id))

    @expose("/revenue.json")
    def revenue(self):
        data = reports.revenue_by_day(request.args.get("days", 30, type=int) or 30)
        currency = site_settings.get("currency")
        return jsonify(currency=currency, scale=10 ** exponent(currency), **data)


class WalletsView(ProtectedBaseView):
    """Adjust a customer's balance with a reason, through the ledger."""

    permission = "admin.payments"

    @expose("/", methods=("GET", "POST"))
    def index(self):
        from kernel.accounts.models import User

        currency = site_settings.get("currency")
        form = {"email": request.args.get("email", ""), "amount": "", "reason": ""}
        status = 200
        if request.method == "POST":
            form = {k: request.form.get(k, "").strip() for k in ("email", "amount", "reason")}
            user = db.session.scalar(db.select(User).where(User.email == form["email"].lower()))
            try:
                if user is None:
                    raise MoneyError(f"no account with the email {form['email']!r}")
                amount = adjustments.parse_signed(form["amount"], currency)
                adjustments.adjust(user, amount, form["reason"], actor=current_user.email)
            except MoneyError as exc:
                db.session.rollback()
                flash(str(exc), "error")
                status = 400
            else:
                flash(
                    f"{user.email}: balance is now {format_amount(ledger.balance(user.id), currency)}",
                    "success",
                )
                return redirect(url_for(".index", email=user.email))
        return self._page(form, status)

    def _page(self, form: dict, status: int = 200):
        from kernel.accounts.models import User

        entries = None
        user = (
            db.session.scalar(db.select(User).where(User.email == form["email"].lower()))
            if form["email"]
            else None
        )
        if user is not None:
            try:
                entries = ledger.entries_page(user.id, request.args, 30)
            except paging.PagingError as exc:
                flash(f"{exc}; showing the latest movements", "error")
                entries, status = ledger.entries_page(user.id, {}, 30), 400
        return self.render(
            "admin/pteroca/wallets.html",
            form=form,
            currency=site_settings.get("currency"),
            user=user,
            balance=ledger.balance(user.id) if user else None,
            debts=debts.of_user(user.id) if user else [],
            owed=debts.outstanding(user.id) if user else 0,
            entries=entries.items if entries else [],
            keyset=entries,
            keyset_url=page_url,
        ), status

    @expose("/debts/<int:debt_id>/write-off", methods=("POST",))
    def write_off(self, debt_id: int):
        """Staff: the customer no longer owes what is left of a debt (with a reason, audited)."""
        from kernel.accounts.models import User

        email = request.form.get("email", "").strip()
        try:
            debt = debts.write_off(
                debt_id, actor=current_user.email, note=request.form.get("note", "")
            )
        except MoneyError as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return self._page({"email": email, "amount": "", "reason": ""}, 400)
        user = db.session.get(User, debt.user_id)
        flash(f"Debt #{debt.id} written off", "success")
        return redirect(url_for(".index", email=user.email if user else ""))
