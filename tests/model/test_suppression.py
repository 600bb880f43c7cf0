"""Small-cell suppression (model.fairness.suppression): the threshold, primary and
secondary suppression, checked on hand-made tables and, with hypothesis, on
random ones: no published count lies in 1..k-1 and no hidden cell can be
worked out from the published cells and totals, neither by the elimination an
evaluator would do by hand nor by solving the linear system."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model.errors import PolkuError, SuppressionError
from model.fairness.suppression import MARK, TOTAL, check_k, display, rate_published, suppress
from tests.support.disclosure import eliminate, linearly_determined

# -- the check of a published table ------------------------------------------------


def assert_safe(table: pd.DataFrame, published: pd.DataFrame, mask: pd.DataFrame, k: int) -> None:
    values = published.to_numpy(dtype=float)
    hidden = mask.to_numpy(dtype=bool)
    shown = values[~hidden]
    assert not np.any((shown >= 1) & (shown < k)), "a published count lies in 1..k-1"
    assert np.all(np.isnan(values[hidden]))
    assert eliminate(mask) == set()
    assert linearly_determined(mask) == set()
    inner = published.loc[list(table.index), list(table.columns)]
    inner_mask = mask.loc[list(table.index), list(table.columns)].to_numpy(dtype=bool)
    original = table.to_numpy(dtype=float)
    assert np.array_equal(inner.to_numpy(dtype=float)[~inner_mask], original[~inner_mask])


# -- threshold ----------------------------------------------------------------


@pytest.mark.parametrize("k", [2, 1, 0, -5])
def test_threshold_below_three_is_refused(k: int) -> None:
    with pytest.raises(SuppressionError, match="at least 3"):
        suppress(pd.DataFrame({"n": [10, 20]}), k)
    with pytest.raises(ValueError):  # a domain error that is also a ValueError
        check_k(k)


def test_threshold_must_be_a_whole_number() -> None:
    with pytest.raises(SuppressionError):
        check_k(4.5)  # type: ignore[arg-type]
    with pytest.raises(PolkuError):
        check_k(True)  # type: ignore[arg-type]


def test_counts_must_be_whole_and_non_negative() -> None:
    with pytest.raises(SuppressionError, match="whole"):
        suppress(pd.DataFrame({"n": [1.5, 20]}))
    with pytest.raises(SuppressionError, match="whole"):
        suppress(pd.DataFrame({"n": [-1, 20]}))
    with pytest.raises(SuppressionError, match="finite"):
        suppress(pd.DataFrame({"n": [np.nan, 20]}))


# -- hand-made tables ---------------------------------------------------------------


def test_one_column_hides_the_small_group_and_the_next_smallest() -> None:
    table = pd.DataFrame({"n": [3, 10, 20, 0]}, index=["a", "b", "c", "d"])
    published, mask = suppress(table, 5)
    assert list(published.index) == ["a", "b", "c", "d", TOTAL]
    # a is small; b (next smallest non-zero) is hidden so a cannot be total - b - c
    assert mask["n"].tolist() == [True, True, False, False, False]
    assert published.loc["c", "n"] == 20 and published.loc["d", "n"] == 0
    assert published.loc[TOTAL, "n"] == 33
    assert_safe(table, published, mask, 5)


def test_zero_is_shown_and_nothing_else_needed() -> None:
    table = pd.DataFrame({"n": [0, 10, 20]})
    published, mask = suppress(table, 5)
    assert not mask.to_numpy().any()
    assert published["n"].tolist() == [0, 10, 20, 30]


def test_two_columns_hide_a_rectangle() -> None:
    table = pd.DataFrame({"yes": [3, 10, 20, 40], "no": [12, 7, 30, 50]})
    published, mask = suppress(table, 5)
    assert mask.loc[0, "yes"] and mask.loc[0, "no"]
    # the second hidden row is the cheapest one
    assert mask.loc[1, "yes"] and mask.loc[1, "no"]
    assert not mask.loc[[2, 3]].to_numpy().any()
    assert not mask.loc[TOTAL].to_numpy().any()
    assert not mask[TOTAL].to_numpy().any()
    assert_safe(table, published, mask, 5)


def test_small_total_is_hidden_too() -> None:
    table = pd.DataFrame({"a": [2, 30], "b": [1, 40]})
    published, mask = suppress(table, 5)
    assert mask.loc[0, TOTAL]  # the row total 3 is itself small
    assert_safe(table, published, mask, 5)


def test_a_bridge_between_two_blocks_is_not_left_recoverable() -> None:
    """Every row and column holds two hidden cells, yet one cell is fixed by the totals.

    Rows 0-1 x columns 0-1 and rows 2-3 x columns 2-3 are two blocks of small
    cells; cell (0, 2) links them. Summing rows 0 and 1 and subtracting
    columns 0 and 1 gives that cell exactly. The elimination an evaluator
    would do by hand does not find it; the linear check does, and suppress
    must hide more.
    """
    blocks = np.array(
        [
            [3, 3, 9, 0, 0],
            [3, 3, 0, 0, 0],
            [0, 0, 3, 3, 0],
            [0, 0, 3, 3, 0],
            [10, 10, 10, 10, 10],
        ]
    )
    table = pd.DataFrame(blocks)
    naive = pd.DataFrame(False, index=[*range(5), TOTAL], columns=[*range(5), TOTAL])
    for r, c in [(0, 0), (0, 1), (1, 0), (1, 1), (2, 2), (2, 3), (3, 2), (3, 3), (0, 2)]:
        naive.loc[r, c] = True
    assert eliminate(naive) == set()
    assert linearly_determined(naive) == {(0, 2)}
    published, mask = suppress(table, 5)
    assert_safe(table, published, mask, 5)


def test_persons_make_a_cell_small() -> None:
    counts = pd.DataFrame({"a": [12, 30, 40], "b": [20, 30, 41]})
    persons = pd.DataFrame({"a": [2, 12, 15], "b": [9, 10, 11]})  # 12 rows of 2 people
    published, mask = suppress(counts, 5, persons=persons)
    assert mask.loc[0, "a"]
    assert_safe(counts, published, mask, 5)
    with pytest.raises(SuppressionError, match="shape"):
        suppress(counts, 5, persons=persons.iloc[:2])


def test_forced_cells_are_hidden_and_protected() -> None:
    table = pd.DataFrame({"a": [12, 30, 40], "b": [20, 30, 41]})
    hidden = pd.DataFrame(False, index=[0, 1, 2, TOTAL], columns=["a", "b", TOTAL])
    hidden.loc[2, TOTAL] = True  # this row's total is hidden in another table
    published, mask = suppress(table, 5, hidden=hidden)
    assert mask.loc[2, TOTAL]
    assert_safe(table, published, mask, 5)


def test_without_margins_nothing_is_secondary() -> None:
    table = pd.DataFrame({"a": [3, 30], "b": [20, 30]})
    published, mask = suppress(table, 5, row_totals=False, column_totals=False)
    assert mask.to_numpy().sum() == 1
    assert list(published.index) == [0, 1] and list(published.columns) == ["a", "b"]


def test_display_and_rates() -> None:
    table = pd.DataFrame({"n": [3, 10, 20]}, index=["a", "b", "c"])
    published, mask = suppress(table, 5)
    text = display(published, mask)
    assert text["n"].tolist() == [MARK, MARK, "20", "33"]
    assert not rate_published(mask, [("a", "n"), (TOTAL, "n")])
    assert rate_published(mask, [("c", "n"), (TOTAL, "n")])


# -- random tables ----------------------------------------------------------------

counts = st.one_of(st.just(0), st.integers(1, 6), st.integers(5, 60))


@st.composite
def tables(draw: st.DrawFn) -> tuple[pd.DataFrame, int, bool | None, bool]:
    n_rows = draw(st.integers(1, 6))
    n_cols = draw(st.integers(1, 5))
    values = draw(st.lists(counts, min_size=n_rows * n_cols, max_size=n_rows * n_cols))
    k = draw(st.integers(3, 6))
    row_totals = draw(st.sampled_from([None, True, False]))
    column_totals = draw(st.booleans())
    table = pd.DataFrame(
        np.asarray(values).reshape(n_rows, n_cols),
        index=[f"g{i}" for i in range(n_rows)],
        columns=[f"c{j}" for j in range(n_cols)],
    )
    return table, k, row_totals, column_totals


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_random_tables_are_safe(case: tuple[pd.DataFrame, int, bool | None, bool]) -> None:
    table, k, row_totals, column_totals = case
    published, mask = suppress(table, k, row_totals=row_totals, column_totals=column_totals)
    assert_safe(table, published, mask, k)
    # margins are there exactly when published
    assert (TOTAL in published.columns) == (
        table.shape[1] > 1 if row_totals is None else row_totals
    )
    assert (TOTAL in published.index) == column_totals


@settings(max_examples=40, deadline=None)
@given(tables(), st.data())
def test_random_tables_with_persons_are_safe(
    case: tuple[pd.DataFrame, int, bool | None, bool], data: st.DataObject
) -> None:
    table, k, _, _ = case
    people = table.map(lambda v: data.draw(st.integers(min(v, 1), max(v, 1))) if v else 0)
    published, mask = suppress(table, k, persons=people)
    assert_safe(table, published, mask, k)
    small_people = (people.to_numpy() >= 1) & (people.to_numpy() < k)
    assert mask.loc[list(table.index), list(table.columns)].to_numpy()[small_people].all()
