"""Wallet pages and provider webhooks. Thin: the logic is in kernel.payments (settlement, ledger)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from kernel import jobs, site_settings
from kernel.accounts.verification import verified_required
from kernel.extensions import db
from kernel.inputs import InputError, check_nesting, looks_like_json
from kernel.paging import PagingError
from kernel.payments import debts, history, ledger
from kernel.payments.converge import check_from_page
from kernel.payments.inbox import MAX_BODY, InboxFull, receive
from kernel.payments.models import Payment
from kernel.payments.money import MoneyError, format_amount, parse_amount
from kernel.payments.providers import WebhookError, provider_choices
from kernel.payments.settlement import PaymentError, continue_topup, start_topup, topup_terms
from kernel.web.request_gate import request_body_limit

bp = Blueprint("wallet", __name__)
HISTORY_PAGE = 20  # movements per page of the balance history
webhooks = Blueprint("payment_webhooks", __name__)


def _own_payment(payment_id: int) -> Payment:
    payment = db.session.get(Payment, payment_id)
    if payment is None or payment.user_id != current_user.id:
        abort(404)
    return payment


def _wallet_page(status: int = 200, amount: str = ""):
    currency = site_settings.get("currency")
    payments = list(
        db.session.scalars(
            db.select(Payment)
            .where(Payment.user_id == current_user.id)
            .order_by(Payment.id.desc())
            .limit(50)
        )
    )
    try:
        recent = ledger.entries_page(current_user.id, request.args, HISTORY_PAGE)
    except PagingError:
        flash(_("That page of the balance history does not exist; showing the latest."), "error")
        recent, status = ledger.entries_page(current_user.id, {}, HISTORY_PAGE), 400
    return render_template(
        "panel/wallet.html",
        currency=currency,
        amount=amount,
        balance=ledger.balance(current_user.id),
        providers=provider_choices(currency),
        payments=payments,
        continuable={p.id for p in payments if _continuable(p)},
        debts=owed_view(current_user.id),
        entries=recent.items,
        history=history.lines(recent.items),
        history_newer=_history_url(after=recent.newer),
        history_older=_history_url(before=recent.older),
        history_newest=None if recent.first else _history_url(),
    ), status


def _history_url(**cursor) -> str | None:
    """A link to a page of the balance history (None when ``cursor``'s id is None)."""
    if cursor and None in cursor.values():
        return None
    return url_for("wallet.index", **cursor) + "#balance-history"


def _continuable(payment: Payment) -> bool:
    """Offer "Continue payment": open (a new checkout if this one expired) or expired."""
    return payment.status == "expired" or (payment.status == "open" and bool(payment.checkout_url))


def owed_view(user_id: int) -> dict:
    """What the customer owes, as plain values for the wallet page."""
    rows = debts.of_user(user_id, open_only=True)
    return {
        "total": sum(d.outstanding for d in rows),
        "items": [
            {
                "id": d.id,
                "amount": d.amount,
                "outstanding": d.outstanding,
                "reason": d.reason,
                "created_at": d.created_at,
            }
            for d in rows
        ],
    }


@bp.get("/wallet")
@login_required
def index():
    return _wallet_page()


@bp.post("/wallet/topup")
@login_required
@verified_required("topup")
def topup():
    currency = site_settings.get("currency")
    text = request.form.get("amount", "")
    try:
        amount = parse_amount(text, currency)
        credit, charge, meta = topup_terms(current_user, amount, request.form)
        payment = start_topup(
            current_user,
            credit,
            request.form.get("provider", ""),
            return_urls=_return_urls,
            charge=charge,
            meta=meta,
        )
    except (MoneyError, PaymentError) as exc:
        flash(str(exc), "error")
        return _wallet_page(400, text)
    return redirect(payment.checkout_url, code=303)


def _return_urls(payment: Payment) -> tuple[str, str]:
    return (
        url_for("wallet.returned", payment_id=payment.id, _external=True),
        url_for("wallet.cancelled", payment_id=payment.id, _external=True),
    )


@bp.get("/wallet/return/<int:payment_id>")
@login_required
def returned(payment_id: int):
    payment = _own_payment(payment_id)
    error = check_from_page(payment)  # on a worker when jobs run there: the page never waits
    if error:
        flash(error, "error")
    db.session.refresh(payment)
    return render_template(
        "panel/wallet_return.html",
        payment=payment,
        balance=ledger.balance(current_user.id),
        can_continue=_continuable(payment),
        waiting=jobs.uses_rq(),
    )


@bp.post("/wallet/payments/<int:payment_id>/check")
@login_required
def check_again(payment_id: int):
    payment = _own_payment(payment_id)
    error = check_from_page(payment)
    if error:
        flash(error, "error")
    return redirect(url_for("wallet.returned", payment_id=payment.id))


@bp.post("/wallet/payments/<int:payment_id>/continue")
@login_required
@verified_required("topup")
def continue_payment(payment_id: int):
    """ "Continue payment": back to the checkout, or a new one when it expired."""
    payment = _own_payment(payment_id)
    try:
        target = continue_topup(payment, current_user, return_urls=_return_urls)
    except (MoneyError, PaymentError) as exc:
        flash(str(exc), "error")
        return _wallet_page(400)
    return redirect(target.checkout_url, code=303)


@bp.get("/wallet/cancel/<int:payment_id>")
@login_required
def cancelled(payment_id: int):
    _own_payment(payment_id)
    flash(_("The payment was cancelled; nothing was charged."), "warning")
    return redirect(url_for("wallet.index"))


@webhooks.post("/payments/<provider>/webhook")
@request_body_limit(MAX_BODY)  # providers' events are small: 413 before reading more
def webhook(provider: str):
    """Verify what needs no network, record, queue the work, answer (kernel.payments.inbox)."""
    body = request.get_data()
    try:
        if looks_like_json(body, request.content_type or ""):
            check_nesting(body)  # the provider checks the rest: signature, then content
    except InputError as exc:
        return jsonify(error=str(exc)), 400
    try:
        answer = receive(provider, body, dict(request.headers))
    except WebhookError as exc:
        return jsonify(error=str(exc)), 400
    except InboxFull as exc:
        return jsonify(error=str(exc)), 503, {"Retry-After": "600"}
    except PaymentError:
        abort(404)
    return jsonify(answer)


def balance_label(user) -> str:
    return format_amount(ledger.shown_balance(user.id), site_settings.get("currency"))
