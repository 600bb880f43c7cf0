"""What an evaluator can work out from a suppressed table: independent checks.

A hidden cell is recoverable when an equation of the published totals has
it as its only unknown (`eliminate`, done by hand), or when the linear system
of the published totals fixes its value (`linearly_determined`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from model.fairness.suppression import TOTAL


def published_equations(mask: pd.DataFrame) -> list[list[tuple[object, object]]]:
    """Every published equation as the list of its cells (inner cells and the total)."""
    rows = list(mask.index)
    cols = list(mask.columns)
    lines = []
    if TOTAL in cols:  # each row adds up to its total
        lines += [[(r, c) for c in cols] for r in rows]
    if TOTAL in rows:  # each column adds up to its total
        lines += [[(r, c) for r in rows] for c in cols]
    return lines


def eliminate(mask: pd.DataFrame) -> set[tuple[object, object]]:
    """Hidden cells an evaluator can work out: repeatedly solve any line with one unknown."""
    unknown = {(r, c) for r in mask.index for c in mask.columns if mask.loc[r, c]}
    solved: set[tuple[object, object]] = set()
    changed = True
    while changed:
        changed = False
        for line in published_equations(mask):
            left = [cell for cell in line if cell in unknown and cell not in solved]
            if len(left) == 1:
                solved.add(left[0])
                changed = True
    return solved


def linearly_determined(mask: pd.DataFrame) -> set[tuple[object, object]]:
    """Hidden cells whose value the linear system of published totals fixes.

    A hidden cell e is fixed exactly when its unit vector lies in the row
    space of the equations restricted to the hidden cells, that is when
    adding it as a row does not raise the rank.
    """
    cells = [(r, c) for r in mask.index for c in mask.columns if mask.loc[r, c]]
    if not cells:
        return set()
    position = {cell: i for i, cell in enumerate(cells)}
    rows = []
    for line in published_equations(mask):
        eq = np.zeros(len(cells))
        for cell in line:
            if cell in position:
                sign = -1.0 if TOTAL in cell and cell == line[-1] else 1.0
                eq[position[cell]] = sign
        if eq.any():
            rows.append(eq)
    if not rows:
        return set()
    system = np.vstack(rows)
    rank = np.linalg.matrix_rank(system)
    fixed = set()
    for cell, i in position.items():
        unit = np.zeros(len(cells))
        unit[i] = 1.0
        if np.linalg.matrix_rank(np.vstack([system, unit])) == rank:
            fixed.add(cell)
    return fixed
