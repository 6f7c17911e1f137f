"""Money arithmetic: integer minor units, one ISO 4217 currency, never floats."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

# Minor-unit exponents that differ from 2 (ISO 4217).
EXPONENTS = {"JPY": 0, "KRW": 0, "HUF": 2, "BHD": 3, "KWD": 3}
MAX_AMOUNT = 10**12  # a sanity cap on any single amount, in minor units


class MoneyError(ValueError):
    """An amount a user typed that is not valid money; the message says why."""


def exponent(currency: str) -> int:
    return EXPONENTS.get(currency.upper(), 2)


def parse_amount(text: str, currency: str) -> int:
    """``"12.34"`` in EUR -> 1234. Refuses more decimals than the currency has, negatives, junk."""
    raw = (text or "").strip().replace(",", ".")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise MoneyError(f"{text!r} is not an amount") from None
    if not value.is_finite():
        raise MoneyError(f"{text!r} is not an amount")
    places = exponent(currency)
    minor = value * (10 ** places)
    if minor != minor.to_integral_value():
        raise MoneyError(f"{currency.upper()} amounts have at most {places} decimal places")
    if minor <= 0:
        raise MoneyError("the amount must be more than zero")
    if minor > MAX_AMOUNT:
        raise MoneyError("the amount is too large")
    return int(minor)


def format_amount(minor: int, currency: str) -> str:
    """1234, "EUR" -> ``"12.34 EUR"`` (negative amounts keep their sign)."""
    places = exponent(currency)
    sign = "-" if minor < 0 else ""
    whole, frac = divmod(abs(int(minor)), 10 ** places)
    body = f"{whole:,}" + (f".{frac:0{places}d}" if places else "")
    return f"{sign}{body} {currency.upper()}"


def percent_of(minor: int, percent: int | Decimal) -> int:
    """``percent``% of an amount, rounded half up to a whole minor unit."""
    from decimal import ROUND_HALF_UP

    return int((Decimal(minor) * Decimal(percent) / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
