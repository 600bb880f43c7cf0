"""Problems: failures of the contract, each naming the file, the row, the column and the rule.

Checks record failures in `Findings`, a whole mask or list of rows at a
time; `Findings.report` orders them, keeps the first few as `Problem`s and
counts every (file, column, rule), in a `Report`.

Row numbers count data rows from 1, as a person counting the lines after
the header would (the CSV line number is the row number + 1).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Final

import numpy as np
import pandas as pd

from model.vocab import TABLES
from training.tables import Tables

# At most this many problems are listed; every one is counted.
PROBLEM_LIMIT: Final = 1000


@dataclass(frozen=True, slots=True)
class Problem:
    """One failure of the contract; `row` is None for a whole file or column."""

    file: str
    row: int | None
    column: str | None
    rule: str
    message: str

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    def where(self) -> str:
        parts = [self.file]
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column is not None:
            parts.append(f"column {self.column}")
        return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class RuleCount:
    """How many times one rule failed in one column of one file."""

    file: str
    column: str | None
    rule: str
    count: int


@dataclass(frozen=True)
class Report:
    """The outcome of checking the tables.

    `tables` are the converted tables (canonical dtypes); `problems` the first
    `limit` problems in file and row order; `total` how many there are in all;
    `counts` every failing (file, column, rule) with its count, so that a
    capped list still shows every kind of problem.
    """

    tables: Tables
    problems: tuple[Problem, ...]
    total: int
    counts: tuple[RuleCount, ...]

    @property
    def ok(self) -> bool:
        return self.total == 0

    @property
    def omitted(self) -> int:
        return self.total - len(self.problems)

    @property
    def by_file(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for count in self.counts:
            out[count.file] = out.get(count.file, 0) + count.count
        return out

    def summary(self) -> str:
        if self.ok:
            return "no problems"
        files = ", ".join(f"{file} {count:,}" for file, count in self.by_file.items())
        noun = "problem" if self.total == 1 else "problems"
        listed = f" (the first {len(self.problems)} listed)" if self.omitted else ""
        return f"{self.total:,} {noun}{listed}: {files}"


@dataclass(frozen=True, eq=False)
class FailureGroup:
    """Failures of one rule in one column: rows as positions, messages made on demand."""

    table: str
    column: str | None
    rule: str
    positions: np.ndarray | None  # 0-based; None: one problem about the column or file
    message: Callable[[int], str]  # k-th failure -> message


class Findings:
    """The failures found so far, in the order the checks ran."""

    def __init__(self) -> None:
        self.groups: list[FailureGroup] = []

    def add(
        self,
        table: str,
        column: str | None,
        rule: str,
        where: np.ndarray | pd.Series | None,
        message: str | Callable[[int], str],
    ) -> None:
        """Record failures at the True rows of mask `where` (or the given positions)."""
        positions: np.ndarray | None = None
        if where is not None:
            array = np.asarray(where)
            positions = np.flatnonzero(array) if array.dtype == bool else array.astype(np.int64)
            if positions.size == 0:
                return
        text = message
        make = text if callable(text) else (lambda _k: text)
        self.groups.append(FailureGroup(table, column, rule, positions, make))

    def report(self, tables: Tables, limit: int) -> Report:
        """The first `limit` problems in table, row and check order, with the counts."""
        if not self.groups:
            return Report(tables=tables, problems=(), total=0, counts=())
        table_index = {name: i for i, name in enumerate(TABLES)}
        keys: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        counts: dict[tuple[int, str, str | None, str], int] = {}
        for group_number, group in enumerate(self.groups):
            rows = np.array([-1]) if group.positions is None else group.positions
            size = rows.size
            table_number = table_index[group.table]
            keys.append(
                (
                    np.full(size, table_number),
                    rows,
                    np.full(size, group_number),
                    np.arange(size),
                )
            )
            key = (table_number, tables.file(group.table), group.column, group.rule)
            counts[key] = counts.get(key, 0) + size
        table_numbers, rows, group_numbers, failure_numbers = (
            np.concatenate([key[i] for key in keys]) for i in range(4)
        )
        order = np.lexsort((failure_numbers, group_numbers, rows, table_numbers))[:limit]
        problems = []
        for i in order:
            group = self.groups[group_numbers[i]]
            problems.append(
                Problem(
                    file=tables.file(group.table),
                    row=None if rows[i] < 0 else int(rows[i]) + 1,
                    column=group.column,
                    rule=group.rule,
                    message=group.message(int(failure_numbers[i])),
                )
            )
        return Report(
            tables=tables,
            problems=tuple(problems),
            total=len(table_numbers),
            counts=tuple(
                RuleCount(file, column, rule, n)
                for (_table, file, column, rule), n in sorted(
                    counts.items(), key=lambda item: item[0][0]
                )
            ),
        )
