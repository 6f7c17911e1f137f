"""Which tax applies to a line, and the rates the admin keeps: the one module owning the rules.

For a buyer and a product tax class, in this order (docs/invoices.md, "Tax rules"):

1. the ``tax_rate`` hook (*firstresult*): a plugin (a tax service) may decide;
2. no billing country known: the seller's country rate (``seller-country``);
3. buyer in the seller's country: that country's rate (``domestic``);
4. seller in the EU, buyer in another member state with a valid VAT id: 0 % with the legal
   note (``reverse-charge``);
5. seller in the EU, consumer in another member state: the buyer's country's rate
   (``eu-destination``, the OSS rule), or the seller's (``eu-origin``) when the setting says so;
6. buyer outside the seller's country and (for EU sellers) outside the EU: 0 % (``export``).

A rate is looked up for (country, tax class) and falls back to the country's ``standard``
class; a rate that is needed but not configured stops the document (TaxError) rather than
printing a wrong one: the event waits and the admin's health check names the missing rate.
"""

from __future__ import annotations

from dataclasses import dataclass

from kernel import call_first, db

from . import countries
from .amounts import AmountError, check_rate, parse_rate
from .config import TAX_CLASS, Setup
from .models import ProductTaxClass, TaxRate
from .profiles import Buyer

STANDARD = "standard"
# Standard VAT rates of the EU member states on 1 January 2025, in basis points. A starting
# point the admin loads on purpose and must check: rates change (docs/invoices.md).
EU_STANDARD_RATES_2025 = {
    "AT": 2000,
    "BE": 2100,
    "BG": 2000,
    "CY": 1900,
    "CZ": 2100,
    "DE": 1900,
    "DK": 2500,
    "EE": 2200,
    "ES": 2100,
    "FI": 2550,
    "FR": 2000,
    "GR": 2400,
    "HR": 2500,
    "HU": 2700,
    "IE": 2300,
    "IT": 2200,
    "LT": 2100,
    "LU": 1700,
    "LV": 2100,
    "MT": 1800,
    "NL": 2100,
    "PL": 2300,
    "PT": 2300,
    "RO": 1900,
    "SE": 2500,
    "SI": 2200,
    "SK": 2300,
}


class TaxError(ValueError):
    """No tax can be decided (a missing rate); the message says what the admin must add."""


@dataclass(frozen=True)
class Decision:
    rate_bp: int
    rule: str
    country: str  # whose tax it is ("" for none)
    note: str = ""


def rate_for(country: str, tax_class: str) -> int | None:
    """The configured rate for ``country`` and ``tax_class`` (else its standard class)."""
    rows = dict(
        db.session.execute(
            db.select(TaxRate.tax_class, TaxRate.rate_bp).where(
                TaxRate.country == country, TaxRate.tax_class.in_((tax_class, STANDARD))
            )
        ).all()
    )
    return rows.get(tax_class, rows.get(STANDARD))


def _rate(country: str, tax_class: str, rule: str) -> Decision:
    rate = rate_for(country, tax_class)
    if rate is None:
        raise TaxError(
            f"no tax rate for {countries.country_name(country)} ({country}), class "
            f"{tax_class!r}: add one on Admin -> Invoicing"
        )
    return Decision(rate, rule, country)


def _from_hook(setup: Setup, buyer: Buyer, tax_class: str) -> Decision | None:
    answer = call_first(
        "tax_rate", seller_country=setup.seller.country, buyer=buyer.as_dict(), tax_class=tax_class
    )
    if answer is None:
        return None
    try:
        if not isinstance(answer, dict):
            raise AmountError("tax_rate answers a dict")
        rate = check_rate(answer.get("rate_bp"))
        rule = str(answer.get("rule") or "service")[:48]
        country = str(answer.get("country") or buyer.country or setup.seller.country)[:2]
    except AmountError as exc:
        raise TaxError(f"a tax_rate hook answered {answer!r:.80}: {exc}") from None
    return Decision(rate, f"tax_rate:{rule}", country, str(answer.get("note") or "")[:300])


def decide(setup: Setup, buyer: Buyer, tax_class: str) -> Decision:
    """The rate, the rule that chose it and the legal note for one line (see the module)."""
    hooked = _from_hook(setup, buyer, tax_class)
    if hooked is not None:
        return hooked
    seller = setup.seller.country
    if not buyer.country:
        return _rate(seller, tax_class, "seller-country")
    if buyer.country == seller:
        return _rate(seller, tax_class, "domestic")
    seller_in_eu, buyer_in_eu = countries.in_eu(seller), countries.in_eu(buyer.country)
    if seller_in_eu and buyer_in_eu:
        if buyer.is_business:
            return Decision(0, "reverse-charge", buyer.country, setup.reverse_charge_note)
        if setup.eu_consumers == "origin":
            return _rate(seller, tax_class, "eu-origin")
        return _rate(buyer.country, tax_class, "eu-destination")
    return Decision(0, "export", buyer.country, setup.export_note)


# --- the admin's rates and classes -------------------------------------------------------


def rates() -> list[TaxRate]:
    return list(db.session.scalars(db.select(TaxRate).order_by(TaxRate.country, TaxRate.tax_class)))


def check_class(tax_class: str) -> str:
    tax_class = (tax_class or "").strip().lower()
    if not TAX_CLASS.fullmatch(tax_class):
        raise TaxError(
            "a tax class is 1-32 lower-case letters, digits, - or _ (e.g. standard, reduced)"
        )
    return tax_class


def set_rate(country: str, tax_class: str, percent: str, label: str = "") -> TaxRate:
    """Add or change a rate (``percent`` such as "19" or "5.5"); TaxError with the reason."""
    country = (country or "").strip().upper()
    if not countries.is_country(country):
        raise TaxError(f"{country[:8]!r} is not an ISO 3166 country code such as DE")
    tax_class = check_class(tax_class)
    try:
        rate = parse_rate(percent)
    except AmountError as exc:
        raise TaxError(str(exc)) from None
    label = (label or "").strip()
    if len(label) > 60 or any(ord(ch) < 32 for ch in label):
        raise TaxError("a label is at most 60 printable characters")
    row = db.session.scalar(
        db.select(TaxRate).where(TaxRate.country == country, TaxRate.tax_class == tax_class)
    )
    row = row or TaxRate(country=country, tax_class=tax_class)
    row.rate_bp, row.label = rate, label
    db.session.add(row)
    db.session.commit()
    return row


def delete_rate(rate_id: int) -> bool:
    row = db.session.get(TaxRate, rate_id)
    if row is None:
        return False
    db.session.delete(row)
    db.session.commit()
    return True


def load_eu_standard_rates() -> int:
    """Add the member states' standard rates that are missing; returns how many were added."""
    have = {
        c
        for (c,) in db.session.execute(
            db.select(TaxRate.country).where(TaxRate.tax_class == STANDARD)
        )
    }
    added = 0
    for country, rate in EU_STANDARD_RATES_2025.items():
        if country not in have:
            db.session.add(TaxRate(country=country, tax_class=STANDARD, rate_bp=rate, label="VAT"))
            added += 1
    db.session.commit()
    return added


def product_class(product_id: int | None) -> str:
    if product_id is None:
        return STANDARD
    row = db.session.get(ProductTaxClass, product_id)
    return row.tax_class if row else STANDARD


def set_product_class(product_id: int, tax_class: str) -> None:
    tax_class = check_class(tax_class)
    row = db.session.get(ProductTaxClass, product_id)
    if tax_class == STANDARD:
        if row is not None:
            db.session.delete(row)
    else:
        row = row or ProductTaxClass(product_id=product_id, tax_class=tax_class)
        row.tax_class = tax_class
        db.session.add(row)
    db.session.commit()


def missing_rates(setup: Setup) -> list[str]:
    """Rates every document will need: the seller country's standard rate."""
    if (
        countries.is_country(setup.seller.country)
        and rate_for(setup.seller.country, STANDARD) is None
    ):
        return [f"no standard tax rate for the seller's country {setup.seller.country}"]
    return []
