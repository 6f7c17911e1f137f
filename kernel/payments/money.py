"""Money arithmetic: integer minor units, one ISO 4217 currency, never floats."""

from __future__ import annotations

import re
from decimal import Decimal

# Minor-unit exponents that differ from 2 (ISO 4217).
EXPONENTS = {"JPY": 0, "KRW": 0, "HUF": 2, "BHD": 3, "KWD": 3}
MAX_AMOUNT = 10**12  # a sanity cap on any single amount, in minor units


class MoneyError(ValueError):
    """An amount a user typed that is not valid money; the message says why."""


def exponent(currency: str) -> int:
    return EXPONENTS.get(currency.upper(), 2)


# The one format an amount a person types may have: ASCII digits, optionally one decimal
# separator (point or comma) and the decimals (docs/payments.md). No sign, exponent,
# digit grouping, underscores or other digits (full-width, Arabic-Indic...).
AMOUNT_FORMAT = re.compile(r"([0-9]+)(?:[.,]([0-9]+))?")
MAX_DIGITS = 15  # whole digits; far above MAX_AMOUNT, far below int()'s limit


def amount_format_hint(currency: str) -> str:
    places = exponent(currency)
    if not places:
        return "write whole digits only, for example 1500"
    return (
        f"write digits with at most one decimal point or comma and at most {places} "
        f"decimals, for example 12.{'5' * places}"
    )


def parse_amount(text: str, currency: str) -> int:
    """``"12.34"`` in EUR -> 1234. The format above only; refuses more decimals than the
    currency has, zero, negatives, and anything else with a message that says why."""
    raw = (text or "").strip()
    places = exponent(currency)
    if raw.startswith("-") and AMOUNT_FORMAT.fullmatch(raw[1:]):
        raise MoneyError("the amount must be more than zero")
    match = AMOUNT_FORMAT.fullmatch(raw)
    if match is None:
        raise MoneyError(f"{text!r} is not an amount: {amount_format_hint(currency)}")
    whole, frac = match.group(1), match.group(2) or ""
    if len(frac) > places:
        raise MoneyError(
            f"{currency.upper()} amounts have at most {places} decimal places"
            if places
            else f"{currency.upper()} amounts have no decimal places"
        )
    if len(whole.lstrip("0")) > MAX_DIGITS:
        raise MoneyError("the amount is too large")
    minor = int(whole) * 10**places + int(frac.ljust(places, "0") or "0")
    if minor <= 0:
        raise MoneyError("the amount must be more than zero")
    if minor > MAX_AMOUNT:
        raise MoneyError("the amount is too large")
    return minor


def format_amount(minor: int, currency: str) -> str:
    """1234, "EUR" -> ``"12.34 EUR"`` (negative amounts keep their sign)."""
    places = exponent(currency)
    sign = "-" if minor < 0 else ""
    whole, frac = divmod(abs(int(minor)), 10**places)
    body = f"{whole:,}" + (f".{frac:0{places}d}" if places else "")
    return f"{sign}{body} {currency.upper()}"


def percent_of(minor: int, percent: int | Decimal) -> int:
    """``percent``% of an amount, rounded half up to a whole minor unit."""
    from decimal import ROUND_HALF_UP

    return int(
        (Decimal(minor) * Decimal(percent) / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    )


def to_decimal_string(minor: int, currency: str) -> str:
    """1250, "EUR" -> ``"12.50"``; 1500, "JPY" -> ``"1500"`` (as APIs such as PayPal's want)."""
    places = exponent(currency)
    sign = "-" if minor < 0 else ""
    whole, frac = divmod(abs(int(minor)), 10**places)
    return f"{sign}{whole}" + (f".{frac:0{places}d}" if places else "")


def from_decimal_string(text: str, currency: str) -> int:
    """``"12.50"``, "EUR" -> 1250: the inverse of :func:`to_decimal_string`, exact or MoneyError.

    For amounts a provider reports: a plain decimal (no separators, no exponent), which may
    be zero or negative, with at most the currency's decimal places.
    """
    match = re.fullmatch(r"(-?)([0-9]+)(?:\.([0-9]+))?", str(text).strip())
    if match is None:
        raise MoneyError(f"{text!r} is not a decimal amount")
    sign, whole, frac = match.group(1), match.group(2), match.group(3) or ""
    places = exponent(currency)
    if frac[places:].strip("0"):
        raise MoneyError(f"{currency.upper()} amounts have at most {places} decimal places")
    minor = int(whole) * 10**places + int(frac[:places].ljust(places, "0") or "0")
    return -minor if sign else minor
