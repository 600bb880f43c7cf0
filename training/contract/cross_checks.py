"""The rules across the columns of a row and across tables, as vectorised pandas.

Dates in order and status against end date within a row; episodes and
outcomes of known clients and services after intake across tables. Plain
pandas and Arrow run these much faster than pandera's wide checks on large
tables.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from model.privacy import personal_identity_code_mask
from training.contract.problems import Findings
from training.contract.schemas import MIN_AGE_AT_INTAKE, RANGE_TEXT
from training.tables import DTYPES, Tables

ENDED_STATUSES: Final = ("completed", "interrupted")
ONGOING: Final = "ongoing"


def _has(frame: pd.DataFrame, *columns: str) -> bool:
    return all(column in frame.columns for column in columns)


def _true(mask: pd.Series) -> np.ndarray:
    return mask.fillna(False).to_numpy(dtype=bool)


def check_rows(tables: Tables, findings: Findings) -> None:
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
            RANGE_TEXT["birth_year"],
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

    Arrow's hash lookup, which is faster than pandas' `isin` on Arrow strings.
    """
    found = pc.index_in(
        pa.array(values, type=pa.string(), from_pandas=True),
        value_set=pa.array(keys, type=pa.string(), from_pandas=True),
    )
    return np.asarray(found.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)


def check_across_tables(tables: Tables, findings: Findings) -> None:
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
