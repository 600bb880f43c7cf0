"""Numbers as Finnish, Swedish and English readers write them, and the words after them.

Each language is written as one CLDR locale, through Babel: Finnish as fi_FI,
Swedish as sv_FI (Finland's Swedish) and English as en_GB (the English that
Finnish and EU public administration writes; its numbers are en_US's). The
locale gives the decimal mark, the group separator,
the minus and plus signs, the percent pattern and the plural rules: Finnish
and Swedish write 1 234,5, −0,5 and 12,3 % (a no-break space, a comma, the
minus sign U+2212, a no-break space before %), English 1,234.5, -0.5 and
12.3%.

Babel's own `format_decimal` writes a hyphen-minus whatever the locale's
minus sign, and rounds the decimal text of a float rather than the float
itself (0.15 to one decimal is 0.2 there, 0.1 in Python's `format`). So the
digits here are Python's formatting of the float, rounded as the command
line's tables and the JSON's rounded figures round it, and only the symbols,
the percent pattern and the plural rules are Babel's, read once per language:
cheap enough for the explanation texts of every recommendation.

`format_points` writes a difference of two shares in percentage points and,
when asked, the unit word in the plural the number takes ("1 percentage
point", "1.5 percentage points"): CLDR's plural category of the number as
written chooses the word of `POINT_UNITS`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from functools import cache, lru_cache
from typing import Final, Literal

from babel import Locale
from babel.numbers import (
    get_decimal_symbol,
    get_group_symbol,
    get_minus_sign_symbol,
    get_plus_sign_symbol,
    parse_pattern,
)

LOCALES: Final = {"fi": "fi_FI", "sv": "sv_FI", "en": "en_GB"}
# What a missing or infinite number is written as.
MISSING: Final = "–"

# Percentage points after a number saying by how much something changes, by the
# CLDR plural category of the number as written. Finnish takes the partitive
# after every number but a whole 1 ("2 prosenttiyksikköä", "1,5 prosenttiyksikköä")
# and the accusative after it ("kasvattaa arviota 1 prosenttiyksikön").
POINT_UNITS: Final[dict[str, dict[str, dict[str, str]]]] = {
    "long": {
        "fi": {"one": "prosenttiyksikön", "other": "prosenttiyksikköä"},
        "sv": {"one": "procentenhet", "other": "procentenheter"},
        "en": {"one": "percentage point", "other": "percentage points"},
    },
    "short": {
        "fi": {"one": "%-yksikön", "other": "%-yksikköä"},
        "sv": {"one": "procentenhet", "other": "procentenheter"},
        "en": {"one": "percentage point", "other": "percentage points"},
    },
}

Unit = Literal["long", "short"]


@dataclass(frozen=True)
class NumberStyle:
    """How one language writes numbers: its locale's symbols as a translation of
    the text of Python's `format` (",", ".", "-", "+"), and the percent pattern's
    text before and after the number."""

    locale: Locale
    symbols: dict[int, str]
    percent_prefix: str
    percent_suffix: str


@cache
def number_style(language: str) -> NumberStyle:
    """The `NumberStyle` of `language` (one of `LOCALES`), read from CLDR once."""
    if language not in LOCALES:
        raise ValueError(f"language must be one of {', '.join(LOCALES)}")
    locale = Locale.parse(LOCALES[language])
    symbols = str.maketrans(
        {
            ",": get_group_symbol(locale),
            ".": get_decimal_symbol(locale),
            "-": get_minus_sign_symbol(locale),
            "+": get_plus_sign_symbol(locale),
        }
    )
    percent = parse_pattern(locale.percent_formats[None])
    sign = locale.number_symbols[locale.default_numbering_system].get("percentSign", "%")
    return NumberStyle(
        locale=locale,
        symbols=symbols,
        percent_prefix=percent.prefix[0].replace("%", sign),
        percent_suffix=percent.suffix[0].replace("%", sign),
    )


def format_number(
    value: float | None,
    language: str,
    digits: int,
    *,
    signed: bool = False,
    grouped: bool = False,
    trim: bool = False,
) -> str:
    """`value` with `digits` decimals in `language`'s writing; `MISSING` when it is
    None, NaN or infinite.

    `signed` writes a plus sign before positive numbers, `grouped` separates
    thousands, `trim` drops trailing zeros of the decimals (and the decimal
    mark when none is left). The digits are rounded as Python's `format`
    rounds the float.
    """
    if value is None:
        return MISSING
    number = float(value)
    if not math.isfinite(number):
        return MISSING
    if grouped:
        text = format(number, f"{'+' if signed else ''},.{digits}f")
    else:
        text = ("%+.*f" if signed else "%.*f") % (digits, number)
    if trim and "." in text:
        text = text.rstrip("0").rstrip(".")
    return _localised(text, language)


def format_percent(value: float | None, language: str, digits: int = 1) -> str:
    """A share as a percentage with `digits` decimals: 0.123 is "12,3 %" in Finnish
    and Swedish, "12.3%" in English; `MISSING` when there is no number."""
    text = format_number(
        None if value is None else float(value) * 100, language, digits, grouped=True
    )
    if text == MISSING:
        return text
    style = number_style(language)
    return f"{style.percent_prefix}{text}{style.percent_suffix}"


def format_points(
    value: float | None,
    language: str,
    digits: int = 1,
    *,
    signed: bool = False,
    trim: bool = False,
    unit: Unit | None = None,
) -> str:
    """A difference of two shares in percentage points: 0.04 is "4,0" (Finnish,
    Swedish) or "4.0" (English) with one decimal; with `unit`, followed by the
    unit word (`POINT_UNITS`) in the plural the number as written takes.
    `signed` and `trim` as in `format_number`; `MISSING` when there is no number."""
    if value is None:
        return MISSING
    number = float(value) * 100
    if not math.isfinite(number):
        return MISSING
    text = ("%+.*f" if signed else "%.*f") % (digits, number)
    if trim and "." in text:
        text = text.rstrip("0").rstrip(".")
    return _written_points(text, language, unit)


# Cached: the explanation texts of every recommendation write their numbers here,
# and those numbers are few.
@lru_cache(maxsize=8192)
def _localised(text: str, language: str) -> str:
    """`text` of Python's `format` in `language`'s writing."""
    return text.translate(number_style(language).symbols)


@lru_cache(maxsize=8192)
def _written_points(text: str, language: str, unit: Unit | None) -> str:
    """Percentage points as Python's `format` wrote them, in `language`'s writing,
    with the unit word when asked."""
    written = _localised(text, language)
    if unit is None:
        return written
    return f"{written} {POINT_UNITS[unit][language][plural_category(text, language)]}"


@lru_cache(maxsize=8192)
def plural_category(text: str, language: str) -> str:
    """CLDR's plural category ("one", "other", ...) in `language` of a number as
    written, given as Python writes it ("1", "1.0", "-2.5"): "1" is one, "1.0" other
    in all three languages, as the shown decimals count."""
    return str(number_style(language).locale.plural_form(Decimal(text)))
