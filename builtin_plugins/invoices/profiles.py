"""Billing profiles: what a customer tells us about who is billed, checked field by field.

Every field is text a customer typed and later printed on a legal document and in an
accountant's CSV, so it is refused (with the field named and nothing saved) when it holds a
NUL byte or another control character, is longer than its column, or is missing when
required. Text is NFC-normalised and its surrounding whitespace dropped.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from kernel import db, now

from . import countries, vat
from .config import Setup
from .models import BillingProfile

# field -> (label, max length, required)
FIELDS: dict[str, tuple[str, int, bool]] = {
    "legal_name": ("Full legal name", 200, True),
    "company": ("Company", 200, False),
    "address": ("Street address", 500, True),
    "postcode": ("Postcode", 20, False),
    "city": ("City", 100, True),
    "region": ("Region or state", 100, False),
    "country": ("Country", 2, True),
    "vat_id": ("VAT id", 40, False),
}
MULTILINE = {"address"}
MAX_ADDRESS_LINES = 4


class ProfileError(ValueError):
    """A billing profile that cannot be saved: ``errors`` maps field -> message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{FIELDS[f][0]}: {m}" for f, m in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class Buyer:
    """The buyer as a document records it (a snapshot: later edits change no invoice)."""

    email: str
    legal_name: str = ""
    company: str = ""
    address: str = ""
    postcode: str = ""
    city: str = ""
    region: str = ""
    country: str = ""
    vat_id: str = ""
    vat_valid: bool = False

    @property
    def is_business(self) -> bool:
        """A business the reverse charge can apply to: a VAT id that passed the checks."""
        return bool(self.vat_id and self.vat_valid)

    def as_dict(self) -> dict:
        return {
            "email": self.email,
            "legal_name": self.legal_name,
            "company": self.company,
            "address": self.address,
            "postcode": self.postcode,
            "city": self.city,
            "region": self.region,
            "country": self.country,
            "vat_id": self.vat_id,
            "vat_valid": self.vat_valid,
        }


def _clean(field: str, raw: object) -> str:
    label, limit, required = FIELDS[field]
    text = unicodedata.normalize("NFC", str(raw if raw is not None else ""))
    if field in MULTILINE:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        lines = [line.strip() for line in text.split("\n")]
        text = "\n".join(line for line in lines if line)
        if text.count("\n") >= MAX_ADDRESS_LINES:
            raise ValueError(f"use at most {MAX_ADDRESS_LINES} lines")
    text = text.strip()
    allowed = "\n" if field in MULTILINE else ""
    if any(
        unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") and ch not in allowed
        for ch in text
    ):
        raise ValueError("remove the control characters")
    if len(text) > limit:
        raise ValueError(f"use at most {limit} characters")
    if required and not text:
        raise ValueError("this is required")
    return text


def validate(form: Mapping[str, object], setup: Setup) -> tuple[dict[str, str], vat.Verdict]:
    """The cleaned fields and the VAT verdict, or ProfileError naming every bad field."""
    values, errors = {}, {}
    for field in FIELDS:
        try:
            values[field] = _clean(field, form.get(field, ""))
        except ValueError as exc:
            errors[field] = str(exc)
    country = values.get("country", "").upper()
    if "country" not in errors:
        if not countries.is_country(country):
            errors["country"] = "choose a country from the list"
        values["country"] = country
    verdict = vat.Verdict("", "", "")
    if "vat_id" not in errors and "country" not in errors:
        try:
            verdict = vat.verify(values["vat_id"], country, setup)
        except vat.VatError as exc:
            errors["vat_id"] = str(exc)
    if errors:
        raise ProfileError(errors)
    values["vat_id"] = verdict.vat_id
    return values, verdict


def save(user_id: int, form: Mapping[str, object], setup: Setup) -> BillingProfile:
    """Validate and store ``user_id``'s profile (one per customer); ProfileError otherwise."""
    values, verdict = validate(form, setup)
    profile = db.session.get(BillingProfile, user_id) or BillingProfile(user_id=user_id)
    for field, value in values.items():
        setattr(profile, field, value)
    profile.vat_status, profile.vat_checked_by = verdict.status, verdict.checked_by
    profile.vat_checked_at = now() if verdict.vat_id else None
    db.session.add(profile)
    db.session.commit()
    return profile


def get(user_id: int) -> BillingProfile | None:
    return db.session.get(BillingProfile, user_id)


def buyer_of(user, profile: BillingProfile | None = None) -> Buyer:
    """The buyer a document issued now records: the profile, or just the account."""
    profile = profile if profile is not None else get(user.id)
    if profile is None:
        return Buyer(email=user.email, legal_name=user.name or "")
    return Buyer(
        email=user.email,
        legal_name=profile.legal_name,
        company=profile.company,
        address=profile.address,
        postcode=profile.postcode,
        city=profile.city,
        region=profile.region,
        country=profile.country,
        vat_id=profile.vat_id,
        vat_valid=profile.vat_status == vat.VALID,
    )


def recheck_unverified(setup: Setup, limit: int = 50) -> int:
    """Ask the online check again about ids it could not answer for; how many it confirmed.

    An id the service now refuses loses its business status (invoices charge VAT) and keeps
    ``unverified``; the customer sees it on their billing page.
    """
    if not setup.online_vat_check:
        return 0
    confirmed = 0
    rows = db.session.scalars(
        db.select(BillingProfile)
        .where(BillingProfile.vat_status == vat.UNVERIFIED)
        .order_by(BillingProfile.vat_checked_at)
        .limit(limit)
    ).all()
    for profile in rows:
        answer = vat.ask_online(profile.vat_id)
        profile.vat_checked_at = now()
        if answer:
            profile.vat_status, profile.vat_checked_by = vat.VALID, "online"
            confirmed += 1
    db.session.commit()
    return confirmed
