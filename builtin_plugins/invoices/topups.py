"""The wallet's top-up form: billing details first (when required), tax on top (net prices).

``topup_adjustment`` runs when a customer starts a top-up. With ``require_profile`` on and
no billing profile it refuses with a message pointing to the billing page (nothing is
charged). With net prices and top-up invoices it adds the tax of the customer's place of
supply to the charge (the wallet gets the amount typed) and keeps the decision on the payment,
so the invoice shows exactly what was charged (``drafts._net_terms``).
"""

from __future__ import annotations

from flask import current_app, get_template_attribute
from markupsafe import Markup

from kernel import db

from . import config, profiles, taxes
from .amounts import NET, format_rate, split
from .drafts import META_KEY
from .models import Document

PROFILE_NEEDED = (
    "Please add your billing details (Wallet > Invoices > Billing details) "
    "before your first top-up: we need them for the invoice."
)


def _net_decision(setup: config.Setup, user) -> taxes.Decision | None:
    if setup.invoice_on != "topup" or setup.prices != "net" or config.problems(setup):
        return None
    try:
        return taxes.decide(setup, profiles.buyer_of(user), setup.topup_tax_class)
    except taxes.TaxError as exc:
        current_app.logger.warning("invoices: no tax added to a top-up: %s", exc)
        return None


def adjustment(user, amount: int) -> dict | str | None:
    setup = config.load()
    if setup.require_profile and profiles.get(user.id) is None:
        return PROFILE_NEEDED
    decision = _net_decision(setup, user)
    if decision is None or decision.rate_bp == 0:
        return None
    amounts = split(amount, decision.rate_bp, NET)
    return {
        "charge": amounts.gross,
        "meta": {
            META_KEY: {
                "net": amount,
                "rate_bp": decision.rate_bp,
                "rule": decision.rule,
                "country": decision.country,
                "note": decision.note,
            }
        },
    }


def _macro(name: str):
    return get_template_attribute("invoices/slots.html", name)


def topup_note(user) -> Markup | None:
    if user is None or not user.is_authenticated:
        return None
    setup = config.load()
    decision = _net_decision(setup, user)
    has_profile = profiles.get(user.id) is not None
    rate = format_rate(decision.rate_bp) if decision and decision.rate_bp else ""
    return _macro("topup_note")(has_profile, setup.require_profile, bool(rate), rate)


def wallet_box(user) -> Markup | None:
    if user is None or not user.is_authenticated:
        return None
    count = (
        db.session.scalar(db.select(db.func.count(Document.id)).where(Document.user_id == user.id))
        or 0
    )
    return _macro("wallet_box")(
        count, profiles.get(user.id) is not None, config.load().require_profile
    )
