"""The invoices plugin's hooks, used by a drop-in plugin that requires it, as another plugin
author would: ``invoice_issued``, ``invoice_lines``, ``tax_rate``, ``vat_id_check``; and what a
raising or ill-shaped implementation can do (not much)."""

from __future__ import annotations

import pytest

from builtin_plugins.invoices.models import BillingProfile, Pending
from kernel.extensions import db
from kernel.testing import rebuild, run_cli
from tests.helpers import write_plugin
from tests.invoices.conftest import FR_BUSINESS_VAT, configure, customer, documents, topup

EXTRA = """
from kernel import hookimpl

SEEN = []
STATE = {"lines": [], "rate": None, "vat": None, "raise": ""}


@hookimpl
def invoice_issued(document):
    if STATE["raise"] == "issued":
        raise RuntimeError("listener down")
    SEEN.append((document.kind, document.number, document.gross,
                 [line.description for line in document.lines]))


@hookimpl
def invoice_lines(kind, subject, buyer, lines):
    if STATE["raise"] == "lines":
        raise RuntimeError("fee service down")
    return STATE["lines"]


@hookimpl
def tax_rate(seller_country, buyer, tax_class):
    if STATE["raise"] == "rate":
        raise RuntimeError("tax service down")
    return STATE["rate"]


@hookimpl
def vat_id_check(country, number):
    return STATE["vat"]
"""


@pytest.fixture
def extra(shop):
    write_plugin(
        shop.config["PLUGINS_DIR"],
        "extra",
        EXTRA,
        requires={"invoices": ">=1.0"},
        capabilities=["invoice_issued", "invoice_lines", "tax_rate", "vat_id_check"],
    )
    result = run_cli(shop, "plugin", "enable", "extra")
    assert result.exit_code == 0, result.output
    import pteroca_plugins.extra as module

    module.SEEN.clear()
    module.STATE.update(lines=[], rate=None, vat=None, **{"raise": ""})
    app = rebuild(shop)
    with app.test_request_context():
        yield module
        db.session.remove()


def test_hook_invoice_issued(extra):
    user = customer("camille@example.fr", country="FR")
    payment = topup(user, 1200)
    from tests.invoices.conftest import refund_payment

    refund_payment(payment, 1200)
    assert extra.SEEN == [
        ("invoice", "INV-2026-000001", 1200, ["Wallet top-up (payment #1, testpay)"]),
        ("credit_note", "CN-2026-000001", -1200, ["Credit: Wallet top-up (payment #1, testpay)"]),
    ]


def test_hook_invoice_lines(extra):
    extra.STATE["lines"] = [
        {"description": "Setup fee", "amount": 500},
        {"description": "DDoS protection", "amount": 211, "quantity": 2, "tax_class": "reduced"},
        {"description": "", "amount": 100},  # dropped: no description
        {"description": "Free money", "amount": -500},  # dropped: not positive
        {"description": "Float", "amount": 1.5},  # dropped: not minor units
        {"description": "Bool", "amount": True},
        {"description": "Bad class", "amount": 100, "tax_class": "../x"},
        {"description": "x\x00y", "amount": 100},
    ]
    user = customer("camille@example.fr", country="FR")
    topup(user, 1200)
    [doc] = documents(user.id)
    assert [(x.description.split(" (")[0], x.quantity, x.gross, x.rate_bp) for x in doc.lines] == [
        ("Wallet top-up", 1, 1200, 2000),
        ("Setup fee", 1, 500, 2000),
        ("DDoS protection", 2, 422, 550),
    ]
    assert doc.gross == 1200 + 500 + 422 and doc.net + doc.tax == doc.gross


def test_hook_tax_rate(extra):
    extra.STATE["rate"] = {
        "rate_bp": 800,
        "rule": "taxjar",
        "country": "US",
        "note": "Sales tax collected for Texas.",
    }
    user = customer("sam@example.com", country="US", name="Sam Smith", city="Austin")
    topup(user, 1080)
    [doc] = documents(user.id)
    assert [(x.net, x.tax, x.rate_bp, x.tax_rule, x.tax_country) for x in doc.lines] == [
        (1000, 80, 800, "tax_rate:taxjar", "US")
    ]
    assert doc.notes == ["Sales tax collected for Texas."]


def test_a_tax_rate_answer_of_the_wrong_shape_stops_the_invoice_with_the_reason(extra):
    user = customer("camille@example.fr", country="FR")
    for answer in (
        {"rate_bp": 20_000},
        {"rate_bp": "19"},
        {"rate_bp": 19.5},
        {"rule": "no rate"},
        ["rate_bp", 1900],
        "19 %",
        {"rate_bp": True},
    ):
        extra.STATE["rate"] = answer
        payment = topup(user, 1200)
        assert payment.status == "paid" and documents() == [], answer
        row = db.session.get(Pending, f"payment:{payment.id}")
        assert "a tax_rate hook answered" in row.last_error, answer


def test_raising_hooks_never_stop_a_payment_or_its_invoice(extra):
    user = customer("camille@example.fr", country="FR")
    for hook in ("issued", "lines", "rate"):
        extra.STATE["raise"] = hook
        assert topup(user, 1200).status == "paid"
    assert [(d.number, d.gross, d.lines[0].tax_rule) for d in documents(user.id)] == [
        ("INV-2026-000001", 1200, "eu-destination"),
        ("INV-2026-000002", 1200, "eu-destination"),
        ("INV-2026-000003", 1200, "eu-destination"),
    ]  # raising tax_rate: the built-in rules
    assert extra.SEEN == [
        ("invoice", "INV-2026-000002", 1200, ["Wallet top-up (payment #2, testpay)"]),
        ("invoice", "INV-2026-000003", 1200, ["Wallet top-up (payment #3, testpay)"]),
    ]


def test_hook_vat_id_check(extra):
    configure(online_vat_check=True, vies_url="http://127.0.0.1:9")  # VIES never asked
    extra.STATE["vat"] = {"valid": True, "name": "ACME SARL"}
    user = customer("achats@acme.fr", country="FR", company="ACME", vat_id=FR_BUSINESS_VAT)
    assert db.session.get(BillingProfile, user.id).vat_status == "valid"
    extra.STATE["vat"] = {"valid": False}
    from builtin_plugins.invoices import profiles

    with pytest.raises(profiles.ProfileError, match="does not know"):
        customer("other@acme.fr", country="FR", company="ACME", vat_id=FR_BUSINESS_VAT)
    extra.STATE["vat"] = {"valid": "maybe"}  # not an answer: unverified
    third = customer("third@acme.fr", country="FR", company="ACME", vat_id=FR_BUSINESS_VAT)
    assert db.session.get(BillingProfile, third.id).vat_status == "unverified"
