"""Work that matches the client's education, where the outcomes table records it.

The optional outcomes column `matches_education` (docs/data.md) says of a
work spell whether the job matches the client's education. For each service
start in the window whose outcome window is complete, the first work spell
(`employed` or `subsidised_employment`) that starts within the horizon is
looked up; of those whose spell records the column, the share that matched.
Without the column, or with no value recorded, the section says the data
lacks it. A figure needs at least k clients with a recorded value.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import pandas as pd

MATCHES_EDUCATION: Final = "matches_education"
WORK_STATUSES: Final = ("employed", "subsidised_employment")


def _figures(rows: pd.DataFrame, k: int) -> dict[str, Any]:
    recorded = rows.loc[rows[MATCHES_EDUCATION].notna()]
    n_clients = recorded["client_id"].nunique()
    if n_clients < k:
        return {"found_work": None, "recorded": None, "matching_share": None}
    return {
        "found_work": len(rows),
        "recorded": len(recorded),
        "matching_share": float(recorded[MATCHES_EDUCATION].astype(bool).mean()),
    }


def education_match(
    starts: pd.DataFrame,
    outcomes: pd.DataFrame,
    *,
    services: tuple[str, ...],
    horizon_days: int,
    k: int,
) -> dict[str, Any]:
    """`starts`: service-start decision points (client_id, decision_date, action) with a
    complete outcome window. Returns `available` and, when available, figures overall and
    per service."""
    if MATCHES_EDUCATION not in outcomes.columns or not outcomes[MATCHES_EDUCATION].notna().any():
        return {"available": False, "overall": None, "services": {}}
    work = outcomes.loc[
        outcomes["status"].astype(str).isin(WORK_STATUSES),
        ["client_id", "start_date", MATCHES_EDUCATION],
    ].sort_values("start_date")
    left = starts[["client_id", "decision_date", "action"]].sort_values("decision_date")
    left = left.assign(
        decision_date=pd.to_datetime(left["decision_date"]).astype(work["start_date"].dtype)
    )
    joined = pd.merge_asof(
        left,
        work,
        left_on="decision_date",
        right_on="start_date",
        by="client_id",
        direction="forward",
        tolerance=pd.Timedelta(days=horizon_days),
    )
    found = joined.loc[joined["start_date"].notna()]
    grouped = dict(tuple(found.groupby(found["action"].astype(str), sort=False)))
    empty = found.iloc[0:0]
    return {
        "available": True,
        "overall": _figures(found, k),
        "services": {s: _figures(grouped.get(s, empty), k) for s in services},
    }


def any_recorded(outcomes: pd.DataFrame) -> bool:
    return bool(
        MATCHES_EDUCATION in outcomes.columns and np.any(outcomes[MATCHES_EDUCATION].notna())
    )
