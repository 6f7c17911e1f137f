"""Countries: ISO 3166-1 alpha-2 codes with their names (from Babel's CLDR data), and the EU.

The EU member list decides the reverse charge and exports (docs/invoices.md); it is the only
geographic fact the plugin keeps in code. Greece's VAT ids start with ``EL``, Northern
Ireland's (goods only) with ``XI``: VAT prefixes are not always country codes.
"""

from __future__ import annotations

from functools import lru_cache

from babel import Locale, UnknownLocaleError

EU_MEMBERS = frozenset(
    {
        "AT",
        "BE",
        "BG",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "ES",
        "FI",
        "FR",
        "GR",
        "HR",
        "HU",
        "IE",
        "IT",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SE",
        "SI",
        "SK",
    }
)
VAT_PREFIX = {"GR": "EL"}
# CLDR territories that are groupings or placeholders, not countries a customer lives in.
NOT_COUNTRIES = frozenset({"EU", "EZ", "UN", "ZZ", "QO", "XA", "XB"})


@lru_cache(maxsize=16)
def _names(language: str) -> dict[str, str]:
    try:
        territories = Locale.parse(language or "en").territories
    except (UnknownLocaleError, ValueError):
        territories = Locale("en").territories
    return {
        code: name
        for code, name in territories.items()
        if len(code) == 2 and code.isalpha() and code.isupper() and code not in NOT_COUNTRIES
    }


def is_country(code: str) -> bool:
    return isinstance(code, str) and code in _names("en")


def country_name(code: str, language: str = "en") -> str:
    return _names(language).get(code, code)


def choices(language: str = "en") -> list[tuple[str, str]]:
    """``(code, name)`` for every country, sorted by name in ``language``."""
    return sorted(_names(language).items(), key=lambda item: item[1])


def in_eu(code: str) -> bool:
    return code in EU_MEMBERS


def vat_prefix(country: str) -> str:
    """The prefix of a VAT id issued in ``country`` (``EL`` for Greece)."""
    return VAT_PREFIX.get(country, country)


def country_of_prefix(prefix: str) -> str:
    return {v: k for k, v in VAT_PREFIX.items()}.get(prefix, prefix)
