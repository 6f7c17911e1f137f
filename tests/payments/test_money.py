import pytest
from hypothesis import given
from hypothesis import strategies as st

from kernel.payments.money import MoneyError, format_amount, parse_amount, percent_of


@pytest.mark.parametrize(
    "text,currency,minor",
    [("12.34", "EUR", 1234), ("12,5", "usd", 1250), ("7", "PLN", 700), ("1500", "JPY", 1500)],
)
def test_parse(text, currency, minor):
    assert parse_amount(text, currency) == minor


@pytest.mark.parametrize(
    "text,words",
    [
        ("1.234", "at most 2 decimal"),
        ("-5", "more than zero"),
        ("abc", "is not an amount"),
        ("nan", "is not an amount"),
        ("0", "more than zero"),
        ("1e20", "is not an amount"),
        ("99999999999", "too large"),
        ("9" * 5000, "too large"),
    ],
)
def test_parse_refuses(text, words):
    with pytest.raises(MoneyError, match=words):
        parse_amount(text, "EUR")


@pytest.mark.parametrize(
    "text",
    [
        "1e3",
        "1E3",
        "1_000",
        "１２",
        "١٢",
        "+5",
        "5.",
        ".5",
        "1.2.3",
        "1,000.00",
        "1 000",
        "0x10",
        "Infinity",
        "12€",
        "12\x00",
        "1.5e1",
    ],
)
def test_only_the_documented_format_is_an_amount(text):
    with pytest.raises(
        MoneyError,
        match="is not an amount: write digits with at most one "
        "decimal point or comma and at most 2 decimals",
    ):
        parse_amount(text, "EUR")


@pytest.mark.parametrize(
    "text,currency,message",
    [
        ("12.340", "EUR", "at most 2 decimal places"),
        ("100.0", "JPY", "no decimal places"),
        ("1,5", "JPY", "no decimal places"),
        ("1.2345", "KWD", "at most 3 decimal places"),
    ],
)
def test_decimals_follow_the_currency(text, currency, message):
    with pytest.raises(MoneyError, match=message):
        parse_amount(text, currency)


def test_the_format_accepts_either_separator_and_surrounding_space():
    assert parse_amount(" 12,50 ", "EUR") == parse_amount("12.5", "EUR") == 1250
    assert parse_amount("007", "EUR") == 700 and parse_amount("1.234", "KWD") == 1234


@given(st.integers(min_value=1, max_value=10**11))
def test_format_parse_round_trip(minor):
    text = format_amount(minor, "EUR").split()[0].replace(",", "")
    assert parse_amount(text, "EUR") == minor


def test_format_and_percent():
    assert format_amount(-123456, "usd") == "-1,234.56 USD"
    assert format_amount(5, "JPY") == "5 JPY"
    assert percent_of(999, 10) == 100 and percent_of(995, 10) == 100 and percent_of(994, 10) == 99


@pytest.mark.parametrize(
    "minor,currency,text",
    [
        (1250, "EUR", "12.50"),
        (1, "usd", "0.01"),
        (700, "PLN", "7.00"),
        (1500, "JPY", "1500"),
        (-320, "USD", "-3.20"),
        (0, "GBP", "0.00"),
        (1234567, "KWD", "1234.567"),
    ],
)
def test_decimal_strings(minor, currency, text):
    from kernel.payments.money import from_decimal_string, to_decimal_string

    assert to_decimal_string(minor, currency) == text
    assert from_decimal_string(text, currency) == minor


@pytest.mark.parametrize(
    "text,words",
    [
        ("12.5", None),
        ("12.500", None),
        ("1.234", "at most 2"),
        ("1e3", "not a decimal"),
        ("1,50", "not a decimal"),
        ("", "not a decimal"),
        (".5", "not a decimal"),
        ("1.", "not a decimal"),
        ("²", "not a decimal"),
    ],
)
def test_from_decimal_string_is_strict(text, words):
    from kernel.payments.money import from_decimal_string

    if words is None:
        assert from_decimal_string(text, "EUR") == 1250
    else:
        with pytest.raises(MoneyError, match=words):
            from_decimal_string(text, "EUR")


@given(st.integers(min_value=-(10**12), max_value=10**12), st.sampled_from(["EUR", "JPY", "KWD"]))
def test_decimal_string_round_trip(minor, currency):
    from kernel.payments.money import from_decimal_string, to_decimal_string

    assert from_decimal_string(to_decimal_string(minor, currency), currency) == minor
