"""The outcome learners by kind: the names a run configuration chooses from, and stored learners."""

from __future__ import annotations

from typing import Any

from model.learners.dr_learner import DRLearner
from model.learners.outcome import OutcomeLearner
from model.learners.s_learner import SLearner

LEARNERS: dict[str, type[OutcomeLearner]] = {"s_learner": SLearner, "dr_learner": DRLearner}


def learner_from_dict(data: dict[str, Any]) -> OutcomeLearner:
    kind = data["kind"]
    if kind == "s_learner":
        return SLearner.from_dict(data)
    if kind == "dr_learner":
        return DRLearner.from_dict(data)
    raise ValueError(f"unknown learner kind {kind!r}")
