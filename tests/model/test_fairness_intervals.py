"""95 % intervals of the fairness report: the formulas against published worked
examples, and every published group rate and gap carrying one."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from model.fairness.intervals import (
    difference_interval,
    mean_interval,
    newcombe_difference,
    wilson_interval,
)
from model.fairness.report import fairness_report
from model.fairness.settings import FairnessSettings

ACTIONS = ("a", "b", "no_new_service")


def test_wilson_interval_matches_newcombes_worked_example() -> None:
    # Newcombe (1998), Statistics in Medicine 17:857, example 81/263: 0.2553 to 0.3662.
    low, high = wilson_interval(81, 263)
    assert low == pytest.approx(0.2553, abs=5e-4)
    assert high == pytest.approx(0.3662, abs=5e-4)
    # never outside 0..1, even at the edges where the normal approximation fails
    assert wilson_interval(0, 10)[0] == 0.0
    assert wilson_interval(10, 10)[1] == pytest.approx(1.0)
    assert 0 < wilson_interval(0, 10)[1] < 0.35


def test_newcombe_difference_matches_the_worked_example() -> None:
    # Newcombe (1998), Statistics in Medicine 17:873, method 10, 56/70 − 48/80: 0.0524 to 0.3339.
    low, high = newcombe_difference(56, 70, 48, 80)
    assert low == pytest.approx(0.0524, abs=5e-4)
    assert high == pytest.approx(0.3339, abs=5e-4)


def test_bootstrap_intervals_cover_the_mean_and_resample_clients() -> None:
    rng = np.random.default_rng(1)
    clients = np.repeat(np.arange(300), 3).astype(object)
    values = np.repeat(rng.random(300) < 0.4, 3).astype(float)  # identical within a client
    low, high = mean_interval(values, clients, n_boot=400, seed=0, alpha=0.05)
    assert low < values.mean() < high
    # rows of one client move together: the interval is as wide as for 300 rows, not 900
    single = mean_interval(values[::3], clients[::3], n_boot=400, seed=0, alpha=0.05)
    assert high - low == pytest.approx(single[1] - single[0], rel=0.25)
    first = np.arange(900) < 450
    d_low, d_high = difference_interval(
        values, clients, first, ~first, n_boot=400, seed=0, alpha=0.05
    )
    observed = values[first].mean() - values[~first].mean()
    assert d_low < observed < d_high


def _data(n_clients: int = 400, seed: int = 2) -> dict[str, Any]:
    import pandas as pd

    rng = np.random.default_rng(seed)
    client = np.repeat(np.arange(n_clients), 2)
    n = len(client)
    rows = pd.DataFrame(
        {
            "client_id": [f"c{c}" for c in client],
            "gender": rng.choice(["female", "male"], n_clients)[client],
            "residence_basis": rng.choice(["work", "family"], n_clients)[client],
        }
    )
    truth = rng.uniform(0.1, 0.6, (n, len(ACTIONS)))
    taken = rng.integers(0, len(ACTIONS), n)
    rows["label"] = (rng.random(n) < truth[np.arange(n), taken]).astype(float)
    return {
        "rows": rows,
        "taken": taken,
        "recommended": rng.integers(0, len(ACTIONS), n),
        "p": np.clip(truth + rng.normal(0, 0.05, truth.shape), 0.01, 0.99),
        "propensity": rng.dirichlet(np.ones(len(ACTIONS)), n),
        "truth": truth,
    }


def test_every_published_group_rate_and_gap_has_an_interval() -> None:
    data = _data()
    decisions = (
        data["rows"]
        .drop_duplicates("client_id")
        .assign(chosen_service="a", overridden=lambda f: np.arange(len(f)) % 4 == 0)
    )
    report = fairness_report(
        actions=ACTIONS,
        settings=FairnessSettings(n_boot=100),
        decisions=decisions,
        **data,
    )
    section = next(a for a in report["attributes"] if a["name"] == "gender")
    for group in section["groups"]:
        for metric in ("base_rate", "mean_p_outcome", "v_hist", "v_rec", "override_rate"):
            value = group[metric]
            assert value is not None
            assert group[f"{metric}_low"] <= value <= group[f"{metric}_high"], (metric, group)
    for metric, gap in section["gaps"].items():
        if metric in ("auc", "ece"):
            continue
        assert gap["difference_low"] is not None, metric
        assert gap["difference_low"] <= gap["difference"] <= gap["difference_high"], metric
        assert len(gap["between"]) == 2
