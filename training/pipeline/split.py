"""Splitting decision points by client into training, validation and held-out clients.

Every decision point of a client falls in the same part, so no client is
graded on what the model learnt from them.

- **By intake date** (`split = "intake"`): the newest clients are held out,
  as a model trained today is used on the clients who come next. The
  intake-date cutoff is chosen so that about `holdout_fraction` of the
  labelled decision points belong to held-out clients; the validation clients
  are cut the same way from the rest (`validation_fraction` of the remaining
  labelled points).
- **At random** (`split = "random"`): each client falls in a part by a keyed
  hash of the run's seed and the client's id, with the same shares. This is
  for data whose intake dates cannot separate the clients: a single intake
  cohort (a converted randomised trial, a one-off register extract) or a few.
- **Automatically** (`split = "auto"`, the default): by intake date unless the
  intake dates cannot give each part at least half its share of the labelled
  points, then at random. The run and the model card say which was used.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from typing import Any, Final, Literal

import numpy as np
import pandas as pd

from model.decision_points.points import DecisionPoints
from model.errors import DataContractError
from training.router_figures import evaluable_rows

SplitMethod = Literal["intake", "random"]
# An intake split is kept when each part gets at least this share of its target.
MIN_SHARE_OF_TARGET: Final = 0.5


@dataclass(frozen=True)
class Split:
    """Masks over `dp.frame`, and how the clients were divided.

    By intake date, clients with intake on or after `test_from` are held out
    and those from `validation_from` validate. At random, a client is held out
    when its draw (`client_draws`) is below `test_below`, and validates when it
    is below `validation_below`.
    """

    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray
    labelled_share: dict[str, float]
    method: SplitMethod = "intake"
    test_from: date | None = None
    validation_from: date | None = None
    seed: int | None = None
    test_below: float | None = None
    validation_below: float | None = None

    def summary(self, dp: DecisionPoints) -> dict[str, Any]:
        clients = dp.frame["client_id"].astype(str)
        where: dict[str, Any] = {"method": self.method}
        if self.method == "intake":
            assert self.test_from is not None and self.validation_from is not None
            where |= {
                "test_from": self.test_from.isoformat(),
                "validation_from": self.validation_from.isoformat(),
            }
        else:
            where |= {
                "seed": self.seed,
                "test_below": self.test_below,
                "validation_below": self.validation_below,
            }
        return {
            **where,
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


def client_draws(client_ids: pd.Series | np.ndarray, seed: int) -> np.ndarray:
    """A uniform number in [0, 1) per client id, the same for the same seed and id.

    A keyed hash (BLAKE2b) rather than a random generator: the draw of a
    client does not depend on which other clients are in the data, so a
    version's held-out clients can be found again in a later extract.
    """
    key = seed.to_bytes(8, "little", signed=True)
    values = pd.Series(client_ids).astype(str)
    unique = values.unique()
    draws = {
        cid: int.from_bytes(
            hashlib.blake2b(cid.encode(), digest_size=8, key=key).digest(), "little"
        )
        / 2.0**64
        for cid in unique
    }
    return values.map(draws).to_numpy(dtype=float)


def held_out_rows(dp: DecisionPoints, clients: pd.DataFrame, split: dict[str, Any]) -> np.ndarray:
    """The decision points of a version's held-out clients, from its split summary."""
    if split.get("method", "intake") == "random":
        draws = client_draws(dp.frame["client_id"], int(split["seed"]))
        return draws < float(split["test_below"])
    intake = clients.set_index(clients["client_id"].astype(str))["intake_date"]
    point_intake = dp.frame["client_id"].astype(str).map(intake)
    return (point_intake >= np.datetime64(split["test_from"])).to_numpy(dtype=bool)


def held_out_words(split: dict[str, Any]) -> str:
    """Which clients a split summary holds out, in words."""
    if split.get("method", "intake") == "random":
        return f"a random {split.get('test_labelled_share', 0.0):.0%} of the clients (seed {split['seed']})"
    return f"intake on or after {split['test_from']}"


def _check_labelled(labelled: np.ndarray) -> None:
    if not labelled.any():
        raise DataContractError(
            "no labelled decision points: every decision point is censored or has an "
            "unknown action; the data must cover at least the outcome horizon"
        )


def _shares(labelled: np.ndarray, parts: dict[str, np.ndarray]) -> dict[str, float]:
    total = labelled.sum()
    return {part: float((labelled & mask).sum() / total) for part, mask in parts.items()}


def _check_parts(labelled: np.ndarray, train: np.ndarray, validation: np.ndarray) -> None:
    if not (labelled & train).any() or not (labelled & validation).any():
        raise DataContractError(
            "too little data for a training and a validation set of clients; "
            "simulate or extract more clients"
        )


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


def _point_intake_days(dp: DecisionPoints, clients: pd.DataFrame) -> np.ndarray:
    intake = pd.Series(
        pd.to_datetime(clients["intake_date"]).to_numpy(),
        index=clients["client_id"].astype(str).to_numpy(),
    )
    point_intake = pd.to_datetime(
        dp.frame["client_id"].astype(str).map(intake).to_numpy()
    ).to_numpy(dtype="datetime64[D]")
    if np.isnat(point_intake).any():
        raise DataContractError("a decision point's client has no intake_date")
    return point_intake.astype(np.int64)


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
    _check_labelled(labelled)
    days = _point_intake_days(dp, clients)
    test_cut = _intake_cutoff(days, labelled, holdout_fraction)
    test = days >= test_cut
    rest = ~test
    if not (labelled & rest).any():
        raise DataContractError(
            "too little data to hold out the newest clients: every labelled decision point "
            'belongs to the newest intake day (split = "random" splits such data by client)'
        )
    val_cut = _intake_cutoff(days[rest], labelled[rest], validation_fraction)
    validation = rest & (days >= val_cut)
    train = rest & ~validation
    _check_parts(labelled, train, validation)

    def as_date(day: int) -> date:
        return (np.datetime64(0, "D") + np.timedelta64(day, "D")).astype(date)

    return Split(
        train,
        validation,
        test,
        _shares(labelled, {"train": train, "validation": validation, "test": test}),
        method="intake",
        test_from=as_date(test_cut),
        validation_from=as_date(val_cut),
    )


def split_at_random(
    dp: DecisionPoints,
    *,
    holdout_fraction: float,
    validation_fraction: float,
    seed: int,
    labelled: np.ndarray | None = None,
) -> Split:
    """Hold out a random share of the clients, then validate on a random share of the rest."""
    labelled = evaluable_rows(dp) if labelled is None else np.asarray(labelled, dtype=bool)
    _check_labelled(labelled)
    draws = client_draws(dp.frame["client_id"], seed)
    # Thresholds on the draws of the labelled points, so the shares are of labelled points.
    test_below = float(np.quantile(draws[labelled], holdout_fraction))
    test = draws < test_below
    rest = ~test
    if not (labelled & rest).any():
        raise DataContractError("too little data to hold out clients at random")
    rest_draws = draws[rest & labelled]
    validation_below = (
        float(np.quantile(rest_draws, validation_fraction)) if len(rest_draws) else 1.0
    )
    validation = rest & (draws < validation_below)
    train = rest & ~validation
    _check_parts(labelled, train, validation)
    return Split(
        train,
        validation,
        test,
        _shares(labelled, {"train": train, "validation": validation, "test": test}),
        method="random",
        seed=seed,
        test_below=test_below,
        validation_below=validation_below,
    )


def split_clients(
    dp: DecisionPoints,
    clients: pd.DataFrame,
    *,
    method: Literal["auto", "intake", "random"],
    holdout_fraction: float,
    validation_fraction: float,
    seed: int,
) -> Split:
    """The run's split (module docstring): by intake date, at random, or whichever fits."""
    labelled = evaluable_rows(dp)
    if method == "random":
        return split_at_random(
            dp,
            holdout_fraction=holdout_fraction,
            validation_fraction=validation_fraction,
            seed=seed,
            labelled=labelled,
        )
    if method == "intake":
        return split_by_intake(
            dp,
            clients,
            holdout_fraction=holdout_fraction,
            validation_fraction=validation_fraction,
            labelled=labelled,
        )
    try:
        by_intake = split_by_intake(
            dp,
            clients,
            holdout_fraction=holdout_fraction,
            validation_fraction=validation_fraction,
            labelled=labelled,
        )
    except DataContractError:
        by_intake = None
    if by_intake is not None and _close_to_targets(
        by_intake.labelled_share, holdout_fraction, validation_fraction
    ):
        return by_intake
    return split_at_random(
        dp,
        holdout_fraction=holdout_fraction,
        validation_fraction=validation_fraction,
        seed=seed,
        labelled=labelled,
    )


def _close_to_targets(shares: dict[str, float], holdout: float, validation: float) -> bool:
    wanted_validation = validation * (1.0 - holdout)
    return (
        shares["test"] >= MIN_SHARE_OF_TARGET * holdout
        and shares["validation"] >= MIN_SHARE_OF_TARGET * wanted_validation
        and shares["train"] >= MIN_SHARE_OF_TARGET * (1.0 - holdout - wanted_validation)
    )
