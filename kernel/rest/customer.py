"""The customer's kernel endpoints: who am I, the wallet, its ledger, payments, top-ups.

Views are thin: the ledger, the payments and the top-up flow are the payments package's.
"""

from __future__ import annotations

from flask import url_for
from flask_login import current_user
from sqlalchemy import select

from kernel import site_settings
from kernel.extensions import db
from kernel.payments import ledger
from kernel.payments.models import LedgerEntry, Payment
from kernel.payments.settlement import PaymentError, start_topup, topup_terms
from kernel.rest.errors import ApiError
from kernel.rest.framework import ApiBlueprint
from kernel.rest.schemas import (
    LedgerPage,
    PageArgs,
    PaymentPage,
    TopupIn,
    TopupOut,
    UserOut,
    WalletOut,
    decode_cursor,
    page_of,
)

bp = ApiBlueprint("account", __name__, description="Your account, wallet and payments")


def _page(model, args: dict) -> dict:
    query = select(model).where(model.user_id == current_user.id)
    before = decode_cursor(args["cursor"])
    if before is not None:
        query = query.where(model.id < before)
    rows = list(db.session.scalars(query.order_by(model.id.desc()).limit(args["limit"] + 1)))
    return page_of(rows, args["limit"])


@bp.get("/me")
@bp.scope("read:account")
@bp.response(200, UserOut)
def me():
    """The token's account."""
    return current_user


@bp.get("/wallet")
@bp.scope("read:wallet")
@bp.response(200, WalletOut)
def wallet():
    """The wallet balance, in minor units of the site currency."""
    return {"balance": ledger.balance(current_user.id), "currency": site_settings.get("currency")}


@bp.get("/wallet/ledger")
@bp.scope("read:wallet")
@bp.arguments(PageArgs, location="query")
@bp.response(200, LedgerPage)
def wallet_ledger(args):
    """Ledger entries, newest first; pass ``next_cursor`` as ``cursor`` for the next page."""
    return _page(LedgerEntry, args)


@bp.get("/payments")
@bp.scope("read:wallet")
@bp.arguments(PageArgs, location="query")
@bp.response(200, PaymentPage)
def payments(args):
    """Your payments (top-ups), newest first."""
    return _page(Payment, args)


def _return_urls(payment: Payment) -> tuple[str, str]:
    return (
        url_for("wallet.returned", payment_id=payment.id, _external=True),
        url_for("wallet.cancelled", payment_id=payment.id, _external=True),
    )


@bp.post("/wallet/topups")
@bp.scope("write:wallet")
@bp.arguments(TopupIn)
@bp.response(201, TopupOut)
def topup(data):
    """Start a top-up: open the returned ``checkout_url`` to pay; the wallet is credited
    when the provider confirms the payment."""
    try:
        credit, charge, meta = topup_terms(current_user, data["amount"], data)
        payment = start_topup(
            current_user,
            credit,
            data["provider"],
            return_urls=_return_urls,
            charge=charge,
            meta={**meta, "source": "api"},
        )
    except PaymentError as exc:
        raise ApiError(422, str(exc), errors={}) from None
    return {"payment": payment, "checkout_url": payment.checkout_url}
