"""Numbers and unit words in Finnish, Swedish and English (model.locale_numbers)."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest
from babel.numbers import format_decimal, get_minus_sign_symbol

from model.locale_numbers import (
    LOCALES,
    MISSING,
    format_number,
    format_percent,
    format_points,
    plural_category,
)

MINUS = "\u2212"
NBSP = "\u00a0"


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("fi", ["1234,5", f"{MINUS}0,5", "0,1", f"1{NBSP}234{NBSP}567"]),
        ("sv", ["1234,5", f"{MINUS}0,5", "0,1", f"1{NBSP}234{NBSP}567"]),
        ("en", ["1234.5", "-0.5", "0.1", "1,234,567"]),
    ],
)
def test_decimal_mark_minus_sign_and_groups(language: str, expected: list[str]) -> None:
    assert [
        format_number(1234.5, language, 1),
        format_number(-0.5, language, 1),
        format_number(0.15, language, 1),  # the float 0.15 is a little under 0.15
        format_number(1234567, language, 0, grouped=True),
    ] == expected


@pytest.mark.parametrize("language", sorted(LOCALES))
@pytest.mark.parametrize("value", [None, math.nan, math.inf, -math.inf])
def test_no_number_is_a_dash(language: str, value: float | None) -> None:
    assert format_number(value, language, 2) == MISSING
    assert format_percent(value, language) == MISSING
    assert format_points(value, language, unit="long") == MISSING


@pytest.mark.parametrize("language", sorted(LOCALES))
@pytest.mark.parametrize("value", [0.0, 0.004, -0.004, 0.123, -2.5, 12.25, -1234.5678, 98765.4321])
@pytest.mark.parametrize("digits", [0, 1, 3])
def test_the_digits_are_babels_with_the_locales_minus_sign(
    language: str, value: float, digits: int
) -> None:
    """Babel formats the float's exact value the same, except that it writes a
    hyphen-minus where the locale's minus sign belongs."""
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    babel = format_decimal(Decimal(value), format=pattern, locale=LOCALES[language])
    babel = babel.replace("-", get_minus_sign_symbol(LOCALES[language]))
    assert format_number(value, language, digits, grouped=True) == babel


def test_signed_and_trimmed() -> None:
    assert format_number(0.25, "fi", 2, signed=True) == "+0,25"
    assert format_number(-0.25, "sv", 2, signed=True) == f"{MINUS}0,25"
    assert format_number(-0.25, "en", 2, signed=True) == "-0.25"
    assert format_number(2.0, "fi", 1, trim=True) == "2"
    assert format_number(2.50, "en", 3, trim=True) == "2.5"
    assert format_number(10.0, "en", 0, trim=True) == "10"


def test_percent_follows_each_locales_pattern() -> None:
    assert format_percent(0.123, "fi") == f"12,3{NBSP}%"
    assert format_percent(0.123, "sv") == f"12,3{NBSP}%"
    assert format_percent(0.123, "en") == "12.3%"
    assert format_percent(-0.004, "fi") == f"{MINUS}0,4{NBSP}%"
    assert format_percent(0.5, "en", 0) == "50%"


def test_points_are_hundredths_of_a_share() -> None:
    assert format_points(0.04, "fi") == "4,0"
    assert format_points(-0.0123, "fi", signed=True) == f"{MINUS}1,2"
    assert format_points(0.0123, "en", signed=True) == "+1.2"
    assert format_points(-0.0123, "en", 2) == "-1.23"


@pytest.mark.parametrize(
    ("language", "one", "two", "one_and_a_half"),
    [
        ("fi", "1 prosenttiyksikön", "2 prosenttiyksikköä", "1,5 prosenttiyksikköä"),
        ("sv", "1 procentenhet", "2 procentenheter", "1,5 procentenheter"),
        ("en", "1 percentage point", "2 percentage points", "1.5 percentage points"),
    ],
)
def test_the_unit_word_takes_the_numbers_plural(
    language: str, one: str, two: str, one_and_a_half: str
) -> None:
    assert format_points(0.01, language, trim=True, unit="long") == one
    assert format_points(0.02, language, trim=True, unit="long") == two
    assert format_points(0.015, language, trim=True, unit="long") == one_and_a_half
    # shown decimals count: "1.0" takes the plural
    assert format_points(0.01, language, unit="long").endswith(two.split(" ", 1)[1])


def test_short_unit_words() -> None:
    assert format_points(0.08, "fi", unit="short") == "8,0 %-yksikköä"
    assert format_points(-0.01, "fi", trim=True, unit="short") == f"{MINUS}1 %-yksikön"
    assert format_points(0.08, "en", unit="short") == "8.0 percentage points"


def test_plural_categories_are_cldrs() -> None:
    for language in LOCALES:
        assert plural_category("1", language) == "one"
        assert plural_category("-1", language) == "one"
        for text in ("0", "2", "1.0", "0.5", "21", "100"):
            assert plural_category(text, language) == "other", (language, text)


def test_an_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="language"):
        format_number(1.0, "de", 1)
