"""Versions of a model of their own for the tests of `polku compare` and `polku promote`.

They are logged from the session's training result (tests/conftest.py), so
they carry its data folder and split: `same` is the session's router again,
`worse` the same router told to recommend no_new_service wherever it can
(every other action's chance pushed to the floor), which on the tiny world
gives up most of the value of the services.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from typing import Any

from tests.support.trained_model import TrainedModel


@dataclass(frozen=True)
class ComparedVersions:
    name: str
    champion: str
    same: str
    worse: str


def register_compared_versions(trained_model: TrainedModel, name: str) -> ComparedVersions:
    """Log three versions of `name` (champion, same, worse) and point `champion` at the first."""
    import numpy as np

    from model.router import Router
    from model.vocab import NO_NEW_SERVICE
    from training.registry.runs import log_training
    from training.registry.versions import promote

    result = trained_model.result

    def fresh(**changes: Any) -> Any:
        # log_training writes into the result's figures and card; never into the session's
        changes.setdefault("test", copy.deepcopy(result.test))
        changes.setdefault("model_card", copy.deepcopy(result.model_card))
        changes.setdefault("fairness_report", None)
        return replace(result, **changes)

    champion = log_training(fresh(), name=name).version
    same = log_training(fresh(), name=name).version
    worse_router = Router.from_dict(copy.deepcopy(result.router.to_dict()))
    adjustment = np.ones(len(worse_router.actions))
    adjustment[worse_router.actions.index(NO_NEW_SERVICE)] = 0.0
    worse_router.adjustment_from(adjustment)
    worse = log_training(fresh(router=worse_router), name=name).version
    promote(champion, name=name)
    return ComparedVersions(name=name, champion=champion, same=same, worse=worse)
