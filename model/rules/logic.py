"""Three-valued (Kleene) logic over rows: what a compiled rule is made of.

A condition answers two masks over the rows: where it is known to be true
and where it is known to be false; rows in neither are unknown, because a
value it depends on is missing. `not` swaps the two masks, `and` / `or`
combine them as in SQL.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from model.rules.columns import PreparedColumn

# (known true, known false) over the rows.
Truth = tuple[np.ndarray, np.ndarray]
# A compiled condition: the truth of a rule (or a part of it) over prepared columns.
Condition = Callable[[Mapping[str, PreparedColumn]], Truth]


def constant(value: bool) -> Condition:
    """Known to be `value` on every row."""
    truth = np.asarray(value)
    falsity = np.asarray(not value)
    return lambda prepared: (truth, falsity)


def is_missing(name: str, *, negate: bool) -> Condition:
    """`name == unknown`: known for every row, true where the value is missing."""

    def missing(prepared: Mapping[str, PreparedColumn]) -> Truth:
        _, present = prepared[name]
        return (present, ~present) if negate else (~present, present)

    return missing


def known(column: PreparedColumn, hit: np.ndarray) -> Truth:
    """The truth of a test on `column` that `hit` rows pass: unknown where the value is missing."""
    _, present = column
    return present & hit, present & ~hit


def all_of(parts: list[Condition]) -> Condition:
    """`and`: true where every part is true, false where any part is false."""

    def conjunction(prepared: Mapping[str, PreparedColumn]) -> Truth:
        true_, false_ = parts[0](prepared)
        for part in parts[1:]:
            part_true, part_false = part(prepared)
            true_, false_ = true_ & part_true, false_ | part_false
        return true_, false_

    return conjunction


def any_of(parts: list[Condition]) -> Condition:
    """`or`: true where any part is true, false where every part is false."""

    def disjunction(prepared: Mapping[str, PreparedColumn]) -> Truth:
        true_, false_ = parts[0](prepared)
        for part in parts[1:]:
            part_true, part_false = part(prepared)
            true_, false_ = true_ | part_true, false_ & part_false
        return true_, false_

    return disjunction
