"""Synthetic decisions with matured outcomes, as `model.followup.matured_outcomes` returns them.

Caseworkers follow the first suggestion more often for clients with a high
`p_recommended`, and following adds `effect` to the chance of a good
outcome, so the adjusted and observed differences can be told apart.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def synthetic_rows(
    n: int = 4000,
    *,
    seed: int = 0,
    effect: float = 0.1,
    shift: float = 0.0,
    miscalibration: float = 0.0,
    units: tuple[str, ...] = ("east", "west", "north"),
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rows, reference): `n` decisions, and training features to compare them with."""
    rng = np.random.default_rng(seed)
    age = rng.normal(35 + shift * 10, 9, n)
    language = rng.choice(["ar", "ru", "so", "en"], n, p=[0.3, 0.3, 0.2, 0.2])
    p_rec = np.clip(rng.beta(2, 5, n), 0.02, 0.95)
    follow_chance = np.clip(0.35 + 0.8 * p_rec, 0.05, 0.95)
    followed = rng.random(n) < follow_chance
    truth = np.clip(p_rec * 0.8 + effect * followed, 0, 1)
    outcome = (rng.random(n) < truth).astype(float)
    p_chosen = np.clip(truth - miscalibration, 0.01, 0.99)
    created = pd.Timestamp("2025-01-01", tz="UTC") + pd.to_timedelta(
        np.sort(rng.integers(0, 180, n)), unit="D"
    )
    matured = rng.random(n) < 0.85
    rows = pd.DataFrame(
        {
            "client_id": [f"c{i // 2}" for i in range(n)],
            "as_of": (created.tz_localize(None) - pd.Timedelta(days=400)).to_numpy(),
            "created_at": created,
            "unit": rng.choice(list(units), n),
            "model_version": "3",
            "chosen_service": np.where(followed, "a", "b"),
            "recommended_service": "a",
            "followed": followed,
            "reason_code": np.where(
                followed, None, rng.choice(["waiting_time", "client_preference"], n)
            ),
            "p_recommended": p_rec,
            "p_chosen": p_chosen,
            "in_data": True,
            "matured": matured,
            "outcome": np.where(matured, outcome, np.nan),
        }
    )
    rows["features"] = [
        {"age": float(a), "mother_tongue": str(m)} for a, m in zip(age, language, strict=True)
    ]
    reference = pd.DataFrame(
        {
            "age": rng.normal(35, 9, 3 * n),
            "mother_tongue": rng.choice(["ar", "ru", "so", "en"], 3 * n, p=[0.3, 0.3, 0.2, 0.2]),
        }
    )
    return rows, reference
