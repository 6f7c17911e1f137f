"""The invoice arithmetic: per-line rounding, totals, shares of a refund (hypothesis)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from builtin_plugins.invoices.amounts import (
    GROSS,
    HUNDRED_PERCENT,
    NET,
    AmountError,
    allocate,
    divide_half_away,
    format_rate,
    parse_rate,
    split,
    totals,
)

amounts = st.integers(min_value=-(10**12), max_value=10**12)
rates = st.integers(min_value=0, max_value=HUNDRED_PERCENT)
modes = st.sampled_from([GROSS, NET])


@given(amounts, rates, modes)
@example(1, 1900, GROSS)
@example(5, 2000, NET)  # 5 * 20 % = 1.0
@example(-1200, 2000, GROSS)
def test_every_line_adds_up(amount, rate, mode):
    line = split(amount, rate, mode)
    assert line.net + line.tax == line.gross
    assert (line.gross if mode == GROSS else line.net) == amount
    assert abs(line.tax) <= abs(line.gross)
    assert line.tax == 0 or (line.tax > 0) == (amount > 0)


@given(amounts, rates, modes)
def test_tax_is_the_exact_tax_rounded_half_away_from_zero(amount, rate, mode):
    exact = (
        Decimal(amount) * rate / (HUNDRED_PERCENT + rate)
        if mode == GROSS
        else Decimal(amount) * rate / HUNDRED_PERCENT
    )
    magnitude = int(abs(exact).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    rounded = magnitude if exact >= 0 else -magnitude
    assert split(amount, rate, mode).tax == rounded


@given(amounts, rates, modes)
def test_a_credit_mirrors_the_line_it_credits(amount, rate, mode):
    line, credit = split(amount, rate, mode), split(-amount, rate, mode)
    assert (credit.net, credit.tax, credit.gross) == (-line.net, -line.tax, -line.gross)


@given(
    st.lists(st.tuples(st.integers(min_value=0, max_value=10**10), rates), min_size=1, max_size=30),
    modes,
)
def test_the_document_total_is_the_sum_of_its_lines(lines, mode):
    splits = [split(amount, rate, mode) for amount, rate in lines]
    total = totals(splits)
    assert total.net == sum(s.net for s in splits)
    assert total.tax == sum(s.tax for s in splits)
    assert total.gross == sum(s.gross for s in splits)
    assert total.net + total.tax == total.gross
    # the tax summary per rate adds up to the document's tax too
    by_rate: dict[int, int] = {}
    for (_amount, rate), s in zip(lines, splits, strict=True):
        by_rate[rate] = by_rate.get(rate, 0) + s.tax
    assert sum(by_rate.values()) == total.tax


@given(
    st.integers(min_value=-(10**9), max_value=10**9),
    st.lists(st.integers(min_value=0, max_value=10**7), min_size=1, max_size=20).filter(
        lambda w: sum(w) > 0
    ),
)
def test_a_shared_amount_adds_up_and_follows_the_weights(total, weights):
    parts = allocate(total, weights)
    assert sum(parts) == total
    whole = sum(weights)
    for part, weight in zip(parts, weights, strict=True):
        exact = abs(total) * weight / whole
        assert abs(abs(part) - exact) < 1  # never a whole unit off its exact share
        assert part == 0 or (part > 0) == (total > 0)
        if weight == 0:
            assert part == 0


@given(st.lists(st.integers(min_value=1, max_value=10**7), min_size=1, max_size=20), st.data())
def test_a_partial_credit_never_takes_more_than_a_line_has(weights, data):
    amount = data.draw(st.integers(min_value=0, max_value=sum(weights)))
    assert all(
        part <= weight for part, weight in zip(allocate(amount, weights), weights, strict=True)
    )


def test_allocation_refuses_nonsense():
    for bad in ([], [0, 0], [1, -1]):
        with pytest.raises(AmountError):
            allocate(10, bad)


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [
        (5, 10, 1),
        (-5, 10, -1),
        (4, 10, 0),
        (-4, 10, 0),
        (15, 10, 2),
        (25, 10, 3),
        (-25, 10, -3),
        (0, 7, 0),
    ],
)
def test_halves_round_away_from_zero(numerator, denominator, expected):
    assert divide_half_away(numerator, denominator) == expected


def test_the_documented_examples():
    assert split(1200, 2000, GROSS) == split(1000, 2000, NET)  # 10.00 + 2.00 = 12.00
    assert split(1000, 1900, GROSS).tax == 160  # 1000 * 19 / 119 = 159.66
    assert split(999, 700, NET).tax == 70  # 69.93
    assert split(1, 1900, GROSS).tax == 0 and split(3, 1900, GROSS).tax == 0  # 0.479 -> 0


@pytest.mark.parametrize(
    ("text", "rate"),
    [
        ("19", 1900),
        ("7.7", 770),
        ("5,5 %", 550),
        ("25.5%", 2550),
        ("0", 0),
        ("100", 10_000),
        ("7.75", 775),
    ],
)
def test_rates_are_read_exactly(text, rate):
    assert parse_rate(text) == rate


@pytest.mark.parametrize(
    "text", ["", "abc", "-19", "19.999", "101", "1e2", "nan", "19.5.5", "0x10", "١٩"]
)
def test_rates_that_are_not_percentages_are_refused(text):
    with pytest.raises(AmountError):
        parse_rate(text)


@given(rates)
def test_a_rate_prints_and_reads_back(rate):
    assert parse_rate(format_rate(rate)) == rate


def test_amounts_are_integers_only():
    for bad in (1.5, True, "12", None):
        with pytest.raises(AmountError):
            split(bad, 1900, GROSS)
    with pytest.raises(AmountError):
        split(100, 1900, "both")
    with pytest.raises(AmountError):
        split(100, 10_001, GROSS)
