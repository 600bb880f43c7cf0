"""Which decision points may train which model (see `training.pipeline`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from model.decision_points.actions import SOURCE_INFERRED, SOURCE_UNKNOWN
from model.decision_points.points import DecisionPoints
from model.vocab import REVIEW, UNKNOWN
from training.router_figures import action_indices

# Plans count as recorded when at least this share of review rows has one.
MIN_PLANNED_SHARE: Final = 0.05


def planned_share(episodes: pd.DataFrame) -> float:
    """Share of review rows whose agreed service is recorded (`planned_service`)."""
    reviews = episodes["service"].astype(object).to_numpy() == REVIEW
    if not reviews.any() or "planned_service" not in episodes.columns:
        return 0.0
    planned = episodes["planned_service"].astype(object).to_numpy()[reviews]
    recorded = np.fromiter(
        (isinstance(v, str) and v.strip() not in ("", UNKNOWN) for v in planned),
        dtype=bool,
        count=len(planned),
    )
    return float(recorded.mean())


@dataclass(frozen=True)
class TrainingRows:
    """Which decision points may train which model (masks over `dp.frame`, before the split)."""

    outcome: np.ndarray
    propensity: np.ndarray
    planned_share: float
    drop_inferred: bool
    n_inferred_dropped: int
    # Reviews whose action is unknown because an outcome came within the
    # review window, and the inferred no_new_service reviews they sit beside.
    n_cut_short: int = 0
    n_inferred: int = 0

    def note(self) -> str:
        """One sentence for logs and the model card."""
        if self.drop_inferred:
            return (
                f"{self.n_inferred_dropped} inferred no_new_service reviews were left out of the "
                f"outcome models' training rows (plans are recorded at {self.planned_share:.0%} of "
                "reviews; inferred ones miss the reviews an outcome cut short, so they understate "
                "success); the propensity model keeps them"
            )
        note = (
            f"inferred no_new_service reviews were kept: plans are recorded at only "
            f"{self.planned_share:.0%} of reviews (below {MIN_PLANNED_SHARE:.0%})"
        )
        if self.n_cut_short and self.n_inferred:
            # The inferred reviews are counted from their window's end, among
            # clients still looking then, as a service is from its start; what
            # the cut-short clients would have had stays unknown.
            note += (
                f". Note: {self.n_cut_short} reviews have an unknown action because work or "
                f"education began within the review window (beside {self.n_inferred} inferred "
                "no_new_service reviews, whose outcome is counted from the window's end). Record "
                "the agreed service (or a trial's arm) as planned_service on review rows so that "
                "no decision is lost"
            )
        return note


def training_rows(
    dp: DecisionPoints, *, planned_share: float, min_planned_share: float = MIN_PLANNED_SHARE
) -> TrainingRows:
    """Rows for the outcome learners and for the propensity model (see the module docstring)."""
    frame = dp.frame
    in_catalogue = frame["action_known"].to_numpy(dtype=bool) & (
        action_indices(dp.frame, dp.actions) >= 0
    )
    censored = frame["censored"].to_numpy(dtype=bool)
    complete = in_catalogue & ~censored
    drop = planned_share >= min_planned_share
    source = frame["action_source"].astype(object).to_numpy()
    inferred = source == SOURCE_INFERRED
    outcome = complete & ~inferred if drop else complete
    n_inferred = int((complete & inferred).sum())
    # Unknown reviews whose window is complete were cut short by an outcome
    # (the others ran past the extract date).
    cut_short = (source == SOURCE_UNKNOWN) & ~censored & frame["label"].eq(1.0).to_numpy()
    return TrainingRows(
        outcome=outcome,
        propensity=in_catalogue,
        planned_share=planned_share,
        drop_inferred=drop,
        n_inferred_dropped=n_inferred if drop else 0,
        n_cut_short=int(cut_short.sum()),
        n_inferred=n_inferred,
    )
