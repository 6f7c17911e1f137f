"""Wallet pages and provider webhooks. Thin: the logic is in settlement and ledger."""

from __future__ import annotations

from flask import (Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from kernel import site_settings
from kernel.extensions import db
from kernel.inputs import InputError, check_nesting, looks_like_json
from kernel.payments import ledger
from kernel.payments.models import Payment
from kernel.payments.money import MoneyError, format_amount, parse_amount
from kernel.payments.providers import WebhookError, provider_choices
from kernel.payments.settlement import (PaymentError, handle_webhook, refresh, start_topup,
                                       topup_terms)

bp = Blueprint("wallet", __name__)
webhooks = Blueprint("payment_webhooks", __name__)


def _own_payment(payment_id: int) -> Payment:
    payment = db.session.get(Payment, payment_id)
    if payment is None or payment.user_id != current_user.id:
        abort(404)
    return payment


def _wallet_page(status: int = 200, amount: str = ""):
    currency = site_settings.get("currency")
    payments = list(db.session.scalars(db.select(Payment).where(Payment.user_id == current_user.id)
                                       .order_by(Payment.id.desc()).limit(50)))
    return render_template("panel/wallet.html", currency=currency, amount=amount,
                           balance=ledger.balance(current_user.id),
                           providers=provider_choices(currency), payments=payments,
                           entries=ledger.entries(current_user.id, 20)), status


@bp.get("/wallet")
@login_required
def index():
    return _wallet_page()


@bp.post("/wallet/topup")
@login_required
def topup():
    currency = site_settings.get("currency")
    text = request.form.get("amount", "")
    try:
        amount = parse_amount(text, currency)
        credit, charge, meta = topup_terms(current_user, amount, request.form)
        payment = start_topup(current_user, credit, request.form.get("provider", ""),
                              return_urls=_return_urls, charge=charge, meta=meta)
    except (MoneyError, PaymentError) as exc:
        flash(str(exc), "error")
        return _wallet_page(400, text)
    return redirect(payment.checkout_url, code=303)


def _return_urls(payment: Payment) -> tuple[str, str]:
    return (url_for("wallet.returned", payment_id=payment.id, _external=True),
            url_for("wallet.cancelled", payment_id=payment.id, _external=True))


@bp.get("/wallet/return/<int:payment_id>")
@login_required
def returned(payment_id: int):
    payment = _own_payment(payment_id)
    try:
        refresh(payment)
    except PaymentError as exc:
        flash(str(exc), "error")
    return render_template("panel/wallet_return.html", payment=payment,
                           balance=ledger.balance(current_user.id))


@bp.post("/wallet/payments/<int:payment_id>/check")
@login_required
def check_again(payment_id: int):
    payment = _own_payment(payment_id)
    try:
        refresh(payment, source="check")
    except PaymentError as exc:
        flash(str(exc), "error")
    return redirect(url_for("wallet.returned", payment_id=payment.id))


@bp.get("/wallet/cancel/<int:payment_id>")
@login_required
def cancelled(payment_id: int):
    _own_payment(payment_id)
    flash(_("The payment was cancelled; nothing was charged."), "warning")
    return redirect(url_for("wallet.index"))


@webhooks.post("/payments/<provider>/webhook")
def webhook(provider: str):
    body = request.get_data()  # the request gate already capped its size
    try:
        if looks_like_json(body, request.content_type or ""):
            check_nesting(body)  # the provider checks the rest: signature, then content
    except InputError as exc:
        return jsonify(error=str(exc)), 400
    try:
        applied = handle_webhook(provider, body, dict(request.headers))
    except WebhookError as exc:
        return jsonify(error=str(exc)), 400
    except PaymentError:
        abort(404)
    return jsonify(applied=applied)


def balance_label(user) -> str:
    return format_amount(ledger.shown_balance(user.id), site_settings.get("currency"))
