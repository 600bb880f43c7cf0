"""Polku's model as an MLflow pyfunc: a `Router` saved as JSON behind `PythonModel`.

The pyfunc is logged as code ("models from code"), not as a pickle: loading
it runs `MODEL_CODE`, which needs Polku installed in the loading environment.
Any Python process can `mlflow.pyfunc.load_model("models:/polku-router@champion")`
and `predict` a frame of decision-point features (see
`training.batch.score_frame`); the API loads the native router instead
(`training.registry.served`).
"""

from __future__ import annotations

from importlib import metadata as importlib_metadata
from typing import Any, Final

import mlflow.pyfunc
import numpy as np
import pandas as pd
from mlflow.models import ModelSignature, infer_signature
from mlflow.types.schema import ColSpec, Schema

from model.decision_points.points import DecisionPoints
from model.router import Router
from training.batch import score_frame
from training.registry.store import MODEL_ARTIFACT

MODEL_CODE_FILE: Final = "polku_model.py"
# What the pyfunc needs at load time; pinned to what trained it. Passing them
# explicitly also spares log_model its slow dependency inference.
RUNTIME_PACKAGES: Final = (
    "mlflow",
    "lightgbm",
    "numpy",
    "pandas",
    "scipy",
    "pydantic",
    "pyarrow",
)

MODEL_CODE: Final = '''"""Polku's served model, written by training.registry: a Router behind MLflow's pyfunc."""

import mlflow

from training.registry.pyfunc import PolkuRouterModel

mlflow.models.set_model(PolkuRouterModel())
'''


class PolkuRouterModel(mlflow.pyfunc.PythonModel):  # type: ignore[name-defined]
    """The served model as an MLflow pyfunc: a `Router` saved as JSON in its artifacts.

    `predict` takes decision-point features (columns named as in
    `model.features`) and returns one row per input row: the recommended
    service and, per action, `p_`, `low_`, `high_`, `uplift_`, `eligible_`
    and `thin_support_` columns (see `training.batch.score_frame`).
    """

    def load_context(self, context: Any) -> None:
        self.router = Router.load(context.artifacts[MODEL_ARTIFACT])

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        # MLflow derives no schema from a DataFrame hint: the logged signature rules.
        frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        return score_frame(self.router, frame.reset_index(drop=True))


def example_features(dp: DecisionPoints, rows: np.ndarray) -> pd.DataFrame:
    """Two made-up decision points in the shape of the training features.

    Drawn from the training rows' distributions column by column (medians and
    most common values, then upper quartiles and second most common values),
    so the example that is stored with the model describes no real client.
    Categorical columns are plain Python strings (never pandas `category`,
    which MLflow's schema enforcement refuses).
    """
    frame = dp.frame.loc[rows] if rows.any() else dp.frame
    out: dict[str, list[Any]] = {}
    for feature in dp.features:
        values = frame[feature.name]
        if feature.kind == "categorical":
            common = values.astype(object).value_counts(dropna=True).index.tolist() or ["unknown"]
            out[feature.name] = [str(common[0]), str(common[min(1, len(common) - 1)])]
        else:
            numbers = pd.to_numeric(values, errors="coerce").dropna()
            if numbers.empty:
                out[feature.name] = [0.0, 0.0]
            elif feature.kind == "boolean":
                out[feature.name] = [float(numbers.round().mode().iloc[0]), 1.0]
            else:
                out[feature.name] = [float(numbers.median()), float(numbers.quantile(0.75))]
    example = pd.DataFrame(out)
    for feature in dp.features:
        if feature.kind == "categorical":
            example[feature.name] = example[feature.name].astype(object)
    return example


def model_signature(router: Router, example: pd.DataFrame) -> ModelSignature:
    """The pyfunc's signature, inferred from `example` and the router's own output.

    Columns the model neither encodes nor reads in an eligibility rule (the
    protected attributes, kept for the fairness audit) are optional inputs.
    """
    inferred = infer_signature(example, score_frame(router, example))
    needed = set(router.encoder.columns_)
    for service in router.catalogue.services:
        needed |= set(service.eligibility.features)
    assert inferred.inputs is not None
    inputs = Schema(
        [
            ColSpec(spec.type, spec.name, required=spec.name in needed)
            for spec in inferred.inputs.inputs
        ]
    )
    return ModelSignature(inputs=inputs, outputs=inferred.outputs)


def requirements() -> list[str]:
    out = []
    for package in RUNTIME_PACKAGES:
        try:
            out.append(f"{package}=={importlib_metadata.version(package)}")
        except importlib_metadata.PackageNotFoundError:  # pragma: no cover
            out.append(package)
    return out
