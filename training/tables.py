"""Reading and writing the three input tables (docs/data.md).

`read_tables` reads `clients`, `episodes` and `outcomes` from a folder, each
as CSV or Parquet, and converts every contract column to one canonical dtype:

| kind     | dtype            | from text                                   |
| -------- | ---------------- | ------------------------------------------- |
| id       | `str`            | trimmed; empty is missing                   |
| category | `str`            | trimmed; empty is missing                   |
| date     | `datetime64[us]` | `YYYY-MM-DD`                                |
| int      | `Int64`          | a whole number                              |
| float    | `float64`        | a number with a decimal point               |
| bool     | `boolean`        | true/false, 1/0, yes/no (any letter case)   |

CSV files are read with every column as text, so a value that cannot be
converted is noticed here rather than silently turned into something else.
It becomes missing in the converted table and is listed in
`Tables.bad_cells`; `training.contract` reports it with the file, row and
column. Reading never judges the data otherwise: use
`training.contract.load_valid_tables` for tables that are safe to train on.

`write_tables` writes the same formats back: ISO dates, `true`/`false`,
empty cells for missing values (CSV) or typed columns with dates as `date32`
(Parquet). Writing and reading again gives equal frames in both formats.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pandas.api import types as ptypes

from model.config import RunConfig
from model.errors import DataContractError
from model.privacy import looks_like_personal_identity_code
from model.vocab import TABLES

ColumnKind = Literal["id", "category", "date", "int", "float", "bool"]
FileFormat = Literal["csv", "parquet"]

FORMATS: Final[tuple[FileFormat, ...]] = ("csv", "parquet")

DATE_DTYPE: Final = "datetime64[us]"
DTYPES: Final[Mapping[ColumnKind, str]] = {
    "id": "str",
    "category": "str",
    "date": DATE_DTYPE,
    "int": "Int64",
    "float": "float64",
    "bool": "boolean",
}

COLUMN_KINDS: Final[Mapping[str, Mapping[str, ColumnKind]]] = {
    "clients": {
        "client_id": "id",
        "intake_date": "date",
        "arrival_date": "date",
        "birth_year": "int",
        "gender": "category",
        "mother_tongue": "category",
        "citizenship_region": "category",
        "residence_basis": "category",
        "education_level": "category",
        "prior_work_years": "float",
        "literacy_needs": "bool",
        "finnish_level": "category",
        "health_limitation": "bool",
        "children_under_school_age": "int",
    },
    "episodes": {
        "client_id": "id",
        "service": "category",
        "start_date": "date",
        "end_date": "date",
        "status": "category",
        "language_level_after": "category",
        "planned_service": "category",
    },
    "outcomes": {
        "client_id": "id",
        "status": "category",
        "start_date": "date",
        "end_date": "date",
        "matches_education": "bool",
    },
}

# The kinds that a run configuration's `extra_features` may declare.
EXTRA_KINDS: Final[Mapping[str, ColumnKind]] = {
    "numeric": "float",
    "categorical": "category",
    "boolean": "bool",
}

_TRUE: Final = ("true", "1", "yes")
_FALSE: Final = ("false", "0", "no")
_BOOL_TEXT: Final = {**dict.fromkeys(_TRUE, True), **dict.fromkeys(_FALSE, False)}
_ISO_DATE: Final = r"\d{4}-\d{2}-\d{2}"
_MAX_EXACT_INT: Final = 2**53

_EXPECTED: Final[Mapping[ColumnKind, str]] = {
    "date": "a date written YYYY-MM-DD",
    "int": "a whole number",
    "float": "a number (with a decimal point, not a comma)",
    "bool": "true/false, 1/0 or yes/no",
}


def column_kinds(table: str, config: RunConfig | None = None) -> dict[str, ColumnKind]:
    """The contract columns of `table` and their kinds, extras of `config` included."""
    kinds = dict(COLUMN_KINDS[table])
    if table == "clients" and config is not None:
        kinds.update({name: EXTRA_KINDS[kind] for name, kind in config.extra_features.items()})
    return kinds


@dataclass(frozen=True, eq=False)
class BadCells:
    """Cells of one column whose text could not be converted to its kind."""

    table: str
    column: str
    kind: ColumnKind
    positions: np.ndarray  # 0-based row positions
    values: tuple[str, ...]  # the offending text, for messages

    @property
    def rule(self) -> str:
        return "not_a_date" if self.kind == "date" else "wrong_type"

    def message(self, k: int) -> str:
        """The message for the `k`-th bad cell; never echoes an identity code."""
        return f"{shown(self.values[k])} is not {_EXPECTED[self.kind]}"


def shown(value: object, *, limit: int = 40) -> str:
    """A value quoted for a message, or a placeholder if it may be personal data."""
    text = str(value)
    if looks_like_personal_identity_code(text):
        return "the value (not shown: it looks like a personal identity code)"
    if len(text) > limit:
        return f"{text[:limit]!r}…"
    return repr(text)


def _empty_files() -> dict[str, str]:
    return {name: name for name in TABLES}


@dataclass(frozen=True, eq=False)
class Tables:
    """The three input tables; `files` names where each came from, for messages."""

    clients: pd.DataFrame
    episodes: pd.DataFrame
    outcomes: pd.DataFrame
    files: Mapping[str, str] = field(default_factory=_empty_files)
    # Cells that could not be converted when the tables were read; reported
    # by the contract. Not part of the data itself.
    bad_cells: tuple[BadCells, ...] = ()

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name not in TABLES:
            raise KeyError(name)
        frame: pd.DataFrame = getattr(self, name)
        return frame

    def items(self) -> Iterator[tuple[str, pd.DataFrame]]:
        for name in TABLES:
            yield name, self[name]

    def file(self, name: str) -> str:
        return self.files.get(name, name)

    def replace(self, **changes: object) -> Tables:
        """A copy with some fields changed; replacing a frame forgets its `bad_cells`."""
        if "bad_cells" not in changes:
            changed = set(changes) & set(TABLES)
            changes["bad_cells"] = tuple(b for b in self.bad_cells if b.table not in changed)
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def row_counts(self) -> dict[str, int]:
        return {name: len(frame) for name, frame in self.items()}


# --------------------------------------------------------------------------- reading


def _file_problem(file: str, rule: str, message: str) -> dict[str, object]:
    return {"file": file, "row": None, "column": None, "rule": rule, "message": message}


def locate_tables(data_dir: str | Path) -> dict[str, Path]:
    """The file of each table in `data_dir`; exactly one of NAME.csv, NAME.parquet."""
    folder = Path(data_dir)
    if not folder.is_dir():
        raise DataContractError(
            f"data folder {folder} does not exist",
            [_file_problem(folder.name, "missing_folder", "the data folder does not exist")],
        )
    found: dict[str, Path] = {}
    problems: list[dict[str, object]] = []
    for name in TABLES:
        present = [
            folder / f"{name}.{fmt}" for fmt in FORMATS if (folder / f"{name}.{fmt}").is_file()
        ]
        if not present:
            problems.append(
                _file_problem(
                    f"{name}.csv",
                    "missing_file",
                    f"no {name}.csv or {name}.parquet in the data folder",
                )
            )
        elif len(present) > 1:
            problems.append(
                _file_problem(
                    f"{name}.csv",
                    "ambiguous_file",
                    f"both {name}.csv and {name}.parquet exist; keep exactly one",
                )
            )
        else:
            found[name] = present[0]
    if problems:
        files = ", ".join(str(p["file"]).removesuffix(".csv") for p in problems)
        raise DataContractError(
            f"cannot read the input tables ({files}): "
            + "; ".join(str(p["message"]) for p in problems),
            problems,
        )
    return found


def _read_file(path: Path) -> pd.DataFrame:
    if path.suffix == ".csv":
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    return pd.read_parquet(path)


def read_raw_tables(data_dir: str | Path) -> Tables:
    """The tables as stored: CSV columns as text, Parquet columns as typed there."""
    paths = locate_tables(data_dir)
    frames: dict[str, pd.DataFrame] = {}
    problems: list[dict[str, object]] = []
    for name, path in paths.items():
        try:
            frames[name] = _read_file(path)
        except (OSError, ValueError, pa.ArrowException) as exc:
            # Parser errors (ValueErrors) give a line number, never a cell's value.
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            problems.append(
                _file_problem(path.name, "unreadable_file", f"cannot be read: {reason}")
            )
    if problems:
        raise DataContractError(
            "; ".join(f"{p['file']}: {p['message']}" for p in problems), problems
        )
    return Tables(**frames, files={name: path.name for name, path in paths.items()})


def read_tables(data_dir: str | Path, *, config: RunConfig | None = None) -> Tables:
    """Read and convert the three tables of `data_dir` (see the module docstring).

    Raises `DataContractError` when a file is missing, doubled or unreadable.
    Values that cannot be converted are missing in the result and listed in
    `bad_cells`; validate before use.
    """
    return convert_tables(read_raw_tables(data_dir), config=config)


# --------------------------------------------------------------------------- converting


def convert_tables(tables: Tables, *, config: RunConfig | None = None) -> Tables:
    """Every contract column in its canonical dtype, with a fresh 0-based index.

    Idempotent: converting converted tables changes nothing. Columns that are
    not in the contract are kept as text (the contract refuses them).
    """
    frames: dict[str, pd.DataFrame] = {}
    bad: list[BadCells] = list(tables.bad_cells)
    for name, frame in tables.items():
        kinds = column_kinds(name, config)
        out: dict[str, pd.Series] = {}
        for column in frame.columns:
            series = frame[column].reset_index(drop=True)
            kind = kinds.get(str(column), "category")
            converted, failed = convert_column(series, kind)
            out[column] = converted
            if failed.any():
                positions = np.flatnonzero(failed)
                values = tuple(str(v) for v in series.iloc[positions].tolist())
                bad.append(BadCells(name, str(column), kind, positions, values))
        frames[name] = pd.DataFrame(out, index=pd.RangeIndex(len(frame)), columns=frame.columns)
    return Tables(**frames, files=dict(tables.files), bad_cells=tuple(bad))


def convert_column(series: pd.Series, kind: ColumnKind) -> tuple[pd.Series, np.ndarray]:
    """`series` converted to `kind`, and a mask of the values that could not be."""
    converter = _CONVERTERS[kind]
    converted, failed = converter(series)
    return converted, np.asarray(failed, dtype=bool)


def _text(series: pd.Series) -> pd.Series:
    """Values as trimmed text; empty and whitespace-only are missing."""
    if ptypes.is_float_dtype(series.dtype):
        # Whole numbers stored as floats (ids with gaps) read as "12", not "12.0".
        whole = series.dropna()
        if bool((whole == np.floor(whole)).all()) and whole.abs().max(skipna=True) < _MAX_EXACT_INT:
            series = series.astype("Int64")
    text = series.astype("str").str.strip()
    return text.mask(text == "")


def _nothing_failed(series: pd.Series) -> np.ndarray:
    return np.zeros(len(series), dtype=bool)


def _convert_text(series: pd.Series) -> tuple[pd.Series, np.ndarray]:
    return _text(series), _nothing_failed(series)


def _convert_date(series: pd.Series) -> tuple[pd.Series, np.ndarray]:
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        series = series.dt.tz_localize(None)
    if ptypes.is_datetime64_dtype(series.dtype):
        return series.dt.normalize().astype(DATE_DTYPE), _nothing_failed(series)
    if series.dtype == object and pd.api.types.infer_dtype(series, skipna=True) in (
        "date",
        "datetime",
        "datetime64",
    ):
        dates = pd.to_datetime(series).dt.normalize().astype(DATE_DTYPE)
        return dates, _nothing_failed(series)
    text = _text(series)
    iso = text.str.fullmatch(_ISO_DATE).fillna(False).astype(bool)
    dates = pd.to_datetime(text.where(iso), format="%Y-%m-%d", errors="coerce").astype(DATE_DTYPE)
    failed = text.notna() & dates.isna()
    return dates, failed.to_numpy(dtype=bool)


def _numbers(series: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Floats and a mask of values that are not finite numbers."""
    if ptypes.is_bool_dtype(series.dtype):
        return pd.Series(np.nan, index=series.index), series.notna().to_numpy(dtype=bool)
    if ptypes.is_numeric_dtype(series.dtype):
        numbers = series.astype("float64")
        present = series.notna().to_numpy(dtype=bool)
    else:
        text = _text(series)
        numbers = pd.to_numeric(text, errors="coerce").astype("float64")
        present = text.notna().to_numpy(dtype=bool)
    values = numbers.to_numpy(dtype="float64", na_value=np.nan)
    failed = present & ~np.isfinite(values)
    return numbers.mask(failed), failed


def _convert_float(series: pd.Series) -> tuple[pd.Series, np.ndarray]:
    if series.dtype == "float64":
        values = series.to_numpy()
        failed = np.isinf(values)
        return series.mask(failed), failed
    return _numbers(series)


def _convert_int(series: pd.Series) -> tuple[pd.Series, np.ndarray]:
    if series.dtype == "Int64":
        return series, _nothing_failed(series)
    if ptypes.is_integer_dtype(series.dtype):
        return series.astype("Int64"), _nothing_failed(series)
    numbers, failed = _numbers(series)
    values = numbers.to_numpy(dtype="float64", na_value=np.nan)
    with np.errstate(invalid="ignore"):
        inexact = np.isfinite(values) & (
            (values != np.floor(values)) | (np.abs(values) >= _MAX_EXACT_INT)
        )
    failed = failed | inexact
    return numbers.mask(failed).astype("Int64"), failed


def _convert_bool(series: pd.Series) -> tuple[pd.Series, np.ndarray]:
    if ptypes.is_bool_dtype(series.dtype):
        return series.astype("boolean"), _nothing_failed(series)
    if series.dtype == object and pd.api.types.infer_dtype(series, skipna=True) == "boolean":
        return series.astype("boolean"), _nothing_failed(series)
    if ptypes.is_numeric_dtype(series.dtype):
        numbers = series.astype("float64")
        failed = (numbers.notna() & ~numbers.isin([0.0, 1.0])).to_numpy(dtype=bool)
        return numbers.mask(failed).map({1.0: True, 0.0: False}).astype("boolean"), failed
    text = _text(series).str.lower()
    flags = text.map(_BOOL_TEXT).astype("boolean")
    failed = text.notna() & flags.isna()
    return flags, failed.to_numpy(dtype=bool)


_CONVERTERS: Final = {
    "id": _convert_text,
    "category": _convert_text,
    "date": _convert_date,
    "int": _convert_int,
    "float": _convert_float,
    "bool": _convert_bool,
}


# --------------------------------------------------------------------------- writing


def write_tables(
    tables: Tables, out_dir: str | Path, *, fmt: FileFormat = "csv"
) -> dict[str, Path]:
    """Write the three tables to `out_dir` as NAME.csv or NAME.parquet; return the paths.

    Formatting follows the dtypes: dates as YYYY-MM-DD (`date32` in Parquet),
    booleans as true/false, missing values as empty cells (nulls in Parquet).
    Text columns are written as they are, so hand-made bad values survive
    for tests. A file of the other format for the same table is removed, so
    the folder always reads back unambiguously.
    """
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {', '.join(FORMATS)}, got {fmt!r}")
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for name, frame in tables.items():
        path = folder / f"{name}.{fmt}"
        for other in FORMATS:
            if other != fmt:
                (folder / f"{name}.{other}").unlink(missing_ok=True)
        if fmt == "csv":
            _csv_frame(frame).to_csv(path, index=False, na_rep="", lineterminator="\n")
        else:
            pq.write_table(_arrow_table(frame), path)
        written[name] = path
    return written


def _csv_frame(frame: pd.DataFrame) -> pd.DataFrame:
    out: dict[str, pd.Series] = {}
    for column in frame.columns:
        series = frame[column]
        if ptypes.is_datetime64_any_dtype(series.dtype):
            series = series.dt.strftime("%Y-%m-%d")
        elif ptypes.is_bool_dtype(series.dtype):
            series = series.astype("boolean").map({True: "true", False: "false"})
        out[column] = series
    return pd.DataFrame(out, index=frame.index, columns=frame.columns)


def _arrow_table(frame: pd.DataFrame) -> pa.Table:
    arrays: list[pa.Array] = []
    for column in frame.columns:
        series = frame[column]
        if ptypes.is_datetime64_any_dtype(series.dtype):
            if isinstance(series.dtype, pd.DatetimeTZDtype):
                series = series.dt.tz_localize(None)
            array = pa.array(series.astype(DATE_DTYPE)).cast(pa.date32())
        elif ptypes.is_string_dtype(series.dtype):
            array = pa.array(series.astype("str"), type=pa.string(), from_pandas=True)
        else:
            array = pa.array(series, from_pandas=True)
        arrays.append(array)
    return pa.Table.from_arrays(arrays, names=[str(c) for c in frame.columns])
