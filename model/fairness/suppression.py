"""Small-cell suppression for published tables of counts.

No report may let a person be identified. A table of counts (rows = groups,
columns = categories, or a single count column) is published through
:func:`suppress`:

- **Primary suppression.** Every count in ``1 .. k-1`` is hidden (``k`` is
  ``RunConfig.min_cell_size``, 5 by default and never below 3). A zero may be
  shown. When a table of distinct persons is given beside the counts (the
  counts may be decision points, several per client), a cell is also hidden
  when it holds ``1 .. k-1`` persons.
- **Margins.** Row totals (for tables of more than one column) and column
  totals are treated as published, because the report shows them or they can
  be added up from other tables. They are cells of the same table: a total in
  ``1 .. k-1`` is hidden too.
- **Secondary suppression.** The published cells and totals give linear
  equations (each row and each column adds up to its total). A hidden cell
  is *recoverable* when those equations fix its value, whatever values the
  other hidden cells take. This is stronger than checking that no row or
  column holds exactly one hidden cell: a hidden cell that is the only link
  between two blocks of hidden cells (a bridge) is fixed by the equations even
  when every row and column around it holds two or more hidden cells. While a
  hidden cell is recoverable, the cheapest cell in its row or column is
  hidden as well (the smallest non-zero inner count first, then a zero, and a
  total only when nothing else is left), until nothing is recoverable. The
  loop ends because every round hides one more cell, and a table whose cells
  are all hidden reveals nothing.

What it does not promise: a hidden cell's *bounds* can still be narrow
(counts are non-negative, and an attacker who assumes a hidden cell is small
may narrow it further); the published marker is the same for primary and
secondary cells so that a reader cannot tell which is which.

Rates are computed by the caller from published counts only; use
:func:`rate_published` to know whether a rate may be shown. docs/fairness.md
explains the rule for the report's readers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd
from scipy.linalg import null_space

from model.errors import SuppressionError

# The smallest threshold ever accepted: k is a setting, but never below 3.
MIN_K: Final = 3
DEFAULT_K: Final = 5
# Label of the margins in published tables.
TOTAL: Final = "total"
# What a report shows instead of a hidden value (Statistics Finland's symbol
# for data that are confidential or too uncertain to publish).
MARK: Final = ".."

_NULL_TOLERANCE: Final = 1e-9


def check_k(k: int) -> int:
    """`k` as an int, refusing anything below :data:`MIN_K`."""
    if isinstance(k, bool) or not isinstance(k, int | np.integer):
        raise SuppressionError(f"the suppression threshold must be a whole number, got {k!r}")
    if k < MIN_K:
        raise SuppressionError(
            f"the suppression threshold must be at least {MIN_K}, got {k}: "
            "smaller cells would let a person be identified"
        )
    return int(k)


@dataclass(frozen=True)
class _Layout:
    """Where the margins sit in the augmented table."""

    rows: int  # inner rows
    cols: int  # inner columns
    row_totals: bool
    column_totals: bool

    @property
    def shape(self) -> tuple[int, int]:
        return (self.rows + self.column_totals, self.cols + self.row_totals)

    def equations(self) -> np.ndarray:
        """One row per published total: +1 on the cells it adds up, -1 on the total itself."""
        n_rows, n_cols = self.shape
        index = np.arange(n_rows * n_cols).reshape(n_rows, n_cols)
        rows: list[np.ndarray] = []
        if self.row_totals:
            # Every row (the totals row too) adds up to its last cell.
            for i in range(n_rows):
                eq = np.zeros(n_rows * n_cols)
                eq[index[i, : self.cols]] = 1.0
                eq[index[i, self.cols]] = -1.0
                rows.append(eq)
        if self.column_totals:
            for j in range(n_cols):
                eq = np.zeros(n_rows * n_cols)
                eq[index[: self.rows, j]] = 1.0
                eq[index[self.rows, j]] = -1.0
                rows.append(eq)
        if not rows:
            return np.zeros((0, n_rows * n_cols))
        return np.vstack(rows)

    def is_margin(self) -> np.ndarray:
        out = np.zeros(self.shape, dtype=bool)
        if self.row_totals:
            out[:, self.cols] = True
        if self.column_totals:
            out[self.rows, :] = True
        return out


def recoverable(mask: np.ndarray, equations: np.ndarray) -> np.ndarray:
    """Which hidden cells (True in `mask`) the linear equations fix exactly.

    `mask` is the augmented table's boolean mask (flattened or not);
    `equations` one row per equation over its flattened cells (see
    `_Layout.equations`). The hidden cells' values form the solution set of
    ``E_U x_U = -E_K x_K``; a hidden cell is fixed exactly when every vector
    of the null space of ``E_U`` is zero at it.
    """
    flat = np.asarray(mask, dtype=bool).ravel()
    out = np.zeros(flat.shape, dtype=bool)
    unknown = np.flatnonzero(flat)
    if unknown.size == 0:
        return out.reshape(np.shape(mask))
    system = equations[:, unknown]
    # Equations that involve no hidden cell say nothing about them.
    system = system[np.any(system != 0, axis=1)]
    if system.shape[0] == 0:
        return out.reshape(np.shape(mask))
    basis = null_space(system)
    free = (
        np.linalg.norm(basis, axis=1) > _NULL_TOLERANCE
        if basis.size
        else np.zeros(unknown.size, bool)
    )
    out[unknown[~free]] = True
    return out.reshape(np.shape(mask))


def _as_counts(table: pd.DataFrame, what: str) -> np.ndarray:
    values = table.to_numpy(dtype=float)
    if not np.all(np.isfinite(values)):
        raise SuppressionError(f"{what} must hold finite counts")
    if np.any(values < 0) or np.any(values != np.round(values)):
        raise SuppressionError(f"{what} must hold non-negative whole counts")
    return values


def _augment(values: np.ndarray, layout: _Layout) -> np.ndarray:
    out = np.zeros(layout.shape)
    out[: layout.rows, : layout.cols] = values
    if layout.row_totals:
        out[: layout.rows, layout.cols] = values.sum(axis=1)
    if layout.column_totals:
        out[layout.rows, : layout.cols] = values.sum(axis=0)
        if layout.row_totals:
            out[layout.rows, layout.cols] = values.sum()
    return out


def _labelled(values: np.ndarray, table: pd.DataFrame, layout: _Layout) -> pd.DataFrame:
    index = list(table.index) + ([TOTAL] if layout.column_totals else [])
    columns = list(table.columns) + ([TOTAL] if layout.row_totals else [])
    return pd.DataFrame(values, index=index, columns=columns)


def _cost(
    position: tuple[int, int], counts: np.ndarray, margin: np.ndarray
) -> tuple[int, int, float, int, int]:
    """Inner non-zero cells first, then zeros, then totals; smallest first; stable."""
    value = counts[position]
    return (int(margin[position]), int(value == 0), float(value), position[0], position[1])


def _candidates(
    cell: tuple[int, int], mask: np.ndarray, counts: np.ndarray, margin: np.ndarray
) -> list[tuple[int, int]]:
    """Visible cells in the row and column of `cell`, cheapest to hide first."""
    i, j = cell
    seen: set[tuple[int, int]] = set()
    ranked: list[tuple[tuple[int, int, float, int, int], tuple[int, int]]] = []
    lines = [(i, c) for c in range(mask.shape[1])] + [(r, j) for r in range(mask.shape[0])]
    for position in lines:
        if position in seen or mask[position]:
            continue
        seen.add(position)
        ranked.append((_cost(position, counts, margin), position))
    ranked.sort()
    return [position for _, position in ranked]


def _next_cell(
    mask: np.ndarray,
    fixed: np.ndarray,
    equations: np.ndarray,
    counts: np.ndarray,
    margin: np.ndarray,
) -> tuple[int, int]:
    """The visible cell to hide next, given the recoverable hidden cells `fixed`.

    First the cheapest cell in the row or column of the first recoverable cell
    that makes it unrecoverable on its own. When no single cell does (a
    rectangle of hidden cells needs two more), every visible cell in the lines
    of every recoverable cell is tried and the one that leaves the fewest
    recoverable cells is taken; among equals, one whose row and column already
    hold hidden cells (it closes a cycle), then the cheapest.
    """
    positions = [tuple(int(x) for x in p) for p in np.argwhere(fixed)]
    first = (positions[0][0], positions[0][1])
    for option in _candidates(first, mask, counts, margin):
        trial = mask.copy()
        trial[option] = True
        if not recoverable(trial, equations)[first]:
            return option
    pool: dict[tuple[int, int], int] = {}
    for i, j in positions:
        for option in _candidates((i, j), mask, counts, margin):
            pool.setdefault(option, len(pool))
    if not pool:  # cannot happen: a recoverable cell shares a line with a visible one
        raise SuppressionError("secondary suppression found no cell to hide")
    ranked = sorted(pool, key=lambda o: _cost(o, counts, margin))
    best: tuple[int, int, int] | None = None
    choice = ranked[0]
    for rank, option in enumerate(ranked):
        trial = mask.copy()
        trial[option] = True
        # Cells whose row and column already hold hidden cells close cycles.
        links = int(mask[option[0], :].any()) + int(mask[:, option[1]].any())
        score = (int(recoverable(trial, equations).sum()), -links, rank)
        if best is None or score < best:
            best, choice = score, option
    return choice


def suppress(
    table: pd.DataFrame,
    k: int = DEFAULT_K,
    *,
    persons: pd.DataFrame | None = None,
    row_totals: bool | None = None,
    column_totals: bool = True,
    hidden: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Publish a table of counts with small cells hidden; see the module docstring.

    `table`: counts, rows = groups, columns = categories (or one count
    column). `persons`: optional table of the same shape counting distinct
    persons per cell, for the primary rule. `row_totals` defaults to True when
    the table has more than one column (a one-column table's row total would
    be the cell itself). `column_totals` says whether the column totals (and
    the grand total) are published. `hidden`: cells that must be hidden for
    reasons outside this table (a total hidden in another table), aligned to
    the published shape.

    Returns ``(published, mask)``: the counts with the margins appended as a
    row and/or column labelled :data:`TOTAL`, float, NaN where hidden; and a
    boolean frame of the same shape, True where hidden. Show hidden cells as
    :data:`MARK`.
    """
    k = check_k(k)
    counts = _as_counts(table, "the table")
    layout = _Layout(
        rows=counts.shape[0],
        cols=counts.shape[1],
        row_totals=counts.shape[1] > 1 if row_totals is None else bool(row_totals),
        column_totals=bool(column_totals),
    )
    augmented = _augment(counts, layout)
    mask = (augmented >= 1) & (augmented < k)
    if persons is not None:
        if persons.shape != table.shape:
            raise SuppressionError(
                f"persons has shape {persons.shape} but the table has {table.shape}"
            )
        people = _as_counts(persons, "persons")
        mask[: layout.rows, : layout.cols] |= (people >= 1) & (people < k)
    if hidden is not None:
        forced = hidden.reindex(
            index=_labelled(augmented, table, layout).index,
            columns=_labelled(augmented, table, layout).columns,
            fill_value=False,
        )
        mask |= forced.to_numpy(dtype=bool)

    equations = layout.equations()
    margin = layout.is_margin()
    fixed = recoverable(mask, equations)
    while fixed.any():
        mask[_next_cell(mask, fixed, equations, augmented, margin)] = True
        fixed = recoverable(mask, equations)

    published = np.where(mask, np.nan, augmented)
    return _labelled(published, table, layout), _labelled(mask, table, layout).astype(bool)


def rate_published(mask: pd.DataFrame, cells: Sequence[tuple[object, object]]) -> bool:
    """True when every count a rate is computed from is published (not hidden in `mask`)."""
    return not any(bool(mask.loc[row, col]) for row, col in cells)


def display(published: pd.DataFrame, mask: pd.DataFrame) -> pd.DataFrame:
    """The published table as text: counts as whole numbers, hidden cells as :data:`MARK`."""
    text = published.map(lambda v: "" if pd.isna(v) else f"{int(v)}")
    return text.mask(mask.to_numpy(dtype=bool), MARK)
