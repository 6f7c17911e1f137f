"""Invoice arithmetic in integer minor units: the one place where tax is computed and rounded.

The rule (docs/invoices.md, "Rounding"): **each line is rounded on its own**, half away from
zero, to a whole minor unit; the document's totals are the sums of its lines, and the tax
summary per rate is the sum of the tax of the lines at that rate (never recomputed from a
sum). So, for every line and for the document, ``net + tax == gross`` and the lines add up
to the totals exactly; a customer adding up the PDF by hand finds the printed totals.

- Gross pricing (the amount is what the customer pays): ``tax = gross * r / (1 + r)``, rounded;
  ``net = gross - tax``.
- Net pricing (the amount is before tax): ``tax = net * r``, rounded; ``gross = net + tax``.

Rates are integer basis points (``1900`` = 19.00 %), so no float ever touches money.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

HUNDRED_PERCENT = 10_000  # basis points
GROSS, NET = "gross", "net"
RATE = re.compile(r"([0-9]{1,3})(?:\.([0-9]{1,2}))?")  # ASCII digits only: "19", "5.5"


class AmountError(ValueError):
    """An amount or rate that cannot be invoiced; the message says which."""


def divide_half_away(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half away from zero (``denominator`` > 0)."""
    if denominator <= 0:
        raise AmountError("the denominator must be positive")
    sign = -1 if numerator < 0 else 1
    quotient, remainder = divmod(abs(numerator), denominator)
    if remainder * 2 >= denominator:
        quotient += 1
    return sign * quotient


@dataclass(frozen=True)
class Split:
    """One line's amounts: ``net + tax == gross`` always."""

    net: int
    tax: int
    gross: int


def check_rate(rate_bp: int) -> int:
    if isinstance(rate_bp, bool) or not isinstance(rate_bp, int):
        raise AmountError(f"a tax rate is whole basis points, not {rate_bp!r:.40}")
    if not 0 <= rate_bp <= HUNDRED_PERCENT:
        raise AmountError("a tax rate is between 0 and 100 %")
    return rate_bp


def split(amount: int, rate_bp: int, mode: str) -> Split:
    """The net, tax and gross of one line priced ``amount`` (gross or net, per ``mode``)."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise AmountError(f"amounts are integer minor units, not {amount!r:.40}")
    check_rate(rate_bp)
    if mode == GROSS:
        tax = divide_half_away(amount * rate_bp, HUNDRED_PERCENT + rate_bp)
        return Split(net=amount - tax, tax=tax, gross=amount)
    if mode == NET:
        tax = divide_half_away(amount * rate_bp, HUNDRED_PERCENT)
        return Split(net=amount, tax=tax, gross=amount + tax)
    raise AmountError(f"prices are gross or net, not {mode!r:.20}")


def totals(splits: list[Split]) -> Split:
    """The document's totals: the sums of its lines."""
    return Split(
        net=sum(s.net for s in splits),
        tax=sum(s.tax for s in splits),
        gross=sum(s.gross for s in splits),
    )


def allocate(total: int, weights: list[int]) -> list[int]:
    """``total`` shared in proportion to ``weights`` (largest remainder): the parts add up to
    ``total`` exactly, each has the sign of ``total``, a zero weight gets nothing.

    A partial refund of a multi-line invoice is credited line by line this way.
    """
    if not weights or any(w < 0 for w in weights) or sum(weights) == 0:
        raise AmountError("an amount is shared over positive weights")
    whole = sum(weights)
    sign, magnitude = (-1 if total < 0 else 1), abs(total)
    floors, remainders = [], []
    for index, weight in enumerate(weights):
        share, remainder = divmod(magnitude * weight, whole)
        floors.append(share)
        remainders.append((-remainder, index))
    for _negative, index in sorted(remainders)[: magnitude - sum(floors)]:
        floors[index] += 1
    return [sign * part for part in floors]


def parse_rate(text: str) -> int:
    """``"19"``, ``"7.7"``, ``"5,5 %"`` -> basis points (1900, 770, 550); AmountError otherwise."""
    raw = str(text or "").strip().rstrip("%").strip().replace(",", ".")
    match = RATE.fullmatch(raw)
    if match is None:
        raise AmountError(f"{str(text)[:20]!r} is not a percentage such as 19 or 5.5")
    whole, fraction = match.group(1), match.group(2) or ""
    return check_rate(int(whole) * 100 + int(fraction.ljust(2, "0")))


def format_rate(rate_bp: int) -> str:
    """1900 -> ``"19 %"``, 550 -> ``"5.5 %"``, 2550 -> ``"25.5 %"``, 775 -> ``"7.75 %"``."""
    whole, fraction = divmod(rate_bp, 100)
    text = f"{whole}.{fraction:02d}".rstrip("0").rstrip(".")
    return f"{text} %"
