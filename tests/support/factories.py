"""Small, hand-made tables that satisfy the data contract (docs/data.md).

Every test that needs input data starts from these and changes only what it
is about, so a failing test shows one broken rule rather than a wall of
unrelated ones. The values follow fixed patterns (no randomness): the same
call always gives the same tables, and large `n` is cheap, so the same
factories also build big tables for timing.

    tables = make_tables(n_clients=4)                 # valid, canonical dtypes
    clients = make_clients(n=3, gender="male")        # one value for every row
    clients = make_clients(n=2, birth_year=[1980, 1990])  # one value per row
    raw = as_text(tables)                             # every cell as CSV text
    raw.clients.loc[1, "intake_date"] = "2020-13-01"  # then break one cell
    write_tables(raw, tmp_path)

Each client has the same eight-row service path relative to their intake
date (assessment, plan, review, integration training, review with a planned
service, job-search coaching, review, work trial) and two outcome spells
(unemployed, then employed or education). Episodes use codes of the default
catalogue.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

import numpy as np
import pandas as pd

from training.tables import Tables, column_kinds, convert_column

BASE_DATE: Final = pd.Timestamp("2019-01-07")

GENDERS: Final = ("female", "male", "female", "male", "other", "unknown")
MOTHER_TONGUES: Final = ("ar", "ru", "so", "uk", "fa", "en", "et", "unknown")
CITIZENSHIP_REGIONS: Final = (
    "middle_east",
    "europe_other",
    "africa",
    "eu_efta",
    "asia",
    "americas",
)
RESIDENCE_BASES: Final = ("family", "work", "humanitarian", "temporary_protection", "study", "eu")
EDUCATION_LEVELS: Final = (
    "primary",
    "secondary",
    "vocational",
    "bachelor",
    "master_or_higher",
    "none",
)
FINNISH_LEVELS: Final = ("A0", "A1", "A0", "A2", "B1", "unknown")

# (service, start day after intake, length in days or None while ongoing,
#  status, language_level_after, planned_service)
EPISODE_PATH: Final[tuple[tuple[str, int, int | None, str, str | None, str | None], ...]] = (
    ("initial_assessment", 7, 30, "completed", None, None),
    ("integration_plan", 40, 20, "completed", None, None),
    ("review", 60, 0, "completed", None, None),
    ("integration_training", 90, 300, "completed", "A2", None),
    ("review", 400, 0, "completed", None, "job_search_coaching"),
    ("job_search_coaching", 420, 90, "completed", None, None),
    ("review", 520, 0, "completed", None, None),
    ("work_trial", 540, None, "ongoing", None, None),
)


def _cycle(values: Sequence[Any], n: int, step: int = 1) -> np.ndarray:
    return np.asarray(values, dtype=object)[(np.arange(n) * step) % len(values)]


def _days(offsets: np.ndarray) -> pd.Series:
    return pd.Series(BASE_DATE + pd.to_timedelta(offsets, unit="D"))


def _apply(frame: pd.DataFrame, table: str, overrides: Mapping[str, Any]) -> pd.DataFrame:
    """Set columns from `overrides` (a scalar for every row or one value per row).

    A value that fits the column's kind is converted to its canonical dtype
    ("2021-05-01" becomes a date); one that does not is kept as given, so a
    test can build a table that breaks the contract.
    """
    kinds = column_kinds(table)
    for column, value in overrides.items():
        values = (
            list(value)
            if isinstance(value, (list, tuple, np.ndarray, pd.Series))
            else [value] * len(frame)
        )
        series = pd.Series(values)
        if len(series) != len(frame):
            raise ValueError(f"{column}: {len(series)} values for {len(frame)} rows")
        kind = kinds.get(column)
        if kind is not None:
            converted, failed = convert_column(series, kind)
            if not failed.any():
                series = converted
        frame[column] = series.array
    return frame


def make_clients(n: int = 5, *, optional_columns: bool = True, **overrides: Any) -> pd.DataFrame:
    """`n` valid clients with ids c000000, c000001, ...; `overrides` set columns.

    With `optional_columns`, the optional `health_limitation` and
    `children_under_school_age` columns are included.
    """
    i = np.arange(n)
    intake_offset = (i * 37) % 1500
    intake = _days(intake_offset)
    frame = pd.DataFrame(
        {
            "client_id": pd.Series([f"c{k:06d}" for k in i], dtype="str"),
            "intake_date": intake,
            "arrival_date": _days(intake_offset - (i * 13) % 700),
            "birth_year": pd.Series(1960 + i % 40, dtype="Int64"),
            "gender": pd.Series(_cycle(GENDERS, n), dtype="str"),
            "mother_tongue": pd.Series(_cycle(MOTHER_TONGUES, n), dtype="str"),
            "citizenship_region": pd.Series(_cycle(CITIZENSHIP_REGIONS, n), dtype="str"),
            "residence_basis": pd.Series(_cycle(RESIDENCE_BASES, n), dtype="str"),
            "education_level": pd.Series(_cycle(EDUCATION_LEVELS, n, step=5), dtype="str"),
            "prior_work_years": pd.Series(np.where(i % 4 == 3, np.nan, (i % 9) * 1.5)),
            "literacy_needs": pd.Series(i % 5 == 0, dtype="boolean"),
            "finnish_level": pd.Series(_cycle(FINNISH_LEVELS, n), dtype="str"),
        }
    )
    if optional_columns:
        frame["health_limitation"] = pd.Series(i % 7 == 0, dtype="boolean")
        frame["children_under_school_age"] = pd.Series(i % 3, dtype="Int64")
    return _apply(frame, "clients", overrides)


def make_episodes(clients: pd.DataFrame, **overrides: Any) -> pd.DataFrame:
    """The eight-row `EPISODE_PATH` for every client, ordered by client and start."""
    n = len(clients)
    ids = clients["client_id"].to_numpy()
    intake = clients["intake_date"].to_numpy()
    parts: list[pd.DataFrame] = []
    for step, (service, start, length, status, level, planned) in enumerate(EPISODE_PATH):
        starts = intake + np.timedelta64(start, "D")
        ends = (
            starts + np.timedelta64(length, "D")
            if length is not None
            else np.full(n, np.datetime64("NaT", "us"))
        )
        parts.append(
            pd.DataFrame(
                {
                    "client_id": ids,
                    "service": service,
                    "start_date": starts,
                    "end_date": ends,
                    "status": status,
                    "language_level_after": level,
                    "planned_service": planned,
                    "_order": np.arange(n) * len(EPISODE_PATH) + step,
                }
            )
        )
    frame = pd.concat(parts, ignore_index=True).sort_values("_order", kind="stable")
    frame = frame.drop(columns="_order").reset_index(drop=True)
    frame = _canonical(frame, "episodes")
    return _apply(frame, "episodes", overrides)


def make_outcomes(clients: pd.DataFrame, **overrides: Any) -> pd.DataFrame:
    """Unemployed from intake to day 530, then employed (even rows) or education (odd), open."""
    n = len(clients)
    ids = clients["client_id"].to_numpy()
    intake = clients["intake_date"].to_numpy()
    unemployed = pd.DataFrame(
        {
            "client_id": ids,
            "status": "unemployed",
            "start_date": intake,
            "end_date": intake + np.timedelta64(530, "D"),
            "_order": np.arange(n) * 2,
        }
    )
    after = pd.DataFrame(
        {
            "client_id": ids,
            "status": np.where(np.arange(n) % 2 == 0, "employed", "education"),
            "start_date": intake + np.timedelta64(600, "D"),
            "end_date": np.full(n, np.datetime64("NaT", "us")),
            "_order": np.arange(n) * 2 + 1,
        }
    )
    frame = pd.concat([unemployed, after], ignore_index=True).sort_values("_order", kind="stable")
    frame = frame.drop(columns="_order").reset_index(drop=True)
    frame = _canonical(frame, "outcomes")
    return _apply(frame, "outcomes", overrides)


def _canonical(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    kinds = column_kinds(table)
    for column in frame.columns:
        frame[column] = convert_column(frame[column], kinds[column])[0]
    return frame


def make_tables(
    n_clients: int = 4,
    *,
    clients: pd.DataFrame | None = None,
    episodes: pd.DataFrame | None = None,
    outcomes: pd.DataFrame | None = None,
    **client_overrides: Any,
) -> Tables:
    """Valid `Tables` for `n_clients` clients; pass a frame to replace one table.

    `client_overrides` go to `make_clients`; episodes and outcomes are built
    from the resulting clients unless given.
    """
    if clients is None:
        clients = make_clients(n_clients, **client_overrides)
    elif client_overrides:
        raise TypeError("give either a clients frame or client overrides, not both")
    return Tables(
        clients=clients,
        episodes=make_episodes(clients) if episodes is None else episodes,
        outcomes=make_outcomes(clients) if outcomes is None else outcomes,
    )


def as_text(tables: Tables) -> Tables:
    """Every cell as the text a CSV file would hold ('' for missing).

    Use it to put a value of the wrong type into one cell before writing.
    """
    frames: dict[str, pd.DataFrame] = {}
    for name, frame in tables.items():
        out = {}
        for column in frame.columns:
            series = frame[column]
            if pd.api.types.is_datetime64_any_dtype(series.dtype):
                series = series.dt.strftime("%Y-%m-%d")
            elif pd.api.types.is_bool_dtype(series.dtype):
                series = series.map({True: "true", False: "false"})
            out[column] = series.astype("str").fillna("").astype(object)
        frames[name] = pd.DataFrame(out, index=frame.index)
    return Tables(**frames, files=dict(tables.files))
