"""Invoicing purchases instead of top-ups: the top-up is a prepayment receipt, each purchase,
renewal and plan change paid from the wallet an invoice, money given back a credit note."""

from __future__ import annotations

import pytest

from builtin_plugins.invoices import config, taxes
from builtin_plugins.store import services
from builtin_plugins.store.provisioning import ManualProvisioner, ProvisionError
from builtin_plugins.store.testing import buy, make_product
from kernel import clock
from tests.invoices.conftest import configure, customer, documents, refund_payment, topup


@pytest.fixture
def wallet_shop(shop, ctx):
    configure(invoice_on="purchase")
    return shop


def summary(doc):
    return (
        doc.kind,
        doc.number,
        doc.net,
        doc.tax,
        doc.gross,
        [(x.description, x.rate_bp, x.tax_rule, x.tax_class) for x in doc.lines],
    )


def test_a_top_up_is_a_receipt_and_each_purchase_an_invoice(wallet_shop):
    user = customer("camille@example.fr", country="FR")
    topup(user, 5000)
    small = make_product("mc-small", price=1200)
    service = buy(user, small)
    services.renew(service)
    receipt, purchase, renewal = documents(user.id)
    assert summary(receipt) == (
        "receipt",
        "RCT-2026-000001",
        5000,
        0,
        5000,
        [("Prepayment to your wallet (payment #1, testpay)", 0, "prepayment", "standard")],
    )
    assert receipt.notes == [
        "Prepayment credited to the wallet: VAT is invoiced with each purchase paid from it."
    ]
    assert summary(purchase) == (
        "invoice",
        "INV-2026-000001",
        1000,
        200,
        1200,
        [
            (
                f"Mc Small · My server: purchase (server #{service.id})",
                2000,
                "eu-destination",
                "standard",
            )
        ],
    )
    assert summary(renewal)[:5] == ("invoice", "INV-2026-000002", 1000, 200, 1200)
    assert "renewal" in renewal.lines[0].description
    assert purchase.subject == renewal.subject == f"service:{service.id}"
    assert purchase.meta["paid"] == 1200 and purchase.meta["provider"] == "wallet"


def test_a_products_tax_class_chooses_its_rate(wallet_shop):
    user = customer("camille@example.fr", country="FR")
    topup(user, 5000)
    ebook = make_product("guide", price=1055)
    taxes.set_product_class(ebook.id, "reduced")
    buy(user, ebook)
    invoice = documents(user.id)[-1]
    assert (invoice.net, invoice.tax, invoice.lines[0].rate_bp, invoice.lines[0].tax_class) == (
        1000,
        55,
        550,
        "reduced",
    )


def test_a_failed_setup_is_credited_against_its_purchase(wallet_shop, monkeypatch):
    def full(self, service):
        raise ProvisionError("node full")

    monkeypatch.setattr(ManualProvisioner, "create", full)
    user = customer("camille@example.fr", country="FR")
    topup(user, 5000)
    service = buy(user, make_product("mc-small", price=1200))
    assert service.state == "provisioning_failed"
    _receipt, invoice, credit = documents(user.id)
    assert (invoice.kind, credit.kind, credit.original_id) == ("invoice", "credit_note", invoice.id)
    assert (credit.net, credit.tax, credit.gross) == (-1000, -200, -1200)


def test_a_downgrade_credits_the_servers_latest_invoice(wallet_shop):
    from datetime import timedelta

    user = customer("camille@example.fr", country="FR")
    topup(user, 10_000)
    small, big = make_product("small", price=1200), make_product("big", price=3600)
    service = buy(user, big)
    clock.advance(timedelta(days=15))
    services.change_package(service, small)
    _receipt, invoice, credit = documents(user.id)
    assert credit.original_id == invoice.id and credit.gross == -1200  # half of 24.00 back


def test_a_refunded_top_up_is_credited_against_its_receipt(wallet_shop):
    user = customer("camille@example.fr", country="FR")
    payment = topup(user, 5000)
    refund_payment(payment, 2000)
    receipt, credit = documents(user.id)
    assert (credit.kind, credit.original_id, credit.gross, credit.tax) == (
        "credit_note",
        receipt.id,
        -2000,
        0,
    )


def test_top_up_mode_invoices_no_purchase(shop, ctx):
    user = customer("camille@example.fr", country="FR")
    topup(user, 5000)
    buy(user, make_product("mc-small", price=1200))
    assert [d.kind for d in documents(user.id)] == ["invoice"]


def test_net_prices_do_not_apply_to_purchases(wallet_shop):
    configure(prices="net")
    setup = config.load()
    assert setup.price_mode == "gross"
    assert config.warnings(setup) and "top-up invoices only" in config.warnings(setup)[0]
    user = customer("camille@example.fr", country="FR")
    topup(user, 5000)
    buy(user, make_product("mc-small", price=1200))
    invoice = documents(user.id)[-1]
    assert (invoice.price_mode, invoice.gross) == ("gross", 1200)
