"""What a drawn world turned out to be, measured on its history and truth.

The spec says what was drawn; these figures say what it did, so that a
benchmark can report results per kind of world: how many clients reach work
or education within a year, which action the truth finds best and how
often, each action's mean true effect against "no new service", and
whether hidden readiness selects clients into services that do little.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from model.vocab import NO_NEW_SERVICE
from training.simulator.random_world.spec import WorldSpec

if TYPE_CHECKING:
    from training.simulator.history import History
    from training.simulator.params import WorldParams

SUCCESS = ("employed", "education")
# A target of selection counts as weak when its mean true effect is below this.
WEAK_EFFECT = 0.01


def success_within_year(history: History, params: WorldParams) -> float:
    """Share of clients with a year of follow-up who find work or education within it."""
    clients = history.clients
    outcomes = history.outcomes
    intake = pd.to_datetime(clients["intake_date"])
    followed = intake + pd.Timedelta(days=365) <= pd.Timestamp(params.extract_date)
    first = outcomes.loc[outcomes["status"].isin(SUCCESS)].groupby("client_id")["start_date"].min()
    start = pd.to_datetime(clients["client_id"].map(first))
    within = (start - intake).dt.days <= 365
    return float(within[followed].mean()) if followed.any() else float("nan")


def design_summary(history: History, params: WorldParams, spec: WorldSpec) -> dict[str, Any]:
    truth = history.truth
    actions = [column for column in truth.columns if f"eligible_{column}" in truth.columns]
    values = truth[actions].to_numpy(dtype=np.float64)
    eligible = truth[[f"eligible_{action}" for action in actions]].to_numpy(dtype=bool)
    best = np.argmax(np.where(eligible, values, -np.inf), axis=1)
    shares = np.bincount(best, minlength=len(actions)) / max(len(truth), 1)
    baseline = truth[NO_NEW_SERVICE].to_numpy(dtype=np.float64)
    effect = {
        action: float(np.nanmean(values[eligible[:, j], j] - baseline[eligible[:, j]]))
        for j, action in enumerate(actions)
        if action != NO_NEW_SERVICE and eligible[:, j].any()
    }
    # The strength the world was run with: the drawn one unless `polku simulate` overrode it.
    strength = params.motivation_selection
    weak = sorted(
        code
        for code, weight in spec.selection.items()
        if code != NO_NEW_SERVICE and weight * strength > 0 and effect.get(code, 0.0) < WEAK_EFFECT
    )
    units = spec.units
    return {
        "services": len(spec.services),
        "success_within_year": success_within_year(history, params),
        "best_action_shares": {
            action: round(float(share), 4) for action, share in zip(actions, shares, strict=True)
        },
        "mean_effect_vs_no_new_service": {code: round(value, 4) for code, value in effect.items()},
        "hidden_selection": strength,
        "hidden_selection_targets": {
            code: weight for code, weight in spec.selection.items() if code != NO_NEW_SERVICE
        },
        "selected_into_weak": weak,
        "units": None
        if units is None
        else {"column": units.column, "count": len(units.names), "valid": units.valid},
        "planned_service_recorded": params.planned_service_recorded,
        "cohorts": spec.cohort_kind,
        "extra_columns": {column.name: column.role for column in spec.extras},
    }
