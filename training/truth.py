"""The simulator's truth table: where it is, reading it, and aligning it to decision points.

A simulated world (and a converted trial, docs/evaluation.md) comes with a
truth table: one row per decision point (client_id, decision_date) and one
column per action holding the true probability of a good outcome under that
action. The evaluation compares the router with it; real data has none.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from model.errors import DataContractError

TRUTH_FILES: Final = ("truth.parquet", "truth.csv")
TRUTH_KEYS: Final = ("client_id", "decision_date")


def find_truth(data_dir: str | Path) -> Path | None:
    """The simulator's truth file in a data folder, if there is one."""
    for name in TRUTH_FILES:
        path = Path(data_dir) / name
        if path.is_file():
            return path
    return None


def read_truth(path: str | Path) -> pd.DataFrame:
    """Read a truth table (client_id, decision_date, one column per action, ...)."""
    p = Path(path)
    try:
        if p.suffix == ".parquet":
            frame = pd.read_parquet(p)
        else:
            frame = pd.read_csv(p, dtype={"client_id": str, "decision_date": str})
    except (OSError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataContractError(f"{p.name}: cannot read the truth table: {reason}") from None
    missing = [c for c in TRUTH_KEYS if c not in frame.columns]
    if missing:
        raise DataContractError(f"{p.name}: the truth table lacks the column(s) {missing}")
    frame["client_id"] = frame["client_id"].astype(str)
    dates = pd.to_datetime(frame["decision_date"], format="ISO8601", errors="coerce")
    if dates.isna().any():
        row = int(np.flatnonzero(dates.isna().to_numpy())[0]) + 1
        raise DataContractError(f"{p.name}: row {row}: decision_date is not a date")
    frame["decision_date"] = dates.dt.normalize()
    return frame


def align_truth(frame: pd.DataFrame, truth: pd.DataFrame, actions: Sequence[str]) -> np.ndarray:
    """The truth as an `(len(frame), len(actions))` matrix in the frame's row and action order.

    `frame` holds decision points (`client_id`, `decision_date`); rows are
    matched on those two, the client id as text and the date without its
    time, on either side. A decision point without a truth row, or an action
    without a truth column, is NaN. When the truth has several rows for one
    key, the first one is used. A truth table with a column for none of the
    actions is an error: it belongs to another catalogue.
    """
    present = [a for a in actions if a in truth.columns]
    if not present:
        raise DataContractError(
            f"the truth table has no column for any action of the catalogue ({', '.join(actions)})"
        )
    table = truth[[*TRUTH_KEYS, *present]].assign(
        client_id=truth["client_id"].astype(str),
        decision_date=pd.to_datetime(truth["decision_date"]).dt.normalize(),
    )
    keyed = table.drop_duplicates(list(TRUTH_KEYS), keep="first").set_index(list(TRUTH_KEYS))
    index = pd.MultiIndex.from_arrays(
        [
            frame["client_id"].astype(str).to_numpy(dtype=object),
            pd.to_datetime(frame["decision_date"]).dt.normalize().to_numpy(),
        ]
    )
    values = keyed[present].apply(pd.to_numeric, errors="coerce").reindex(index)
    out = np.full((len(frame), len(actions)), np.nan)
    for name in present:
        out[:, list(actions).index(name)] = values[name].to_numpy(dtype=float)
    return out
