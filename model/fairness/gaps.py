"""Gaps between the groups of an attribute, and the headline built on them.

A gap compares a figure across the groups of one attribute: the
*difference* is the largest minus the smallest group value, the *ratio* the
smallest over the largest (Fairlearn's between-groups ``difference()`` and
``ratio()``). Gaps use published group values only, so that a hidden group
can never be worked out from a gap, and leave ``unknown`` out (missing data,
not a group of people). A gap is flagged when its difference exceeds
``max_difference`` or, for rates, its ratio falls below ``min_ratio``.

The headline asks of each attribute: would following Polku narrow or widen
the gap in expected good outcomes that historical practice left? It compares
the gap in ``v_hist`` (under what caseworkers did) with the gap in ``v_rec``
(under following the first recommendation) over the same groups, with a
cluster-bootstrap interval of the change: ``narrows`` when the whole interval
is below zero, ``widens`` when above, else ``no_clear_change``.
docs/fairness.md explains how to read both.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Final

import numpy as np
import pandas as pd

from model.fairness.metrics import REPORT_DIGITS
from model.fairness.settings import FairnessSettings
from model.fairness.text import group_label, headline_text
from model.json_values import json_number

# Figures that are shares of decision points: their ratio between groups means something.
RATE_METRICS: Final = frozenset({"base_rate", "mean_p_outcome", "v_hist", "v_rec", "override_rate"})
# Where each figure comes from, for the reader of a gap.
METRIC_SOURCE: Final = {
    "base_rate": "history",
    "v_hist": "history",
    "mean_p_outcome": "model",
    "ece": "model",
    "auc": "model",
    "v_rec": "model",
    "expected_gain": "model",
    "override_rate": "decisions",
}

# The published group values of one attribute: figure -> group -> value.
PublishedValues = Mapping[str, Mapping[str, float]]


def gap(values: Mapping[str, float | None] | pd.Series) -> tuple[float, float]:
    """Fairlearn's between-groups gaps of published group values: (difference, ratio).

    ``difference = max - min`` and ``ratio = min / max`` over the groups with
    a value, exactly as ``MetricFrame.difference(method="between_groups")``
    and ``MetricFrame.ratio(method="between_groups")`` compute them from
    ``by_group`` (tests/model/test_fairness.py checks the two agree on the same
    groups). Computed from the published values so that a hidden group can
    never be worked out from a gap. NaN with fewer than two groups; the ratio
    is NaN when the largest value is not positive or the smallest negative.
    """
    series = pd.Series(values, dtype=float).dropna()
    if len(series) < 2:
        return float("nan"), float("nan")
    low, high = float(series.min()), float(series.max())
    ratio = low / high if high > 0 and low >= 0 else float("nan")
    return high - low, ratio


def _gap_entry(values: pd.Series, metric: str, settings: FairnessSettings) -> dict[str, Any]:
    """The gap of one figure, whether it is flagged and by which bound."""
    compared = int(values.notna().sum())
    difference, ratio = gap(values)
    if metric not in RATE_METRICS:
        ratio = float("nan")
    reasons = []
    if math.isfinite(difference) and difference > settings.max_difference:
        reasons.append("difference")
    if math.isfinite(ratio) and ratio < settings.min_ratio:
        reasons.append("ratio")
    return {
        "difference": json_number(difference, REPORT_DIGITS),
        "ratio": json_number(ratio, REPORT_DIGITS),
        "groups_compared": compared,
        "flagged": bool(reasons),
        "flagged_by": reasons,
        "source": METRIC_SOURCE.get(metric),
    }


def attribute_gaps(
    comparable: Sequence[str],
    published: PublishedValues,
    metrics: Sequence[str],
    settings: FairnessSettings,
) -> dict[str, dict[str, Any]]:
    """The gap of each of `metrics` over the `comparable` groups' published values."""
    gaps: dict[str, dict[str, Any]] = {}
    for metric in metrics:
        values = pd.Series({g: published[metric].get(g) for g in comparable}, dtype=float)
        gaps[metric] = _gap_entry(values, metric, settings)
    return gaps


def gap_flags(name: str, gaps: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The flagged gaps of attribute `name`, as the report lists them."""
    return [
        {
            "attribute": name,
            "metric": metric,
            **{key: entry[key] for key in ("difference", "ratio", "source")},
            "flagged_by": entry.get("flagged_by", []),
        }
        for metric, entry in gaps.items()
        if entry["flagged"]
    ]


def headline(
    name: str,
    groups: pd.Series,
    allowed: set[str],
    published: PublishedValues,
    terms: Mapping[str, np.ndarray],
    clients: pd.Series,
    settings: FairnessSettings,
    seed: int,
) -> dict[str, Any]:
    """The headline of attribute `name`: the gap under history, under Polku, and the verdict.

    Compares the `allowed` groups that publish both ``v_hist`` and ``v_rec``;
    `groups` and `clients` give each row's group and client, `terms` the
    per-row expected outcomes for the interval.
    """
    compared = [g for g in published["v_hist"] if g in allowed and g in published["v_rec"]]
    if len(compared) < 2:
        return {
            "attribute": name,
            "verdict": "not_enough_groups",
            "groups_compared": len(compared),
            "gap_history": None,
            "gap_recommended": None,
            "change": None,
            "change_low": None,
            "change_high": None,
            "text": headline_text(name, "not_enough_groups", None, None, None, None, None, None),
        }
    hist = {g: published["v_hist"][g] for g in compared}
    rec = {g: published["v_rec"][g] for g in compared}
    gap_hist = max(hist.values()) - min(hist.values())
    gap_rec = max(rec.values()) - min(rec.values())
    change = gap_rec - gap_hist
    low, high = _gap_change_interval(groups, compared, terms, clients, settings, seed)
    if math.isfinite(high) and high < 0:
        verdict = "narrows"
    elif math.isfinite(low) and low > 0:
        verdict = "widens"
    else:
        verdict = "no_clear_change"
    lowest_hist = min(hist, key=lambda g: (hist[g], g))
    highest_hist = max(hist, key=lambda g: (hist[g], g))
    lowest_rec = min(rec, key=lambda g: (rec[g], g))
    highest_rec = max(rec, key=lambda g: (rec[g], g))
    return {
        "attribute": name,
        "verdict": verdict,
        "groups_compared": len(compared),
        "gap_history": json_number(gap_hist, REPORT_DIGITS),
        "gap_recommended": json_number(gap_rec, REPORT_DIGITS),
        "change": json_number(change, REPORT_DIGITS),
        "change_low": json_number(low, REPORT_DIGITS),
        "change_high": json_number(high, REPORT_DIGITS),
        "lowest_history": {
            "group": lowest_hist,
            "value": json_number(hist[lowest_hist], REPORT_DIGITS),
        },
        "highest_history": {
            "group": highest_hist,
            "value": json_number(hist[highest_hist], REPORT_DIGITS),
        },
        "lowest_recommended": {
            "group": lowest_rec,
            "value": json_number(rec[lowest_rec], REPORT_DIGITS),
        },
        "highest_recommended": {
            "group": highest_rec,
            "value": json_number(rec[highest_rec], REPORT_DIGITS),
        },
        "text": headline_text(
            name,
            verdict,
            gap_hist,
            gap_rec,
            low,
            high,
            group_label(name, lowest_hist),
            group_label(name, highest_hist),
        ),
    }


def _gap_change_interval(
    groups: pd.Series,
    compared: Sequence[str],
    terms: Mapping[str, np.ndarray],
    clients: pd.Series,
    settings: FairnessSettings,
    seed: int,
) -> tuple[float, float]:
    """Cluster-bootstrap interval of (gap under recommendations - gap under history).

    Whole clients are resampled; in each replicate the group means of
    ``v_hist`` and ``v_rec`` are recomputed and each gap is the largest minus
    the smallest group mean (the same groups as the point estimate). The
    replicates are drawn in blocks, as weights per client, to bound memory.
    """
    if settings.n_boot == 0:
        return float("nan"), float("nan")
    keep = (
        groups.isin(compared).to_numpy()
        & np.isfinite(terms["v_hist"])
        & np.isfinite(terms["v_rec"])
    )
    codes, uniques = pd.factorize(clients[keep].to_numpy(dtype=object))
    group_of_row = pd.Categorical(
        groups[keep].to_numpy(dtype=object), categories=list(compared)
    ).codes
    n_clients, n_groups = len(uniques), len(compared)
    # Per client: its group and sums (every client is in one group).
    client_group = np.zeros(n_clients, dtype=np.intp)
    client_group[codes] = group_of_row
    sums_hist = np.bincount(codes, weights=terms["v_hist"][keep], minlength=n_clients)
    sums_rec = np.bincount(codes, weights=terms["v_rec"][keep], minlength=n_clients)
    counts = np.bincount(codes, minlength=n_clients).astype(float)
    onehot = np.zeros((n_clients, n_groups))
    onehot[np.arange(n_clients), client_group] = 1.0
    rng = np.random.default_rng(seed)
    changes = np.empty(settings.n_boot)
    block = max(1, 2_000_000 // max(n_clients, 1))
    for start in range(0, settings.n_boot, block):
        stop = min(start + block, settings.n_boot)
        draws = rng.integers(0, n_clients, size=(stop - start, n_clients))
        weights = np.stack([np.bincount(d, minlength=n_clients) for d in draws]).astype(float)
        rows_per_group = weights @ (onehot * counts[:, None])
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_hist = (weights @ (onehot * sums_hist[:, None])) / rows_per_group
            mean_rec = (weights @ (onehot * sums_rec[:, None])) / rows_per_group
        gap_hist = np.nanmax(mean_hist, axis=1) - np.nanmin(mean_hist, axis=1)
        gap_rec = np.nanmax(mean_rec, axis=1) - np.nanmin(mean_rec, axis=1)
        changes[start:stop] = gap_rec - gap_hist
    low, high = np.quantile(changes, [settings.alpha / 2, 1 - settings.alpha / 2])
    return float(low), float(high)
