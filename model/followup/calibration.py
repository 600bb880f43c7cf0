"""Whether `p_outcome` matched the outcomes that arrived, on matured decisions.

The prediction checked is the `p_outcome` Polku gave for the service the
caseworker chose (a decision whose chosen service was not scored is left
out). Decisions are put into ten equal-width bins of the prediction;
neighbouring bins are combined, from the lowest up, until each holds at
least k clients and its good and other outcomes each come from 0 or at
least k clients, so no bin is hidden and none protects another. Each bin
shows its mean prediction and observed rate with a Wilson interval.
ECE is the decision-weighted mean distance between the two over the bins.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from model.fairness.intervals import wilson_interval
from model.json_values import json_number

DIGITS = 6
BINS = 10


def _publishable(clients: pd.Series, y: np.ndarray, member: np.ndarray, k: int) -> bool:
    people = clients[member].nunique()
    good = clients[member & (y == 1)].nunique()
    other = clients[member & (y == 0)].nunique()
    return people >= k and all(v == 0 or v >= k for v in (good, other))


def calibration(rows: pd.DataFrame, *, k: int, alpha: float = 0.05) -> dict[str, Any]:
    """Calibration of the chosen service's p_outcome on matured decisions (`outcome` 0/1)."""
    scored = rows[np.isfinite(rows["p_chosen"].to_numpy(dtype=float))]
    p = scored["p_chosen"].to_numpy(dtype=float)
    y = scored["outcome"].to_numpy(dtype=float)
    clients = scored["client_id"].astype(str).reset_index(drop=True)
    out: dict[str, Any] = {"decisions": len(p), "bins": [], "ece": None}
    if not len(p) or not _publishable(clients, y, np.ones(len(p), bool), k):
        out["decisions"] = None if len(p) and clients.nunique() < k else len(p)
        return out
    index = np.minimum((p * BINS).astype(int), BINS - 1)
    groups: list[list[int]] = []
    current: list[int] = []
    for b in range(BINS):
        current.append(b)
        if _publishable(clients, y, np.isin(index, current), k):
            groups.append(current)
            current = []
    if current:  # the top bins, too few on their own, join the last group
        if groups:
            groups[-1] += current
        else:
            groups.append(current)
    ece = 0.0
    for bins in groups:
        member = np.isin(index, bins)
        n = int(member.sum())
        if n == 0:
            continue
        predicted, observed = float(p[member].mean()), float(y[member].mean())
        low, high = wilson_interval(int(y[member].sum()), n, alpha)
        ece += n / len(p) * abs(observed - predicted)
        out["bins"].append(
            {
                "from": bins[0] / BINS,
                "to": (bins[-1] + 1) / BINS,
                "decisions": n,
                "mean_predicted": json_number(predicted, DIGITS),
                "observed": json_number(observed, DIGITS),
                "observed_low": json_number(low, DIGITS),
                "observed_high": json_number(high, DIGITS),
            }
        )
    low, high = wilson_interval(int(y.sum()), len(y), alpha)
    out.update(
        ece=json_number(ece, DIGITS),
        mean_predicted=json_number(float(p.mean()), DIGITS),
        observed=json_number(float(y.mean()), DIGITS),
        observed_low=json_number(low, DIGITS),
        observed_high=json_number(high, DIGITS),
    )
    return out
