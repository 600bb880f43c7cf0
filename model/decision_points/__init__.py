"""Decision points: the (client, date) moments at which a caseworker routed a client.

Pure pandas/numpy. `build_decision_points` derives the historical decision
points from the three input tables with their actions, labels, censoring,
features and eligibility; `features_at` computes the features of any
(client_id, decision_date) points as known on each date. docs/data.md
(section 6) describes the rules for the people who export the data. One
module per concept:

- `points`: the result, `DecisionPoints`, and the names of its columns;
- `actions`: which moments are decisions, and the action of each;
- `labels`: the label of a decision and its censoring;
- `features`: the features of a point, using only what was known before it;
- `build`: `build_decision_points`, which puts these together;
- `histories`: the three tables as numpy arrays keyed by a client code;
- `events`: event lists sorted by (client, day) and searched for many points;
- `conversions`: dates as day numbers, categories as clean strings.

The names below are the package's public interface; code inside the package
imports from the modules.
"""

from model.decision_points.actions import (
    ACTION_SOURCES,
    SOURCE_INFERRED,
    SOURCE_PLANNED,
    SOURCE_SERVICE_START,
    SOURCE_UNKNOWN,
)
from model.decision_points.build import build_decision_points
from model.decision_points.features import features_at
from model.decision_points.points import ID_COLUMNS, DecisionPoints, eligible_column

__all__ = [
    "ACTION_SOURCES",
    "ID_COLUMNS",
    "SOURCE_INFERRED",
    "SOURCE_PLANNED",
    "SOURCE_SERVICE_START",
    "SOURCE_UNKNOWN",
    "DecisionPoints",
    "build_decision_points",
    "eligible_column",
    "features_at",
]
