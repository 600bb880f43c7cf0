"""Splitting decision points by client: the newest clients by intake date are held out.

Never a random row split: the intake-date cutoff is chosen so that about
`holdout_fraction` of the labelled decision points belong to held-out
clients, and every decision point of a held-out client is a test row. The
validation clients are cut the same way from the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from model.decision_points.points import DecisionPoints
from model.errors import DataContractError
from training.router_figures import evaluable_rows


@dataclass(frozen=True)
class Split:
    """Masks over `dp.frame`; clients with intake on or after `test_from` are held out."""

    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray
    test_from: date
    validation_from: date
    labelled_share: dict[str, float]

    def summary(self, dp: DecisionPoints) -> dict[str, Any]:
        clients = dp.frame["client_id"].astype(str)
        return {
            "test_from": self.test_from.isoformat(),
            "validation_from": self.validation_from.isoformat(),
            **{
                f"{part}_{what}": count
                for part, mask in (
                    ("train", self.train),
                    ("validation", self.validation),
                    ("test", self.test),
                )
                for what, count in (
                    ("points", int(mask.sum())),
                    ("clients", int(clients[mask].nunique())),
                )
            },
            **{f"{part}_labelled_share": share for part, share in self.labelled_share.items()},
        }


def _intake_cutoff(intake_days: np.ndarray, labelled: np.ndarray, share: float) -> int:
    """The intake day d such that points of clients with intake >= d hold about `share`
    of the labelled points; clients on the same day stay together."""
    days, inverse = np.unique(intake_days, return_inverse=True)
    per_day = np.bincount(inverse, weights=labelled.astype(float), minlength=len(days))
    # cumulative labelled points from the newest day backwards
    from_newest = np.cumsum(per_day[::-1])[::-1]
    total = per_day.sum()
    best = int(np.argmin(np.abs(from_newest - share * total)))
    # never hold out everything (the oldest day) nor nothing
    best = min(max(best, 1), len(days) - 1) if len(days) > 1 else 0
    return int(days[best])


def split_by_intake(
    dp: DecisionPoints,
    clients: pd.DataFrame,
    *,
    holdout_fraction: float,
    validation_fraction: float,
    labelled: np.ndarray | None = None,
) -> Split:
    """Hold out the newest clients, then the next newest for validation (module docstring)."""
    labelled = evaluable_rows(dp) if labelled is None else np.asarray(labelled, dtype=bool)
    if not labelled.any():
        raise DataContractError(
            "no labelled decision points: every decision point is censored or has an "
            "unknown action; the data must cover at least the outcome horizon"
        )
    intake = pd.Series(
        pd.to_datetime(clients["intake_date"]).to_numpy(),
        index=clients["client_id"].astype(str).to_numpy(),
    )
    point_intake = pd.to_datetime(
        dp.frame["client_id"].astype(str).map(intake).to_numpy()
    ).to_numpy(dtype="datetime64[D]")
    if np.isnat(point_intake).any():
        raise DataContractError("a decision point's client has no intake_date")
    days = point_intake.astype(np.int64)
    test_cut = _intake_cutoff(days, labelled, holdout_fraction)
    test = days >= test_cut
    rest = ~test
    if not (labelled & rest).any():
        raise DataContractError(
            "too little data to hold out the newest clients: every labelled decision point "
            "belongs to the newest intake day"
        )
    val_cut = _intake_cutoff(days[rest], labelled[rest], validation_fraction)
    validation = rest & (days >= val_cut)
    train = rest & ~validation
    if not (labelled & train).any() or not (labelled & validation).any():
        raise DataContractError(
            "too little data for a training and a validation set of clients; "
            "simulate or extract more clients"
        )
    total = labelled.sum()
    shares = {
        part: float((labelled & mask).sum() / total)
        for part, mask in (("train", train), ("validation", validation), ("test", test))
    }

    def as_date(day: int) -> date:
        return (np.datetime64(0, "D") + np.timedelta64(day, "D")).astype(date)

    return Split(train, validation, test, as_date(test_cut), as_date(val_cut), shares)
