"""Seats per service and month: the catalogue's default and a capacity table's overrides.

A service's `monthly_capacity` in the catalogue is its default number of
seats every month; a service without one has no limit. A capacity table
(CSV with the columns `service`, `month`, `seats`) overrides the seats of a
service for one month, for example a course that does not run in July.
Every row is checked and every problem is reported at once, each naming the
file, the data row (counted from 1 after the header) and the column; a table
with any problem is refused whole.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from model.catalogue import Catalogue
from model.errors import CapacityError

CAPACITY_COLUMNS: Final = ("service", "month", "seats")
_MONTH: Final = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")
_WHOLE: Final = re.compile(r"[+-]?\d+")
# At most this many problems are spelled out in the error's message; all are in `problems`.
_MESSAGE_PROBLEMS: Final = 20


def is_month(text: str) -> bool:
    """True when `text` is a calendar month written YYYY-MM."""
    return _MONTH.fullmatch(text) is not None


@dataclass(frozen=True)
class Capacity:
    """Seats of every service: `default` per service (None: no limit), `overrides` per (service, month)."""

    default: Mapping[str, int | None]
    overrides: Mapping[tuple[str, str], int] = field(default_factory=dict)
    source: str = "catalogue"

    def seats(self, month: str) -> dict[str, int | None]:
        """Seats of every service in `month` (YYYY-MM); None where a service has no limit."""
        if not is_month(month):
            raise CapacityError(f"month {month!r} is not written YYYY-MM")
        return {
            service: self.overrides.get((service, month), default)
            for service, default in self.default.items()
        }


def capacity_from_catalogue(catalogue: Catalogue) -> Capacity:
    """Every service's `monthly_capacity` as its seats in every month."""
    return Capacity({s.code: s.monthly_capacity for s in catalogue.services})


def parse_capacity(text: str, *, catalogue: Catalogue, source: str = "capacity.csv") -> Capacity:
    """The catalogue's capacity with a capacity table's overrides; `source` names the file in errors.

    Raises `CapacityError` listing every problem: a missing or unknown
    column, an unknown service, a month not written YYYY-MM, seats that are
    not a whole number or are negative, and a (service, month) given twice.
    """
    problems: list[dict[str, object]] = []

    def problem(row: int | None, column: str | None, message: str) -> None:
        problems.append({"file": source, "row": row, "column": column, "message": message})

    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = [name.strip() for name in next(reader, [])]
    if not any(header):
        raise _refused(
            source,
            [
                {
                    "file": source,
                    "row": None,
                    "column": None,
                    "message": "the file is empty; it needs the header service,month,seats",
                }
            ],
        )
    for name in CAPACITY_COLUMNS:
        if name not in header:
            problem(None, name, f"the column {name!r} is missing")
    for name in header:
        if name not in CAPACITY_COLUMNS:
            problem(
                None,
                name or "(blank)",
                f"unknown column {name!r}; the columns are service, month, seats",
            )
    if len(set(header)) != len(header):
        problem(None, None, "a column appears twice in the header")
    if problems:
        raise _refused(source, problems)
    position = {name: header.index(name) for name in CAPACITY_COLUMNS}
    services = set(catalogue.service_codes)
    overrides: dict[tuple[str, str], int] = {}
    first_row: dict[tuple[str, str], int] = {}
    for row, cells in enumerate(reader, start=1):
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            problem(row, None, f"has {len(cells)} cells; the header has {len(header)}")
            continue
        service, month, seats_text = (cells[position[name]].strip() for name in CAPACITY_COLUMNS)
        ok = True
        if service not in services:
            problem(
                row,
                "service",
                f"unknown service {service!r}; the catalogue has {', '.join(sorted(services))}",
            )
            ok = False
        if not is_month(month):
            problem(row, "month", f"{month!r} is not a month written YYYY-MM (e.g. 2025-03)")
            ok = False
        if not _WHOLE.fullmatch(seats_text):
            problem(row, "seats", f"{seats_text!r} is not a whole number of seats")
            ok = False
        elif int(seats_text) < 0:
            problem(
                row,
                "seats",
                f"negative seats ({seats_text}); 0 means the service has no seats that month",
            )
            ok = False
        if not ok:
            continue
        key = (service, month)
        if key in first_row:
            problem(
                row, None, f"{service} in {month} is given twice (first on row {first_row[key]})"
            )
            continue
        first_row[key] = row
        overrides[key] = int(seats_text)
    if problems:
        raise _refused(source, problems)
    base = capacity_from_catalogue(catalogue)
    return Capacity(base.default, overrides, source=source)


def _where(p: Mapping[str, object]) -> str:
    parts = [str(p["file"])]
    if p["row"] is not None:
        parts.append(f"row {p['row']}")
    if p["column"] is not None:
        parts.append(f"column {p['column']}")
    return ", ".join(parts)


def _refused(source: str, problems: list[dict[str, object]]) -> CapacityError:
    lines = [f"{_where(p)}: {p['message']}" for p in problems[:_MESSAGE_PROBLEMS]]
    more = len(problems) - len(lines)
    if more:
        lines.append(f"... and {more} more")
    count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
    return CapacityError(
        f"{source}: the capacity table has {count}:\n" + "\n".join(lines), problems
    )
