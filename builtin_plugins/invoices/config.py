"""The plugin's settings as one typed value, and what is wrong with them.

Settings come from the admin's Invoicing page (validated there), the plugin's generic
Configure page or ``PTEROCA_PLUGIN_INVOICES_*`` variables (validated by type only), so every
use reads them through :func:`load` and :func:`problems`: a document is never issued from an
incomplete seller or a broken number format; the event waits (``invoices_pending``) and the
health check says what to fix.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from stdnum.eu import vat as eu_vat

from kernel import settings_for

from . import countries, numbering
from .models import CREDIT_NOTE, INVOICE, RECEIPT

PLUGIN = "invoices"
TAX_CLASS = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
FORMAT_KEYS = {
    INVOICE: "invoice_format",
    CREDIT_NOTE: "credit_note_format",
    RECEIPT: "receipt_format",
}


@dataclass(frozen=True)
class Seller:
    name: str
    address: str
    country: str
    vat_id: str
    tax_number: str
    email: str
    footer: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class Setup:
    seller: Seller
    invoice_on: str  # topup | purchase
    prices: str  # gross | net, as configured
    eu_consumers: str  # destination | origin
    require_profile: bool
    topup_tax_class: str
    formats: dict[str, str]
    email_documents: bool
    online_vat_check: bool
    vies_url: str
    reverse_charge_note: str
    export_note: str

    @property
    def price_mode(self) -> str:
        """How amounts are read: net only applies to top-up invoices (the tax is added at
        checkout); a wallet debit for a purchase is what the customer paid, tax included."""
        return self.prices if self.invoice_on == "topup" else "gross"


def load() -> Setup:
    return from_values(settings_for(PLUGIN))


def from_values(values: dict) -> Setup:
    """A Setup from typed setting values (the stored ones, or a form's before it is saved)."""
    text = {
        key: str(value or "").strip() for key, value in values.items() if isinstance(value, str)
    }
    seller = Seller(
        name=text["seller_name"],
        address=text["seller_address"],
        country=text["seller_country"].upper(),
        vat_id=text["seller_vat_id"],
        tax_number=text["seller_tax_number"],
        email=text["seller_email"],
        footer=text["seller_footer"],
    )
    return Setup(
        seller=seller,
        invoice_on=values["invoice_on"],
        prices=values["prices"],
        eu_consumers=values["eu_consumers"],
        require_profile=bool(values["require_profile"]),
        topup_tax_class=text["topup_tax_class"] or "standard",
        formats={kind: text[key] for kind, key in FORMAT_KEYS.items()},
        email_documents=bool(values["email_documents"]),
        online_vat_check=bool(values["online_vat_check"]),
        vies_url=text["vies_url"],
        reverse_charge_note=text["reverse_charge_note"],
        export_note=text["export_note"],
    )


def problems(setup: Setup) -> list[str]:
    """Why documents cannot be issued with these settings (empty: they can)."""
    found = []
    if not setup.seller.name:
        found.append("the seller's legal name is not set")
    if not setup.seller.address:
        found.append("the seller's address is not set")
    if not countries.is_country(setup.seller.country):
        found.append(
            f"the seller's country {setup.seller.country!r} is not an ISO 3166 code "
            "such as DE or FR"
        )
    if not TAX_CLASS.fullmatch(setup.topup_tax_class):
        found.append(f"the top-up tax class {setup.topup_tax_class!r} is not a class name")
    for kind, fmt in setup.formats.items():
        try:
            numbering.check_format(fmt)
        except numbering.FormatError as exc:
            found.append(f"{FORMAT_KEYS[kind]}: {exc}")
    if len(set(setup.formats.values())) != len(setup.formats):
        found.append("invoices, credit notes and receipts need different number formats")
    return found


def warnings(setup: Setup) -> list[str]:
    """Settings that work but not as an admin may expect."""
    if setup.prices == "net" and setup.invoice_on == "purchase":
        return [
            "net prices apply to top-up invoices only: purchases paid from the wallet are "
            "invoiced for what was debited, tax included"
        ]
    return []


# --- the admin's Invoicing page -------------------------------------------------------------

EDITABLE = (
    "seller_name",
    "seller_address",
    "seller_country",
    "seller_vat_id",
    "seller_tax_number",
    "seller_email",
    "seller_footer",
    "invoice_on",
    "prices",
    "eu_consumers",
    "require_profile",
    "topup_tax_class",
    "invoice_format",
    "credit_note_format",
    "receipt_format",
    "email_documents",
    "online_vat_check",
    "vies_url",
    "reverse_charge_note",
    "export_note",
)
CHOICES = {
    "invoice_on": ("topup", "purchase"),
    "prices": ("gross", "net"),
    "eu_consumers": ("destination", "origin"),
}
BOOLEANS = ("require_profile", "email_documents", "online_vat_check")
LIMITS = {
    "seller_address": 500,
    "seller_footer": 1000,
    "reverse_charge_note": 300,
    "export_note": 300,
}


def check_form(form, current: dict) -> tuple[dict, list[str]]:
    """The values the Invoicing page submitted, and what is wrong with them (nothing is
    saved while the list is not empty). ``current`` fills in what the form did not send."""
    values, errors = dict(current), []
    for key in EDITABLE:
        if key in BOOLEANS:
            values[key] = form.get(key) in ("1", "on", "true", "yes")
            continue
        raw = str(form.get(key, current.get(key, "")) or "").replace("\r\n", "\n").strip()
        if "\x00" in raw or any(ord(ch) < 32 and ch not in "\n\t" for ch in raw):
            errors.append(f"{key}: remove the control characters")
        if len(raw) > LIMITS.get(key, 200):
            errors.append(f"{key}: at most {LIMITS.get(key, 200)} characters")
        if key in CHOICES and raw not in CHOICES[key]:
            errors.append(f"{key}: choose one of {', '.join(CHOICES[key])}")
        values[key] = raw.upper() if key == "seller_country" else raw
    if values["vies_url"] and not values["vies_url"].startswith(("https://", "http://")):
        errors.append("vies_url: an http(s) URL")
    if not errors:
        setup = from_values(values)
        errors += problems(setup)
        if setup.seller.vat_id and countries.in_eu(setup.seller.country):
            if not eu_vat.is_valid(setup.seller.vat_id):
                errors.append(f"seller_vat_id: {setup.seller.vat_id} is not a valid EU VAT id")
    return values, errors
