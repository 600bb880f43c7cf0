"""A second registered model for the tests that move aliases.

The session's champion (tests/conftest.py) stays where it is; these versions
of `RELOAD_MODEL` are the ones tests point aliases at.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tests.support.trained_model import MlflowStore, TrainedModel

RELOAD_MODEL = "polku-router-api-test"


@dataclass(frozen=True)
class ReloadVersions:
    """Versions of `RELOAD_MODEL`: good (no fairness report), failing its golden cases, unloadable."""

    name: str
    good: str
    golden_fails: str
    broken: str

    def point(self, alias: str, version: str) -> None:
        from training.registry.versions import promote

        promote(version, alias=alias, name=self.name)


def register_reload_versions(trained_model: TrainedModel, store: MlflowStore) -> ReloadVersions:
    """Log the three versions of `RELOAD_MODEL` from the session's training result."""
    from mlflow import MlflowClient

    from model.golden import GOLDEN_CASES, METADATA_KEY
    from model.router import Router
    from training.registry.runs import log_training

    result = trained_model.result

    def fresh(**changes: Any) -> Any:
        # log_training writes into the result's figures and card; never into the session's
        changes.setdefault("test", copy.deepcopy(result.test))
        changes.setdefault("model_card", copy.deepcopy(result.model_card))
        changes.setdefault("fairness_report", None)
        return replace(result, **changes)

    good = log_training(fresh(), name=RELOAD_MODEL).version
    wrong = Router.from_dict(copy.deepcopy(result.router.to_dict()))
    wrong.metadata[METADATA_KEY] = {case.name: "pay_subsidy" for case in GOLDEN_CASES}
    golden_fails = log_training(fresh(router=wrong), name=RELOAD_MODEL).version
    broken = log_training(fresh(), name=RELOAD_MODEL).version
    client = MlflowClient(tracking_uri=store.uri)
    model_id = str(client.get_model_version(RELOAD_MODEL, broken).source).removeprefix("models:/")
    location = Path(client.get_logged_model(model_id).artifact_location.removeprefix("file://"))
    removed = list(location.rglob("router.json"))
    assert removed, "the version has no router to remove"
    for path in removed:
        path.unlink()
    return ReloadVersions(RELOAD_MODEL, good=good, golden_fails=golden_fails, broken=broken)
