"""The decision-point frame: `DecisionPoints` and the names of its columns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final

import numpy as np
import pandas as pd

from model.features import Feature

# Values of the `kind` column.
SERVICE_START: Final = "service_start"
REVIEW_KIND: Final = "review"

# Columns of the decision-point frame before the features, in order.
ID_COLUMNS: Final = (
    "dp_id",
    "client_id",
    "decision_date",
    "kind",
    "action",
    "action_known",
    "action_source",
    "label",
    "censored",
)


def eligible_column(action: str) -> str:
    """Name of the frame column saying whether `action` was eligible at the point."""
    return f"eligible_{action}"


@dataclass(frozen=True)
class DecisionPoints:
    """Historical decision points with their actions, labels, features and eligibility.

    `frame` has the columns `ID_COLUMNS`, then every feature of `features` in
    order, then `eligible_<action>` for every action of the catalogue. One row
    per decision point, sorted by client_id, decision_date, kind (service
    starts first), action (known actions first, alphabetically); rows still
    tied are identical except for dp_id.
    """

    frame: pd.DataFrame
    features: tuple[Feature, ...]
    actions: tuple[str, ...]
    extract_date: date | None
    protected_attributes: tuple[str, ...] = ()

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(feature.name for feature in self.features)

    @property
    def model_feature_names(self) -> tuple[str, ...]:
        """Features a learner may use: all but the protected attributes (fairness audit only)."""
        protected = set(self.protected_attributes)
        return tuple(feature.name for feature in self.features if feature.name not in protected)

    @property
    def eligibility_columns(self) -> tuple[str, ...]:
        return tuple(eligible_column(action) for action in self.actions)

    def eligibility(self) -> np.ndarray:
        """(n_points, n_actions) boolean matrix in catalogue action order."""
        return self.frame[list(self.eligibility_columns)].to_numpy(dtype=bool)

    def labelled(self) -> pd.DataFrame:
        """Training rows of the outcome models: action known and label not censored."""
        known = self.frame["action_known"].to_numpy(dtype=bool)
        censored = self.frame["censored"].to_numpy(dtype=bool)
        return self.frame.loc[known & ~censored]

    def __len__(self) -> int:
        return len(self.frame)
