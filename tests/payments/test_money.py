import pytest
from hypothesis import given
from hypothesis import strategies as st

from kernel.payments.money import MoneyError, format_amount, parse_amount, percent_of


@pytest.mark.parametrize("text,currency,minor", [("12.34", "EUR", 1234), ("12,5", "usd", 1250),
                                                  ("7", "PLN", 700), ("1500", "JPY", 1500)])
def test_parse(text, currency, minor):
    assert parse_amount(text, currency) == minor


@pytest.mark.parametrize("text,words", [("1.234", "at most 2 decimal"), ("-5", "more than zero"),
                                         ("abc", "is not an amount"), ("nan", "is not an amount"),
                                         ("0", "more than zero"), ("1e20", "too large")])
def test_parse_refuses(text, words):
    with pytest.raises(MoneyError, match=words):
        parse_amount(text, "EUR")


@given(st.integers(min_value=1, max_value=10**11))
def test_format_parse_round_trip(minor):
    text = format_amount(minor, "EUR").split()[0].replace(",", "")
    assert parse_amount(text, "EUR") == minor


def test_format_and_percent():
    assert format_amount(-123456, "usd") == "-1,234.56 USD"
    assert format_amount(5, "JPY") == "5 JPY"
    assert percent_of(999, 10) == 100 and percent_of(995, 10) == 100 and percent_of(994, 10) == 99
