"""The eligibility rule language: what it accepts, what it computes, what it refuses.

Expected results are written out by hand from the column values below, not
recomputed with numpy, so that a wrong compiler cannot agree with itself.
"""

from __future__ import annotations

import string
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model.errors import CatalogueError, DataContractError
from model.features import feature_catalogue
from model.rules.rule import Rule, parse_rule
from model.rules.syntax import MAX_RULE_LENGTH

SERVICE = "test_service"
KINDS = {f.name: f.kind for f in feature_catalogue(["work_trial", "pay_subsidy"])}

nan = np.nan
# Six clients. Row 0 has most values missing.
COLUMNS: dict[str, np.ndarray] = {
    #                     A0=0 .. C2=6
    "finnish_level": np.array([nan, 0.0, 1.0, 2.0, 3.0, 4.0]),
    "age": np.array([25.0, 30.0, nan, 45.0, 18.0, 60.0]),
    "years_since_arrival": np.array([0.5, 0.0, 2.0, 3.0, 10.0, -0.5]),
    "n_services": np.array([0, 1, 2, 3, 4, 5]),  # an integer column
    "education_level": np.array(
        ["bachelor", None, "master_or_higher", "secondary", nan, "unknown"], dtype=object
    ),
    "literacy_needs": np.array([1.0, 0.0, nan, 1.0, 0.0, 1.0]),
    "health_limitation": np.array([True, False, None, nan, True, False], dtype=object),
    "in_service": np.array([True, False, True, False, True, False]),
}
N = 6


def rule(source: str) -> Rule:
    return parse_rule(source, KINDS, service=SERVICE)


def admitted(source: str, columns: Mapping[str, Any] | None = None) -> list[int]:
    """Indices of the rows the rule admits."""
    mask = rule(source).evaluate(COLUMNS if columns is None else columns)
    assert mask.dtype == bool
    return [int(i) for i in np.flatnonzero(mask)]


# -- what rules compute -------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "rows"),
    [
        ("age == 30", [1]),
        ("age != 30", [0, 3, 4, 5]),  # row 2: age missing
        ("age < 30", [0, 4]),
        ("age <= 30", [0, 1, 4]),
        ("age > 30", [3, 5]),
        ("age >= 30", [1, 3, 5]),
        ("n_services >= 3", [3, 4, 5]),
        ("n_services == 2.0", [2]),
        ("years_since_arrival <= 3", [0, 1, 2, 3, 5]),
        ("years_since_arrival > -1", [0, 1, 2, 3, 4, 5]),
        ("years_since_arrival < -0.25", [5]),
        ("years_since_arrival >= +2", [2, 3, 4]),
    ],
)
def test_each_comparison_operator(source: str, rows: list[int]) -> None:
    assert admitted(source) == rows


@pytest.mark.parametrize(
    ("source", "rows"),
    [
        ("finnish_level >= A2", [3, 4, 5]),
        ("finnish_level <= A2", [1, 2, 3]),
        ("finnish_level == A0", [1]),
        ("finnish_level != B1", [1, 2, 3, 5]),
        ("finnish_level >= a2", [3, 4, 5]),  # lower case is forgiven
        ('finnish_level >= "A2"', [3, 4, 5]),
        ("finnish_level >= 2", [3, 4, 5]),  # the rank itself
        ("finnish_level in [A1, B2]", [2, 5]),
        ("finnish_level not in [A1, B2]", [1, 3, 4]),
        # the value first: the operator is flipped
        ("A2 <= finnish_level", [3, 4, 5]),
        ("B1 > finnish_level", [1, 2, 3]),
        ("A0 == finnish_level", [1]),
        # chained
        ("A1 <= finnish_level <= B1", [2, 3, 4]),
        ("A0 < finnish_level < B2", [2, 3, 4]),
        ("finnish_level >= A2 and finnish_level <= B1", [3, 4]),
    ],
)
def test_cefr_levels(source: str, rows: list[int]) -> None:
    assert admitted(source) == rows


def test_cefr_levels_written_as_text_in_the_data_are_ranked() -> None:
    columns = {"finnish_level": np.array(["A1", "B2", "unknown", None, "", "b1"], dtype=object)}
    assert admitted("finnish_level >= A2", columns) == [1, 5]
    assert admitted("not finnish_level >= A2", columns) == [0]


@pytest.mark.parametrize(
    ("source", "rows"),
    [
        ("education_level == bachelor", [0]),
        ('education_level == "bachelor"', [0]),
        ("education_level != bachelor", [2, 3]),  # rows 1, 4 and 5: missing
        ("education_level in [bachelor, master_or_higher]", [0, 2]),
        ("education_level in (bachelor, master_or_higher)", [0, 2]),
        ("education_level in {bachelor}", [0]),
        ("education_level not in [bachelor, master_or_higher]", [3]),
    ],
)
def test_categories(source: str, rows: list[int]) -> None:
    assert admitted(source) == rows


def test_long_in_list_on_an_object_column_with_missing_values() -> None:
    # numpy's isin sorts long lists, which fails on None mixed with text.
    values = ", ".join(["bachelor", "secondary"] + [f"other_{i}" for i in range(30)])
    assert admitted(f"education_level in [{values}]") == [0, 3]
    assert admitted(f"education_level not in [{values}]") == [2]


def test_categories_given_as_numbers_compare_as_text() -> None:
    columns = {"gender": np.array([1, 2, None], dtype=object)}
    assert admitted("gender == 1", columns) == [0]
    assert admitted('gender in ["2", 3]', columns) == [1]


@pytest.mark.parametrize(
    ("source", "rows"),
    [
        ("literacy_needs", [0, 3, 5]),
        ("not literacy_needs", [1, 4]),  # row 2 is missing: neither
        ("literacy_needs == true", [0, 3, 5]),
        ("literacy_needs == True", [0, 3, 5]),
        ("literacy_needs == false", [1, 4]),
        ("literacy_needs != true", [1, 4]),
        ("literacy_needs == 1", [0, 3, 5]),
        ("literacy_needs in [true]", [0, 3, 5]),
        ("health_limitation", [0, 4]),  # object column with None and NaN
        ("not health_limitation", [1, 5]),
        ("health_limitation == false", [1, 5]),
        ("in_service", [0, 2, 4]),  # a numpy bool column
        ("not in_service", [1, 3, 5]),
        ("true", [0, 1, 2, 3, 4, 5]),
        ("false", []),
        ("not false", [0, 1, 2, 3, 4, 5]),
    ],
)
def test_yes_no_features(source: str, rows: list[int]) -> None:
    assert admitted(source) == rows


@pytest.mark.parametrize(
    ("source", "rows"),
    [
        ("age >= 30 and literacy_needs", [3, 5]),
        ("age < 20 or finnish_level == A0", [1, 4]),
        ("not age >= 30", [0, 4]),
        ("not (age >= 30 and literacy_needs)", [0, 1, 4]),
        ("(age < 20 or age > 50) and not literacy_needs", [4]),
        ("age < 20 or (age > 50 and not literacy_needs)", [4]),
        ("age < 20 or age > 50 and literacy_needs", [4, 5]),  # and binds tighter
        ("(age < 20 or age > 50) and literacy_needs", [5]),
    ],
)
def test_and_or_not_and_parentheses(source: str, rows: list[int]) -> None:
    assert admitted(source) == rows


@pytest.mark.parametrize(
    ("source", "rows"),
    [
        # Row 0: finnish_level missing. Row 2: age missing.
        ("finnish_level >= A0", [1, 2, 3, 4, 5]),
        ("not finnish_level >= A0", []),
        ("finnish_level < A0", []),
        ("not (finnish_level < A0)", [1, 2, 3, 4, 5]),
        ("finnish_level != A1", [1, 3, 4, 5]),
        ("not (finnish_level == A1)", [1, 3, 4, 5]),
        # Known true on one side of `or` is enough; known false on one side of `and`.
        ("finnish_level >= A2 or age < 30", [0, 3, 4, 5]),
        ("not (finnish_level >= A2 or age < 30)", [1]),
        ("not (age >= 20 and finnish_level >= A1)", [1, 4]),
    ],
)
def test_missing_values_never_make_a_client_eligible(source: str, rows: list[int]) -> None:
    assert admitted(source) == rows


@pytest.mark.parametrize(
    ("source", "missing_rows"),
    [
        ("finnish_level >= A2", [0]),
        ("education_level in [bachelor]", [1, 4, 5]),
        ("literacy_needs", [2]),
        ("health_limitation", [2, 3]),
    ],
)
def test_a_rule_and_its_negation_never_both_admit(source: str, missing_rows: list[int]) -> None:
    yes = rule(source).evaluate(COLUMNS)
    no = rule(f"not ({source})").evaluate(COLUMNS)
    assert not (yes & no).any()
    # Rows with the value missing are admitted by neither.
    assert [i for i in range(N) if not (yes[i] or no[i])] == missing_rows


@pytest.mark.parametrize(
    ("source", "rows"),
    [
        # Missing: NaN, None, pandas NA, empty text and the contract's `unknown`.
        ("education_level == unknown", [1, 4, 5]),
        ('education_level == "unknown"', [1, 4, 5]),
        ("unknown == education_level", [1, 4, 5]),
        ("education_level != unknown", [0, 2, 3]),
        ("not education_level == unknown", [0, 2, 3]),
        ("education_level in [bachelor, unknown]", [0, 1, 4, 5]),
        ("education_level not in [bachelor, unknown]", [2, 3]),
        ("finnish_level == unknown", [0]),
        ("finnish_level in [A0, unknown]", [0, 1]),
        ("age == unknown or age < 20", [2, 4]),
        ("literacy_needs == unknown", [2]),
        ("health_limitation == unknown", [2, 3]),
        ("health_limitation != unknown and not health_limitation", [1, 5]),
    ],
)
def test_unknown_asks_for_missing_values_by_name(source: str, rows: list[int]) -> None:
    assert admitted(source) == rows


def test_unknown_and_empty_text_in_the_data_are_missing() -> None:
    columns = {
        "gender": np.array(["female", "unknown", "", "  ", None, "male"], dtype=object),
        "age": np.array(["30", "unknown", "", None, "40", "50"], dtype=object),
    }
    assert admitted("gender != male", columns) == [0]
    assert admitted("gender == unknown", columns) == [1, 2, 3, 4]
    assert admitted("age == unknown", columns) == [1, 2, 3]
    assert admitted("age >= 40", columns) == [4, 5]


@pytest.mark.parametrize("source", ["", "   ", "\n"])
def test_an_empty_rule_admits_everyone(source: str) -> None:
    r = rule(source)
    assert r.features == frozenset()
    assert r.evaluate(COLUMNS).tolist() == [True] * N
    assert r.evaluate({}, n_rows=3).tolist() == [True] * 3
    assert r.evaluate({}, n_rows=0).shape == (0,)


def test_a_rule_may_span_lines_with_comments() -> None:
    assert admitted("age >= 30\n  and literacy_needs") == [3, 5]
    # A comment ends at its line; it does not swallow the rest of the rule.
    assert admitted("age >= 30  # adults\n  and literacy_needs  # needs\n") == [3, 5]
    assert admitted("age >= 30 # one-line comment") == [1, 3, 5]


@pytest.mark.parametrize(
    ("source", "rows"),
    [
        ("age >= 30and literacy_needs", [3, 5]),  # Python warns of "30and"
        ('education_level == "bach\\elor"', []),  # Python warns of "\\e"
    ],
)
def test_python_warnings_while_parsing_do_not_escape(source: str, rows: list[int]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert admitted(source) == rows


def test_features_used_are_recorded() -> None:
    r = rule("A1 <= finnish_level <= B1 and (education_level == bachelor or not in_service)")
    assert r.features == {"finnish_level", "education_level", "in_service"}
    assert r.service == SERVICE


def test_pandas_series_and_lists_are_accepted() -> None:
    import pandas as pd

    columns = {
        "age": pd.Series([20, None, 40], dtype="Int64"),
        "education_level": pd.Series(["bachelor", None, "primary"], dtype="category"),
    }
    assert admitted("age >= 30 or education_level == bachelor", columns) == [0, 2]
    assert admitted("age > 10", {"age": [5, 15, None]}) == [1]


# -- the data does not fit the rule ----------------------------------------------------


def test_a_feature_absent_from_the_data_is_a_clear_error() -> None:
    with pytest.raises(DataContractError, match=r"'test_service'.*'months_unemployed'"):
        rule("months_unemployed >= 3").evaluate(COLUMNS)


def test_columns_of_different_lengths_are_refused() -> None:
    with pytest.raises(DataContractError, match="rows"):
        rule("age >= 3").evaluate({"age": np.array([1.0, 2.0])}, n_rows=3)


@pytest.mark.parametrize(
    ("source", "column"),
    [
        ("literacy_needs", np.array([0.0, 2.0])),
        ("literacy_needs", np.array(["yes", "no"], dtype=object)),
        ("age > 3", np.array(["old", "young"], dtype=object)),
    ],
)
def test_values_of_the_wrong_kind_are_a_clear_error(source: str, column: np.ndarray) -> None:
    name = source.split()[0]
    with pytest.raises(DataContractError, match=f"'{name}'"):
        rule(source).evaluate({name: column})


# -- what rules refuse -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        # not an expression
        ("finnish_level >=", "not a valid rule"),
        ("finnish_level >= A2 and", "not a valid rule at the end"),
        ("(age > 3", "not a valid rule"),
        ("age = 3", "not a valid rule"),
        ("age > 3; import os", "not a valid rule"),
        ("import os", "not a valid rule"),
        ("age >= 3 and\n", "not a valid rule"),
        ("age >= 3 and\nage <", "not a valid rule at the end"),
        ("age >= 3)", "near character 9"),
        ("(age >= 3) and\n (age < 9))", "not a valid rule"),
        ("age >= 3 and\n age < 3 3", "join conditions with and / or"),
        ("a\x00 > 3", "unknown feature"),
        # names
        ("finish_level >= A2", "unknown feature 'finish_level' (did you mean 'finnish_level'?)"),
        ("helth_limitation", "unknown feature 'helth_limitation'"),
        ("print", "unknown feature 'print'"),
        ("A2 <= finish_level", "unknown feature 'finish_level'"),
        ("__import__", "'__' are not allowed"),
        ("gender == __class__", "'__' are not allowed"),
        # CEFR
        ("finnish_level >= A3", "'A3' is not a CEFR level"),
        ("finnish_level >= unknown", "'unknown' means the value is missing"),
        ("age < unknown", "write age == unknown or age != unknown, not <"),
        ("unknown == unknown", "a comparison needs a feature on one side"),
        ("finnish_level >= true", "CEFR level"),
        ("finnish_level >= -A2", "only a number can have a sign"),
        # kinds
        ("education_level < bachelor", "'education_level' is a category; only ==, !=, in"),
        ("education_level >= master_or_higher", "is a category"),
        ("education_level == True", "is a category"),
        ("age >= old", "'age' is a number; 'old' is not a number"),
        ('age == "30"', "'age' is a number"),
        ("age == true", "'age' is a number"),
        ("literacy_needs == 2", "'literacy_needs' is yes/no"),
        ("literacy_needs < true", "'literacy_needs' is yes/no; only == and !="),
        ("literacy_needs == -1", "cannot be compared"),
        ("age", "'age' is not a yes/no feature"),
        ("finnish_level", "finnish_level >= A2"),
        ("not age", "not a yes/no feature"),
        # shape of comparisons
        ("age >= n_services", "compares the feature 'age' with the feature 'n_services'"),
        ("3 > 2", "a comparison needs a feature on one side"),
        ("bachelor in education_level", "write the feature first"),
        ("education_level in bachelor", "'in' needs a list"),
        ("education_level in []", "the list after 'in' is empty"),
        ("education_level in [bachelor, [master_or_higher]]", "is not a value"),
        ("age == None", "'None' is not a value"),
        ("age == 1j", "is not a value"),
        ('age == b"x"', "is not a value"),
        ("age >= 1e999", "not a usable number"),
        ("age == --3", "only a number can have a sign"),
        ("3", "is not a condition"),
        ("'yes'", "is not a condition"),
        ("[age]", "is not a condition"),
        ("-age", "is not a condition"),
        # Python that must never be reachable
        ("__import__('os').system('echo hi')", "calling a function is not allowed"),
        ("open('/etc/passwd')", "calling a function is not allowed"),
        ("len(education_level) > 3", "calling a function is not allowed"),
        ("age.__class__", "attribute access"),
        ("x.__class__", "attribute access"),
        ("age.real > 3", "attribute access"),
        ("().__class__.__bases__[0].__subclasses__()", "not allowed"),
        ("education_level[0] == b", "indexing or slicing"),
        ("age[1:2]", "indexing or slicing"),
        ("(lambda: 1)()", "not allowed"),
        ("lambda x: x", "lambda is not allowed"),
        ("[x for x in age]", "comprehensions"),
        ("any(x for x in age)", "not allowed"),
        ("{x: 1 for x in age}", "comprehensions"),
        ("age + 1 > 3", "arithmetic is not allowed"),
        ("age > 3 * 10", "arithmetic is not allowed"),
        ("~age", "arithmetic is not allowed"),
        ("age is None", "'is' is not allowed"),
        ("age if true else age", "'if .. else' is not allowed"),
        ("(x := 3)", "':=' is not allowed"),
        ("f'{age}' == bachelor", "f-strings are not allowed"),
        ("gender == {'a': 1}", "table is not allowed"),
        ("gender in [*age]", "'*' is not allowed"),
        ("age > 3" + " " * MAX_RULE_LENGTH + "and age < 5", "at most"),
    ],
)
def test_bad_rules_are_refused_naming_the_service_and_the_reason(source: str, reason: str) -> None:
    with pytest.raises(CatalogueError) as caught:
        rule(source)
    message = str(caught.value)
    assert message.startswith(f"service '{SERVICE}': eligibility rule ")
    assert reason in message


@pytest.mark.parametrize(
    "source",
    [
        "not " * 240 + "in_service",
        "(" * 150 + "in_service" + ")" * 150,
        "(" * 300 + "in_service" + ")" * 300,
        " and ".join(["in_service"] * 90),
        "age < " * 160 + "age",
    ],
)
def test_deep_or_long_rules_are_evaluated_or_refused_never_crash(source: str) -> None:
    _evaluates_or_refuses(source)


def test_a_rule_must_be_text() -> None:
    with pytest.raises(CatalogueError, match="must be text"):
        parse_rule(3, KINDS, service=SERVICE)  # type: ignore[arg-type]


# -- any text at all: a Rule or a CatalogueError, nothing else --------------------------

_TOKENS = [
    *KINDS,
    "A0", "A2", "C2", "Z9", "bachelor", "true", "false", "None", "3", "-1", "2.5", '"x"',
    "==", "!=", "<", "<=", ">", ">=", "in", "not in", "not", "and", "or", "is",
    "(", ")", "[", "]", ",", ".", "__class__", "lambda", ":", "+", "-", "*", "if", "else",
]  # fmt: skip


def _evaluates_or_refuses(source: str) -> None:
    try:
        parsed = rule(source)
    except CatalogueError as exc:
        assert str(exc).startswith(f"service '{SERVICE}'")
        return
    assert isinstance(parsed, Rule)
    assert parsed.features <= set(KINDS)
    columns = {name: COLUMNS.get(name, np.full(N, 1.0)) for name in parsed.features}
    assert parsed.evaluate(columns, n_rows=N).shape == (N,)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=string.printable, max_size=80))
def test_any_printable_text_parses_or_is_refused(source: str) -> None:
    _evaluates_or_refuses(source)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_any_unicode_text_parses_or_is_refused(source: str) -> None:
    _evaluates_or_refuses(source)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_TOKENS), min_size=1, max_size=12).map(" ".join))
def test_rule_like_token_soup_parses_or_is_refused(source: str) -> None:
    _evaluates_or_refuses(source)
