"""Recognising Finnish personal identity codes, against hand-built codes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from model.privacy import looks_like_personal_identity_code, personal_identity_code_mask

ALPHABET = "0123456789ABCDEFHJKLMNPRSTUVWXY"


def code(day: int, month: int, year: int, individual: int, sign: str | None = None) -> str:
    """A code built with the official formula, independently of the module under test."""
    if sign is None:
        sign = {18: "+", 19: "-", 20: "A"}[year // 100]
    digits = f"{day:02d}{month:02d}{year % 100:02d}{individual:03d}"
    return f"{digits[:6]}{sign}{digits[6:]}{ALPHABET[int(digits) % 31]}"


def test_the_official_example_is_recognised() -> None:
    assert code(13, 10, 1952, 308) == "131052-308T"
    assert looks_like_personal_identity_code("131052-308T")


@pytest.mark.parametrize(
    ("day", "month", "year", "individual", "sign"),
    [
        (1, 1, 1899, 2, "+"),
        (31, 12, 1985, 899, "-"),
        (15, 6, 1970, 123, "Y"),
        (15, 6, 1970, 123, "X"),
        (15, 6, 1970, 123, "W"),
        (15, 6, 1970, 123, "V"),
        (15, 6, 1970, 123, "U"),
        (29, 2, 2000, 456, "A"),
        (1, 3, 2004, 456, "B"),
        (1, 3, 2004, 456, "C"),
        (1, 3, 2004, 456, "D"),
        (1, 3, 2004, 456, "E"),
        (1, 3, 2004, 456, "F"),
        (1, 3, 2004, 950, "A"),  # temporary codes (900-999) identify a person too
    ],
)
def test_valid_codes_of_every_century_sign(
    day: int, month: int, year: int, individual: int, sign: str
) -> None:
    value = code(day, month, year, individual, sign)
    assert looks_like_personal_identity_code(value)
    assert looks_like_personal_identity_code(value.lower())
    assert looks_like_personal_identity_code(f"  {value} ")


def test_a_wrong_check_character_is_not_a_code() -> None:
    right = code(13, 10, 1952, 308)
    for wrong in ALPHABET:
        if wrong != right[-1]:
            assert not looks_like_personal_identity_code(right[:-1] + wrong)


@pytest.mark.parametrize(
    "value",
    [
        code(30, 2, 1990, 123),  # 30 February
        code(29, 2, 2001, 123, "A"),  # not a leap year
        code(1, 13, 1990, 123),  # month 13
        code(0, 1, 1990, 123),  # day 0
        code(1, 1, 1990, 0),  # individual numbers start at 002
        code(1, 1, 1990, 1),
        "131052G308T",  # not a century sign
        "131052-308",  # too short
        "1310521-308T",
        "",
        "c000123",
        "3f2a9c1e7b",
    ],
)
def test_bad_dates_and_shapes_are_not_codes(value: str) -> None:
    assert not looks_like_personal_identity_code(value)


def test_a_code_inside_an_id_counts_only_as_a_separate_token() -> None:
    assert looks_like_personal_identity_code("client_131052-308T")
    assert looks_like_personal_identity_code("131052-308T/2")
    assert not looks_like_personal_identity_code("x131052-308T")
    assert not looks_like_personal_identity_code("131052-308T7")


def test_non_strings_are_not_codes() -> None:
    assert not looks_like_personal_identity_code(None)
    assert not looks_like_personal_identity_code(131052308)


def test_the_mask_agrees_with_the_single_value_check() -> None:
    values = [
        "131052-308T",
        "c000001",
        None,
        code(29, 2, 2000, 456, "A"),
        "131052-308U",
        "id 010190-123" + code(1, 1, 1990, 123)[-1],
        np.nan,
        "010190a1230",
    ]
    expected = np.array([looks_like_personal_identity_code(v) for v in values])
    assert expected.tolist() == [True, False, False, True, False, True, False, False]
    assert personal_identity_code_mask(values).tolist() == expected.tolist()
    as_text = pd.Series(values, dtype="str")
    assert personal_identity_code_mask(as_text).tolist() == expected.tolist()


def test_the_mask_of_empty_and_non_text_columns() -> None:
    assert personal_identity_code_mask(pd.Series([], dtype="str")).shape == (0,)
    assert not personal_identity_code_mask(pd.Series([131052308, 1])).any()
    assert not personal_identity_code_mask(pd.Series(pd.to_datetime(["2020-01-01"]))).any()
