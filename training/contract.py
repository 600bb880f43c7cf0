"""The data contract (SPEC §1): what the three input tables must satisfy.

Every rule of the contract is checked here and every failure is reported as a
`Problem` naming the file, the row, the column and the rule. Nothing is
trained on tables that fail: `load_valid_tables` raises `DataContractError`
listing the problems.

How the checks are split:

- values that cannot be converted to their column's kind (a date that is not
  a date, a number that is not a number) are found while converting
  (`training.tables.convert_tables`);
- the rules about one column at a time (presence, types, missing values,
  categories, ranges, unique ids, identity codes, undeclared columns) are
  pandera schemas: `clients_schema`, `episodes_schema`, `outcomes_schema`;
- rules across columns of a row (dates in order, status against end date) and
  across tables (episodes and outcomes of known clients, services after
  intake) are vectorised pandas, which is much faster than pandera's wide
  checks on large tables.

Row numbers count data rows from 1, as a person counting the lines after
the header would (the CSV line number is the row number + 1).

Messages never carry personal data: a client id is never echoed, nor any
value that looks like a personal identity code; a value that breaks a
category or type rule is quoted so that it can be found and fixed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow as pa_arrow
import pyarrow.compute as pc
from pandera.errors import SchemaErrors
from rich import box
from rich.console import Console
from rich.table import Table as RichTable

from model.catalogue import Catalogue, load_catalogue
from model.config import RunConfig, load_config
from model.errors import DataContractError
from model.privacy import personal_identity_code_mask
from model.vocab import (
    CEFR_VALUES,
    CLIENT_OPTIONAL_COLUMNS,
    CLIENT_REQUIRED_COLUMNS,
    EDUCATION_LEVELS,
    EPISODE_OPTIONAL_COLUMNS,
    EPISODE_REQUIRED_COLUMNS,
    EPISODE_STATUSES,
    GENDERS,
    OUTCOME_REQUIRED_COLUMNS,
    OUTCOME_STATUSES,
    RESIDENCE_BASES,
    REVIEW,
    TABLES,
    UNKNOWN,
)
from training.tables import DTYPES, Tables, column_kinds, convert_tables, read_tables, shown

PROBLEM_LIMIT: Final = 1000
MIN_BIRTH_YEAR: Final = 1900
MIN_AGE_AT_INTAKE: Final = 15
MOTHER_TONGUE_PATTERN: Final = r"[a-z]{2,3}"
ENDED_STATUSES: Final = ("completed", "interrupted")
ONGOING: Final = "ongoing"

PSEUDONYMISE_HINT: Final = (
    "looks like a personal identity code; ids must be pseudonymous (see `polku pseudonymize`)"
)


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


# --------------------------------------------------------------------------- schemas


def _in(values: Sequence[str], rule: str) -> pa.Check:
    allowed = frozenset(values)
    return pa.Check(lambda s: s.isin(allowed), name=rule, ignore_na=True)


def _no_identity_codes() -> pa.Check:
    return pa.Check(
        lambda s: pd.Series(~personal_identity_code_mask(s), index=s.index),
        name="personal_identity_code",
        ignore_na=True,
    )


def _at_least(bound: float) -> pa.Check:
    return pa.Check(lambda s: s >= bound, name="out_of_range", ignore_na=True)


def _category(values: Sequence[str], *, nullable: bool = False, required: bool = True) -> pa.Column:
    return pa.Column(
        DTYPES["category"],
        nullable=nullable,
        required=required,
        checks=_in(values, "not_in_categories"),
    )


def _client_id(*, unique: bool = False) -> pa.Column:
    return pa.Column(
        DTYPES["id"],
        nullable=False,
        unique=unique,
        report_duplicates="exclude_first",
        checks=_no_identity_codes(),
    )


def _date(*, nullable: bool = False) -> pa.Column:
    return pa.Column(DTYPES["date"], nullable=nullable)


def clients_schema(config: RunConfig | None = None) -> pa.DataFrameSchema:
    """Column rules of `clients`; extras declared in `config` are accepted and typed."""
    config = config or RunConfig()
    columns: dict[str, pa.Column] = {
        "client_id": _client_id(unique=True),
        "intake_date": _date(),
        "arrival_date": _date(),
        "birth_year": pa.Column(DTYPES["int"], nullable=False, checks=_at_least(MIN_BIRTH_YEAR)),
        "gender": _category(GENDERS),
        "mother_tongue": pa.Column(
            DTYPES["category"],
            nullable=False,
            checks=pa.Check(
                lambda s: (
                    s.str.fullmatch(MOTHER_TONGUE_PATTERN).fillna(False).astype(bool)
                    | (s == UNKNOWN)
                ),
                name="not_in_categories",
                ignore_na=True,
            ),
        ),
        "citizenship_region": pa.Column(
            DTYPES["category"], nullable=False, checks=_no_identity_codes()
        ),
        "residence_basis": _category(RESIDENCE_BASES),
        "education_level": _category(EDUCATION_LEVELS),
        "prior_work_years": pa.Column(DTYPES["float"], nullable=True, checks=_at_least(0)),
        "literacy_needs": pa.Column(DTYPES["bool"], nullable=False),
        "finnish_level": _category(CEFR_VALUES),
        "health_limitation": pa.Column(DTYPES["bool"], nullable=True, required=False),
        "children_under_school_age": pa.Column(
            DTYPES["int"], nullable=True, required=False, checks=_at_least(0)
        ),
    }
    assert set(columns) == set(CLIENT_REQUIRED_COLUMNS) | set(CLIENT_OPTIONAL_COLUMNS)
    kinds = column_kinds("clients", config)
    for name in config.extra_features:
        checks = [_no_identity_codes()] if kinds[name] == "category" else []
        columns[name] = pa.Column(DTYPES[kinds[name]], nullable=True, checks=checks)
    return pa.DataFrameSchema(columns, strict=True, name="clients")


def episodes_schema(catalogue: Catalogue) -> pa.DataFrameSchema:
    """Column rules of `episodes` for the services of `catalogue`."""
    columns = {
        "client_id": _client_id(),
        "service": pa.Column(
            DTYPES["category"],
            nullable=False,
            checks=_in((*catalogue.service_codes, REVIEW), "unknown_service"),
        ),
        "start_date": _date(),
        "end_date": _date(nullable=True),
        "status": _category(EPISODE_STATUSES),
        "language_level_after": _category(CEFR_VALUES, nullable=True, required=False),
        "planned_service": pa.Column(
            DTYPES["category"],
            nullable=True,
            required=False,
            checks=_in(catalogue.actions, "unknown_service"),
        ),
    }
    assert set(columns) == set(EPISODE_REQUIRED_COLUMNS) | set(EPISODE_OPTIONAL_COLUMNS)
    return pa.DataFrameSchema(columns, strict=True, name="episodes")


def outcomes_schema() -> pa.DataFrameSchema:
    """Column rules of `outcomes`."""
    columns = {
        "client_id": _client_id(),
        "status": _category(OUTCOME_STATUSES),
        "start_date": _date(),
        "end_date": _date(nullable=True),
    }
    assert set(columns) == set(OUTCOME_REQUIRED_COLUMNS)
    return pa.DataFrameSchema(columns, strict=True, name="outcomes")


# --------------------------------------------------------------------------- findings


@dataclass(frozen=True, eq=False)
class _Group:
    """Failures of one rule in one column: rows as positions, messages made on demand."""

    table: str
    column: str | None
    rule: str
    positions: np.ndarray | None  # 0-based; None: one problem about the column or file
    message: Callable[[int], str]  # k-th failure -> message


class _Findings:
    def __init__(self) -> None:
        self.groups: list[_Group] = []

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
        self.groups.append(_Group(table, column, rule, positions, make))

    def report(self, tables: Tables, limit: int) -> Report:
        """The first `limit` problems in table, row and check order, with the counts."""
        if not self.groups:
            return Report(tables=tables, problems=(), total=0, counts=())
        table_index = {name: i for i, name in enumerate(TABLES)}
        keys: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        counts: dict[tuple[int, str, str | None, str], int] = {}
        for g, group in enumerate(self.groups):
            rows = np.array([-1]) if group.positions is None else group.positions
            size = rows.size
            t = table_index[group.table]
            keys.append((np.full(size, t), rows, np.full(size, g), np.arange(size)))
            key = (t, tables.file(group.table), group.column, group.rule)
            counts[key] = counts.get(key, 0) + size
        t_, r_, g_, k_ = (np.concatenate([key[i] for key in keys]) for i in range(4))
        order = np.lexsort((k_, g_, r_, t_))[:limit]
        problems = []
        for i in order:
            group = self.groups[g_[i]]
            problems.append(
                Problem(
                    file=tables.file(group.table),
                    row=None if r_[i] < 0 else int(r_[i]) + 1,
                    column=group.column,
                    rule=group.rule,
                    message=group.message(int(k_[i])),
                )
            )
        return Report(
            tables=tables,
            problems=tuple(problems),
            total=len(t_),
            counts=tuple(
                RuleCount(file, column, rule, n)
                for (_t, file, column, rule), n in sorted(counts.items(), key=lambda kv: kv[0][0])
            ),
        )


# --------------------------------------------------------------------------- checking


def check_tables(
    tables: Tables,
    *,
    catalogue: Catalogue,
    config: RunConfig | None = None,
    limit: int = PROBLEM_LIMIT,
) -> Report:
    """Convert the tables and check every rule of the contract; collect all failures."""
    config = config or RunConfig()
    converted = convert_tables(tables, config=config)
    findings = _Findings()
    bad_masks = _bad_cell_masks(converted, findings)
    schemas = {
        "clients": clients_schema(config),
        "episodes": episodes_schema(catalogue),
        "outcomes": outcomes_schema(),
    }
    for name, frame in converted.items():
        _run_schema(name, frame, schemas[name], findings, bad_masks, catalogue=catalogue)
    _check_rows(converted, findings)
    _check_across_tables(converted, findings)
    return findings.report(converted, limit)


def validate_tables(
    tables: Tables, *, catalogue: Catalogue, config: RunConfig | None = None
) -> list[Problem]:
    """Every problem of `tables` (the first `PROBLEM_LIMIT`); empty when they are valid."""
    return list(check_tables(tables, catalogue=catalogue, config=config).problems)


def require_valid_tables(
    tables: Tables, *, catalogue: Catalogue, config: RunConfig | None = None
) -> Tables:
    """The converted tables, or `DataContractError` listing the problems."""
    report = check_tables(tables, catalogue=catalogue, config=config)
    if not report.ok:
        raise _contract_error(report)
    return report.tables


def load_valid_tables(
    data_dir: str | Path, *, catalogue: Catalogue, config: RunConfig | None = None
) -> Tables:
    """Read the three tables of `data_dir` and return them only if they meet the contract."""
    tables = read_tables(data_dir, config=config)
    return require_valid_tables(tables, catalogue=catalogue, config=config)


def _contract_error(report: Report) -> DataContractError:
    first = report.problems[0]
    message = (
        f"the input tables break the data contract: {report.summary()}; "
        f"first: {first.where()}: {first.rule}: {first.message}. "
        "Nothing is trained on tables that fail; `polku validate --data DIR` lists every problem."
    )
    return DataContractError(message, [p.to_dict() for p in report.problems])


def _bad_cell_masks(tables: Tables, findings: _Findings) -> dict[tuple[str, str], np.ndarray]:
    masks: dict[tuple[str, str], np.ndarray] = {}
    for bad in tables.bad_cells:
        findings.add(bad.table, bad.column, bad.rule, bad.positions, bad.message)
        mask = masks.setdefault(
            (bad.table, bad.column), np.zeros(len(tables[bad.table]), dtype=bool)
        )
        mask[bad.positions] = True
    return masks


MISSING_VALUE: Final = "a value is required here"
IDENTITY_CODE_IN_DATA: Final = (
    "looks like a personal identity code, which must not be in the input data; remove it"
)


def _run_schema(
    table: str,
    frame: pd.DataFrame,
    schema: pa.DataFrameSchema,
    findings: _Findings,
    bad_masks: Mapping[tuple[str, str], np.ndarray],
    *,
    catalogue: Catalogue,
) -> None:
    try:
        schema.validate(frame, lazy=True, inplace=True)
    except SchemaErrors as exc:
        cases = exc.failure_cases
    else:
        return
    if table == "clients" and "client_id" in frame.columns:
        first_rows = _first_rows(frame["client_id"])
    else:
        first_rows = {}
    for (column, check), group in cases.groupby(["column", "check"], dropna=False, sort=False):
        column_name = None if pd.isna(column) else str(column)
        check = str(check)
        if check in ("column_in_dataframe", "column_in_schema"):
            for value in group["failure_case"]:
                _column_problem(table, str(value), check, findings, schema)
            continue
        if check.startswith("dtype("):
            expected = check.removeprefix("dtype(").removesuffix(")")
            actual = str(group["failure_case"].iloc[0])
            findings.add(
                table,
                column_name,
                "wrong_type",
                None,
                f"the column has type {actual}, expected {expected}",
            )
            continue
        if group["index"].isna().any():
            # A check that could not run at all (a bug in this module, not in the data).
            findings.add(
                table, column_name, check, None, f"the check {check} could not run on this column"
            )
            continue
        positions = group["index"].to_numpy(dtype=np.int64)
        values = group["failure_case"].to_numpy()
        if check == "not_nullable":
            mask = bad_masks.get((table, column_name or ""))
            if mask is not None:
                keep = ~mask[positions]
                positions, values = positions[keep], values[keep]
            findings.add(table, column_name, "missing_value", positions, MISSING_VALUE)
        elif check == "field_uniqueness":
            dup_positions = positions

            def duplicate(k: int, _p: np.ndarray = dup_positions) -> str:
                first = first_rows.get(int(_p[k]))
                where = f" as row {first + 1}" if first is not None else " as an earlier row"
                return f"the same client_id{where}; each client has exactly one row"

            findings.add(table, column_name, "duplicate_id", positions, duplicate)
        elif check == "personal_identity_code":
            hint = PSEUDONYMISE_HINT if column_name == "client_id" else IDENTITY_CODE_IN_DATA
            findings.add(table, column_name, check, positions, hint)
        else:
            findings.add(
                table,
                column_name,
                check,
                positions,
                _value_message(table, column_name, check, values, catalogue),
            )


def _first_rows(ids: pd.Series) -> dict[int, int]:
    """For each repeated id's later row, the position of its first row."""
    repeated = ids.duplicated(keep="first") & ids.notna()
    if not repeated.any():
        return {}
    first = pd.Series(np.arange(len(ids)), index=ids.index).groupby(ids.to_numpy()).transform("min")
    later = np.flatnonzero(repeated.to_numpy())
    return dict(zip(later.tolist(), first.to_numpy()[later].tolist(), strict=True))


def _column_problem(
    table: str, column: str, check: str, findings: _Findings, schema: pa.DataFrameSchema
) -> None:
    if check == "column_in_dataframe":
        if table == "clients" and column not in CLIENT_REQUIRED_COLUMNS:
            message = (
                f"column '{column}' is declared under extra_features in the run configuration "
                "but the file does not have it"
            )
        else:
            message = f"required column '{column}' is missing"
        findings.add(table, column, "missing_column", None, message)
        return
    if table == "clients":
        message = (
            f"column '{column}' is not in the data contract; to use it as a feature, declare it "
            f'under [extra_features] in the run configuration (e.g. {column} = "categorical", '
            '"numeric" or "boolean"), otherwise remove it'
        )
    else:
        message = f"column '{column}' is not in the data contract; {table} has only " + ", ".join(
            schema.columns
        )
    findings.add(table, column, "undeclared_column", None, message)


def _value_message(
    table: str,
    column: str | None,
    rule: str,
    values: np.ndarray,
    catalogue: Catalogue,
) -> Callable[[int], str]:
    if rule == "not_in_categories":
        allowed = _ALLOWED.get(column or "")
        if column == "mother_tongue":
            expected = "a lower-case ISO 639-1 language code (ar, ru, so, ...) or 'unknown'"
        elif table == "episodes" and column == "status":
            expected = "one of " + ", ".join(EPISODE_STATUSES)
        elif table == "outcomes" and column == "status":
            expected = "one of " + ", ".join(OUTCOME_STATUSES)
        elif allowed is not None:
            expected = "one of " + ", ".join(allowed)
        else:
            expected = "an allowed value"
        return lambda k: f"{shown(values[k])} is not {expected}"
    if rule == "unknown_service":
        if column == "planned_service":
            expected = f"an action of the service catalogue ({catalogue.source}) or empty"
        else:
            expected = f"a service code of the catalogue ({catalogue.source}) or '{REVIEW}'"
        return lambda k: f"{shown(values[k])} is not {expected}"
    if rule == "out_of_range":
        text = _RANGE_TEXT.get(column or "", "the value is out of range")
        return lambda _k: text
    return lambda _k: f"breaks the rule {rule}"


_ALLOWED: Final[Mapping[str, Sequence[str]]] = {
    "gender": GENDERS,
    "residence_basis": RESIDENCE_BASES,
    "education_level": EDUCATION_LEVELS,
    "finnish_level": CEFR_VALUES,
    "language_level_after": CEFR_VALUES,
}

_RANGE_TEXT: Final[Mapping[str, str]] = {
    "birth_year": (
        f"birth_year must be between {MIN_BIRTH_YEAR} and the intake year minus {MIN_AGE_AT_INTAKE}"
    ),
    "prior_work_years": "prior_work_years must be 0 or more (or empty when not known)",
    "children_under_school_age": "children_under_school_age must be 0 or more (or empty)",
}


def _has(frame: pd.DataFrame, *columns: str) -> bool:
    return all(column in frame.columns for column in columns)


def _true(mask: pd.Series) -> np.ndarray:
    return mask.fillna(False).to_numpy(dtype=bool)


def _check_rows(tables: Tables, findings: _Findings) -> None:
    """Rules across the columns of one row."""
    clients = tables.clients
    if len(clients) == 0 and _has(clients, "client_id"):
        findings.add("clients", None, "empty_table", None, "the clients table has no rows")
    if _has(clients, "arrival_date", "intake_date"):
        findings.add(
            "clients",
            "arrival_date",
            "arrival_after_intake",
            _true(clients["arrival_date"] > clients["intake_date"]),
            "arrival_date is after intake_date; the first registered residence comes before "
            "the first contact with integration services",
        )
    if _has(clients, "birth_year", "intake_date"):
        latest = clients["intake_date"].dt.year - MIN_AGE_AT_INTAKE
        findings.add(
            "clients",
            "birth_year",
            "out_of_range",
            _true(clients["birth_year"] > latest),
            _RANGE_TEXT["birth_year"],
        )
    for table in ("episodes", "outcomes"):
        frame = tables[table]
        if _has(frame, "start_date", "end_date"):
            findings.add(
                table,
                "end_date",
                "end_before_start",
                _true(frame["end_date"] < frame["start_date"]),
                "end_date is before start_date",
            )
    episodes = tables.episodes
    if _has(episodes, "status", "end_date"):
        ongoing = _true(episodes["status"] == ONGOING)
        has_end = episodes["end_date"].notna().to_numpy(dtype=bool)
        ended = _true(episodes["status"].isin(ENDED_STATUSES))
        findings.add(
            "episodes",
            "end_date",
            "ongoing_with_end_date",
            ongoing & has_end,
            "an ongoing episode has no end_date: leave it empty, or give status completed or "
            "interrupted",
        )
        findings.add(
            "episodes",
            "end_date",
            "missing_end_date",
            ended & ~has_end,
            "a completed or interrupted episode needs an end_date (it is empty only while ongoing)",
        )


def _positions_in(values: pd.Series, keys: pd.Series) -> np.ndarray:
    """For each value, the position of its first equal key, or -1 (missing never matches).

    Arrow's hash lookup: pandas' `isin` on Arrow strings is several times slower.
    """
    found = pc.index_in(
        pa_arrow.array(values, type=pa_arrow.string(), from_pandas=True),
        value_set=pa_arrow.array(keys, type=pa_arrow.string(), from_pandas=True),
    )
    return np.asarray(found.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)


def _check_across_tables(tables: Tables, findings: _Findings) -> None:
    """Episodes and outcomes belong to known clients; services start after intake."""
    clients = tables.clients
    if not _has(clients, "client_id"):
        return
    client_ids = clients["client_id"]
    for table in ("episodes", "outcomes"):
        frame = tables[table]
        if not _has(frame, "client_id"):
            continue
        ids = frame["client_id"]
        client_at = _positions_in(ids, client_ids)
        checkable = ids.notna().to_numpy(dtype=bool) & ~personal_identity_code_mask(ids)
        findings.add(
            table,
            "client_id",
            "unknown_client",
            checkable & (client_at < 0),
            f"no client with this client_id in {tables.file('clients')}",
        )
        if table == "episodes" and _has(clients, "intake_date") and _has(frame, "start_date"):
            known = client_at >= 0
            intake = np.full(len(frame), np.datetime64("NaT"), dtype=DTYPES["date"])
            intake[known] = clients["intake_date"].to_numpy()[client_at[known]]
            start = frame["start_date"].to_numpy()
            findings.add(
                "episodes",
                "start_date",
                "before_intake",
                known & (start < intake),
                f"start_date is before the client's intake_date in {tables.file('clients')}",
            )


# --------------------------------------------------------------------------- the command


def validate_command(
    data_dir: str | Path,
    *,
    config_path: str | Path | None = None,
    catalogue_path: str | Path | None = None,
    console: Console,
) -> bool:
    """`polku validate`: print every problem, or a short summary; True when valid."""
    config = load_config(config_path)
    catalogue = load_catalogue(catalogue_path, extras=config.extra_features)
    try:
        tables = read_tables(data_dir, config=config)
    except DataContractError as exc:
        problems = [Problem(**p) for p in exc.problems]  # type: ignore[arg-type]
        _print_problems(console, problems)
        console.print(f"[bold red]✗[/] {exc}", highlight=False)
        return False
    report = check_tables(tables, catalogue=catalogue, config=config)
    if not report.ok:
        _print_problems(console, list(report.problems))
        if report.omitted:
            _print_counts(console, report.counts)
        console.print(
            f"[bold red]✗[/] {report.summary()}. Nothing is trained on tables that fail the contract.",
            highlight=False,
        )
        return False
    counts = ", ".join(
        f"{report.tables.file(name)} {len(frame):,} rows" for name, frame in report.tables.items()
    )
    window = _date_window(report.tables)
    line = f"[bold green]✓[/] data contract OK: {counts}"
    if window is not None:
        line += f"; dates {window[0]:%Y-%m-%d} .. {window[1]:%Y-%m-%d}"
    if config.extract_date is not None:
        line += f"; extract date {config.extract_date:%Y-%m-%d}"
    console.print(line, highlight=False)
    return True


def _problem_table(title: str) -> RichTable:
    # Compact: an 80-column terminal keeps file, row, column and rule on one line.
    return RichTable(
        title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, expand=False
    )


def _print_problems(console: Console, problems: Sequence[Problem]) -> None:
    table = _problem_table("Data contract problems")
    table.add_column("file", no_wrap=True)
    table.add_column("row", justify="right", no_wrap=True)
    table.add_column("column", no_wrap=True)
    table.add_column("rule", no_wrap=True)
    table.add_column("message", overflow="fold", ratio=1)
    for p in problems:
        table.add_row(
            p.file, "" if p.row is None else str(p.row), p.column or "", p.rule, p.message
        )
    console.print(table, highlight=False)


def _print_counts(console: Console, counts: Sequence[RuleCount]) -> None:
    table = _problem_table("Every problem, counted")
    table.add_column("file", no_wrap=True)
    table.add_column("column", no_wrap=True)
    table.add_column("rule", no_wrap=True)
    table.add_column("count", justify="right", no_wrap=True)
    for count in counts:
        table.add_row(count.file, count.column or "", count.rule, f"{count.count:,}")
    console.print(table, highlight=False)


def _date_window(tables: Tables) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    lows, highs = [], []
    for _name, frame in tables.items():
        for column in frame.columns:
            series = frame[column]
            if pd.api.types.is_datetime64_any_dtype(series.dtype) and series.notna().any():
                lows.append(series.min())
                highs.append(series.max())
    if not lows:
        return None
    return min(lows), max(highs)
