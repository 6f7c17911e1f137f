"""VAT ids: offline validation with python-stdnum, and the optional online check.

Offline, an id must have its country's format and check digits (``stdnum``): a typo or a
made-up id is refused before anything is saved. Online, the ``vat_id_check`` hook is asked
(*firstresult*): another plugin may answer from any tax service; the plugin's own answer,
tried last, asks the EU's VIES REST API when the ``online_vat_check`` setting is on. An id
VIES does not know is refused; when no service answers (VIES is down), the id is kept as
``unverified`` and invoices charge VAT until a later check confirms it (cron task).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import httpx
from stdnum.eu import vat as eu_vat
from stdnum.util import get_cc_module

from kernel import call_first, now

from . import countries
from .config import Setup

VALID, UNVERIFIED = "valid", "unverified"
VIES_TIMEOUT = 10.0
SEPARATORS = re.compile(r"[\s.\-/]")


class VatError(ValueError):
    """A VAT id that is refused; the message is shown to the customer."""


@dataclass(frozen=True)
class Verdict:
    vat_id: str  # compact, with its prefix ("" when none was given)
    status: str  # "" | valid | unverified
    checked_by: str  # offline | online


def normalise(text: str, country: str) -> str:
    """The compact VAT id (``FR40303265045``) for a customer in ``country``, or VatError."""
    compact = SEPARATORS.sub("", unicodedata.normalize("NFKC", text or "").upper())
    if not compact:
        return ""
    if not re.fullmatch(r"[A-Z0-9]{2,24}", compact):
        raise VatError("a VAT id has letters and digits only")
    name = countries.country_name(country)
    if not countries.in_eu(country):
        return _foreign(compact, country, name)
    prefix = countries.vat_prefix(country)
    if compact[:2].isalpha():
        given = compact[:2]
        if given == "GR" and prefix == "EL":
            compact = "EL" + compact[2:]
        elif given != prefix:
            raise VatError(
                f"the VAT id starts with {given}, but the country is {name}: "
                f"{name}'s VAT ids start with {prefix}"
            )
    else:
        compact = prefix + compact
    if not eu_vat.is_valid(compact):
        raise VatError(
            f"{compact} is not a valid VAT id of {name} (its format or check digits are wrong)"
        )
    return compact


def _foreign(compact: str, country: str, name: str) -> str:
    """Outside the EU an id is printed on the invoice (and checked when stdnum knows the
    country's format); it changes no tax: exports are not taxed anyway."""
    try:
        module = get_cc_module(country.lower(), "vat")
    except (ImportError, ValueError):  # pragma: no cover - stdnum answers None for unknown
        module = None
    if module is not None and not module.is_valid(compact):
        raise VatError(f"{compact} is not a valid tax id of {name}")
    return compact


def verify(text: str, country: str, setup: Setup) -> Verdict:
    """Normalise and check a VAT id (offline, then online when configured); VatError if refused."""
    vat_id = normalise(text, country)
    if not vat_id:
        return Verdict("", "", "")
    if not countries.in_eu(country) or not setup.online_vat_check:
        return Verdict(vat_id, VALID, "offline")
    answer = ask_online(vat_id)
    if answer is None:
        return Verdict(vat_id, UNVERIFIED, "online")
    if not answer:
        raise VatError(
            f"the EU's VIES service does not know the VAT id {vat_id}: check it, or "
            "leave the field empty to be invoiced as a consumer"
        )
    return Verdict(vat_id, VALID, "online")


def ask_online(vat_id: str) -> bool | None:
    """What the ``vat_id_check`` hook says: True (registered), False (not), None (no answer)."""
    answer = call_first(
        "vat_id_check", country=countries.country_of_prefix(vat_id[:2]), number=vat_id[2:]
    )
    if not isinstance(answer, dict) or not isinstance(answer.get("valid"), bool):
        return None
    return answer["valid"]


def vies_check(setup: Setup, country: str, number: str) -> dict | None:
    """Ask VIES (the REST API's ``check-vat-number``); None when it cannot answer."""
    if not setup.online_vat_check or not countries.in_eu(country) or not setup.vies_url:
        return None
    try:
        response = httpx.post(
            f"{setup.vies_url.rstrip('/')}/check-vat-number",
            json={"countryCode": countries.vat_prefix(country), "vatNumber": number},
            timeout=VIES_TIMEOUT,
            follow_redirects=False,
        )
        data = response.json() if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("valid"), bool):
        return None  # VIES answers errors (MS_UNAVAILABLE, ...) without "valid"
    return {
        "valid": data["valid"],
        "name": str(data.get("name") or "")[:200],
        "checked_at": now().isoformat(),
    }
