"""Which tax a payment is invoiced with: a German seller and customers across the world."""

from __future__ import annotations

import pytest

from builtin_plugins.invoices import config, pending, taxes
from builtin_plugins.invoices.models import Pending
from kernel.extensions import db
from tests.invoices.conftest import (
    DE_BUSINESS_VAT,
    FR_BUSINESS_VAT,
    configure,
    customer,
    documents,
    topup,
)


def lines_of(doc):
    return [
        (x.description.split(" (")[0], x.net, x.tax, x.gross, x.rate_bp, x.tax_rule, x.tax_country)
        for x in doc.lines
    ]


def test_german_seller_french_consumer_pays_french_vat(shop, ctx):
    user = customer("camille@example.fr", country="FR")
    topup(user, 1200)
    [doc] = documents(user.id)
    assert (doc.kind, doc.number, doc.currency) == ("invoice", "INV-2026-000001", "EUR")
    assert (doc.net, doc.tax, doc.gross) == (1000, 200, 1200)
    assert lines_of(doc) == [("Wallet top-up", 1000, 200, 1200, 2000, "eu-destination", "FR")]
    assert doc.buyer["legal_name"] == "Camille Martin" and doc.buyer_country == "FR"
    assert doc.seller["name"] == "Blockhost GmbH" and doc.seller["vat_id"] == "DE136695976"
    assert doc.notes == []


def test_french_business_with_a_valid_vat_id_is_reverse_charged(shop, ctx):
    user = customer("achats@acme.fr", country="FR", company="ACME SARL", vat_id="fr 40 303 265 045")
    topup(user, 5000)
    [doc] = documents(user.id)
    assert (doc.net, doc.tax, doc.gross) == (5000, 0, 5000)
    assert lines_of(doc) == [("Wallet top-up", 5000, 0, 5000, 0, "reverse-charge", "FR")]
    assert doc.buyer["vat_id"] == FR_BUSINESS_VAT and doc.buyer["company"] == "ACME SARL"
    assert doc.notes == [
        "Reverse charge: VAT to be accounted for by the recipient (Article 196 "
        "of Council Directive 2006/112/EC)."
    ]


def test_us_customer_pays_no_tax(shop, ctx):
    user = customer("sam@example.com", country="US", name="Sam Smith", city="Austin")
    topup(user, 2500)
    [doc] = documents(user.id)
    assert (doc.net, doc.tax, doc.gross) == (2500, 0, 2500)
    assert lines_of(doc) == [("Wallet top-up", 2500, 0, 2500, 0, "export", "US")]
    assert doc.notes == ["Not subject to VAT in the EU: the place of supply is outside the EU."]


def test_german_business_pays_german_vat_no_reverse_charge_at_home(shop, ctx):
    user = customer(
        "einkauf@firma.de",
        country="DE",
        company="Firma GmbH",
        vat_id=DE_BUSINESS_VAT,
        city="Hamburg",
    )
    topup(user, 1190)
    [doc] = documents(user.id)
    assert lines_of(doc) == [("Wallet top-up", 1000, 190, 1190, 1900, "domestic", "DE")]


def test_customer_without_a_profile_pays_the_sellers_rate(shop, ctx):
    user = customer("anon@example.org")
    topup(user, 1000)
    [doc] = documents(user.id)
    assert lines_of(doc) == [("Wallet top-up", 840, 160, 1000, 1900, "seller-country", "DE")]
    assert doc.buyer["email"] == "anon@example.org" and doc.buyer_country == ""


def test_below_the_oss_threshold_eu_consumers_pay_the_sellers_rate(shop, ctx):
    configure(eu_consumers="origin")
    user = customer("camille@example.fr", country="FR")
    topup(user, 1190)
    [doc] = documents(user.id)
    assert lines_of(doc) == [("Wallet top-up", 1000, 190, 1190, 1900, "eu-origin", "DE")]


def test_swiss_customer_is_an_export_and_greek_prefix_is_el(shop, ctx):
    swiss = customer("ch@example.ch", country="CH", city="Zurich")
    topup(swiss, 1000)
    assert lines_of(documents(swiss.id)[0])[0][4:6] == (0, "export")
    greek = customer(
        "gr@example.gr", country="GR", company="Hellas AE", vat_id="GR094014201", city="Athens"
    )
    topup(greek, 1000)
    doc = documents(greek.id)[0]
    assert doc.buyer["vat_id"] == "EL094014201" and doc.lines[0].tax_rule == "reverse-charge"


def test_net_prices_add_the_customers_tax_at_checkout(shop, ctx):
    from kernel.payments.settlement import topup_terms

    configure(prices="net")
    user = customer("camille@example.fr", country="FR")
    credit, charge, meta = topup_terms(user, 1000, {})
    assert (credit, charge) == (1000, 1200)
    payment = topup(user, credit, charge=charge, meta=meta)
    assert payment.amount_charged == 1200 and payment.amount_credited == 1000
    [doc] = documents(user.id)
    assert (doc.price_mode, doc.net, doc.tax, doc.gross) == ("net", 1000, 200, 1200)
    business = customer("achats@acme.fr", country="FR", company="ACME", vat_id=FR_BUSINESS_VAT)
    assert topup_terms(business, 1000, {}) == (1000, None, {})  # reverse charge: nothing added


def test_net_terms_that_no_longer_match_the_charge_are_invoiced_as_received(shop, ctx):
    configure(prices="net")
    user = customer("camille@example.fr", country="FR")
    forged = {"invoices": {"net": 1000, "rate_bp": 0, "rule": "export"}}  # would be 10.00
    topup(user, 1000, charge=1200, meta=forged)
    [doc] = documents(user.id)
    assert (doc.price_mode, doc.net, doc.tax, doc.gross) == ("gross", 1000, 200, 1200)


def test_a_product_tax_class_and_its_fallback(shop, ctx):
    configure(topup_tax_class="reduced")
    french = customer("camille@example.fr", country="FR")
    topup(french, 1055)
    assert lines_of(documents(french.id)[0])[0][1:6] == (1000, 55, 1055, 550, "eu-destination")
    austrian = customer("at@example.at", country="AT", city="Wien")  # no reduced AT rate
    topup(austrian, 1200)
    assert lines_of(documents(austrian.id)[0])[0][4] == 2000  # AT standard


def test_a_missing_rate_waits_and_is_issued_once_the_admin_adds_it(shop, ctx):
    italian = customer("it@example.it", country="IT", city="Roma")
    payment = topup(italian, 1220)
    assert payment.status == "paid" and documents(italian.id) == []
    [row] = db.session.scalars(db.select(Pending)).all()
    assert row.source == f"payment:{payment.id}" and "no tax rate for Italy (IT)" in row.last_error
    assert pending.retry()["issued"] == 0
    taxes.set_rate("IT", "standard", "22", "IVA")
    assert pending.retry()["issued"] == 1
    [doc] = documents(italian.id)
    assert (doc.number, doc.net, doc.tax, doc.gross) == ("INV-2026-000001", 1000, 220, 1220)
    assert db.session.scalars(db.select(Pending)).all() == []
    assert pending.retry()["issued"] == 0  # nothing twice


def test_an_incomplete_seller_issues_nothing_until_it_is_complete(shop, ctx):
    configure(seller_name="")
    user = customer("camille@example.fr", country="FR")
    topup(user, 1200)
    assert documents() == []
    assert (
        "the seller's legal name is not set"
        in db.session.scalars(db.select(Pending)).one().last_error
    )
    configure(seller_name="Blockhost GmbH")
    pending.retry()
    assert [d.number for d in documents()] == ["INV-2026-000001"]


def test_the_rules_in_one_table(shop, ctx):
    from builtin_plugins.invoices.profiles import Buyer

    setup = config.load()
    for country, vat_valid, rule, rate in [
        ("DE", False, "domestic", 1900),
        ("DE", True, "domestic", 1900),
        ("FR", False, "eu-destination", 2000),
        ("FR", True, "reverse-charge", 0),
        ("AT", True, "reverse-charge", 0),
        ("US", False, "export", 0),
        ("US", True, "export", 0),
        ("CH", False, "export", 0),
        ("", False, "seller-country", 1900),
    ]:
        buyer = Buyer(
            email="x@example.com",
            country=country,
            vat_id="FR40303265045" if vat_valid else "",
            vat_valid=vat_valid,
        )
        decision = taxes.decide(setup, buyer, "standard")
        assert (decision.rule, decision.rate_bp) == (rule, rate), country
    # an unconfirmed VAT id is no business for the reverse charge
    unconfirmed = Buyer(email="x@example.com", country="FR", vat_id="FR40303265045")
    assert taxes.decide(setup, unconfirmed, "standard").rule == "eu-destination"


def test_rates_are_validated_in_the_admin_service(shop, ctx):
    for args, message in [
        (("XX", "standard", "19"), "not an ISO 3166"),
        (("DE", "Standard Rate!", "19"), "a tax class is"),
        (("DE", "standard", "19 percent"), "not a percentage"),
        (("DE", "standard", "150"), "between 0 and 100"),
        (("DE", "standard", "19", "x" * 61), "at most 60"),
    ]:
        with pytest.raises(taxes.TaxError, match=message):
            taxes.set_rate(*args)
    row = taxes.set_rate("de", "standard", "19,0", "MwSt")  # replaces the existing one
    assert (row.country, row.rate_bp, row.label) == ("DE", 1900, "MwSt")
    assert taxes.load_eu_standard_rates() == 24  # DE, FR and AT were there
    assert taxes.rate_for("FI", "standard") == 2550
