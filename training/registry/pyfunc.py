"""Polku's model as an MLflow pyfunc: a `Router` saved as JSON behind `PythonModel`.

The pyfunc is logged as code ("models from code"), not as a pickle: loading
it runs `MODEL_CODE`, which imports `training.registry.pyfunc`. Any Python
process can `mlflow.pyfunc.load_model("models:/polku-router@champion")` and
`predict` either of two forms of input:

- recommendation requests, one per row, as `POST /v1/recommendations` takes
  them (columns `client`, `episodes`, `outcomes` as JSON text or parsed
  values, `as_of`, `k`, `language`): one answer per row, as the API gives it
  (`model.requests`);
- decision-point features, one row per decision point (batch scoring, see
  `training.batch.score_frame`).

The API loads the native router instead (`training.registry.served`).
"""

from __future__ import annotations

import importlib
import shutil
from datetime import datetime
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

import mlflow.pyfunc
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE
from mlflow.types.schema import AnyType, ColSpec, Schema

from model.decision_points.points import DecisionPoints
from model.errors import PolkuError
from model.requests import answer, parse_request
from model.router import Router
from model.vocab import EDUCATION_LEVELS, GENDERS, RESIDENCE_BASES, UNKNOWN
from training.batch import score_frame
from training.registry.store import MODEL_ARTIFACT

HELSINKI: Final = ZoneInfo("Europe/Helsinki")
# The columns of the request form (one recommendation request per row).
REQUEST_COLUMNS: Final = ("client", "episodes", "outcomes", "as_of", "k", "language")
ANSWER_COLUMNS: Final = ("as_of", "recommendations", "reference", "not_eligible")

MODEL_CODE_FILE: Final = "polku_model.py"
# What the pyfunc imports at load time beside Polku's own code (which travels
# with the model, see `code_packages`), pinned to what trained it. Passing
# them explicitly also spares log_model its slow dependency inference.
RUNTIME_PACKAGES: Final = (
    "mlflow",
    "lightgbm",
    "numpy",
    "pandas",
    "scipy",
    "scikit-learn",
    "pydantic",
    "pyarrow",
    "babel",
)
# Polku's packages the model imports, logged with it as `code_paths`: an
# environment built from the model's requirements alone loads and serves it.
CODE_PACKAGES: Final = ("model", "training")

MODEL_CODE: Final = '''"""Polku's served model, written by training.registry: a Router behind MLflow's pyfunc."""

import mlflow

from training.registry.pyfunc import PolkuRouterModel

mlflow.models.set_model(PolkuRouterModel())
'''


class PolkuRouterModel(mlflow.pyfunc.PythonModel):  # type: ignore[name-defined]
    """The served model as an MLflow pyfunc: a `Router` saved as JSON in its artifacts.

    `predict` takes recommendation requests (a `client` column) and returns
    one row per request: `as_of`, `recommendations`, `reference`,
    `not_eligible`, as the API's answer holds them. Given decision-point
    features instead (columns named as in `model.features`), it returns one
    row per decision point: the recommended service and, per action, `p_`,
    `low_`, `high_`, `uplift_`, `eligible_` and `thin_support_` columns.
    """

    def load_context(self, context: Any) -> None:
        self.router = Router.load(context.artifacts[MODEL_ARTIFACT])

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        frame = frame.reset_index(drop=True)
        if "client" in frame.columns:
            return answer_requests(self.router, frame)
        missing = sorted(needed_features(self.router) - set(frame.columns))
        if missing:
            raise MlflowException(
                "give a 'client' column (recommendation requests) or decision-point "
                f"features; missing features: {', '.join(missing)}",
                INVALID_PARAMETER_VALUE,
            )
        return score_frame(self.router, frame)


def answer_requests(router: Router, frame: pd.DataFrame) -> pd.DataFrame:
    """One answer per request row, as the API answers it (without request id and model).

    Raises `MlflowException` (a bad request for MLflow's scoring server) naming
    the row and field of the first bad request; nothing is answered then.
    """
    today = datetime.now(HELSINKI).date()
    present = [c for c in REQUEST_COLUMNS if c in frame.columns]
    answers = []
    for i, row in enumerate(frame[present].to_dict(orient="records")):
        try:
            answers.append(answer(router, parse_request(row, today=today)))
        except PolkuError as exc:
            raise MlflowException(f"request row {i}: {exc}", INVALID_PARAMETER_VALUE) from None
    return pd.DataFrame(answers, columns=list(ANSWER_COLUMNS))


def needed_features(router: Router) -> set[str]:
    """The features the router encodes or reads in an eligibility rule (not the protected ones)."""
    needed = set(router.encoder.columns_)
    for service in router.catalogue.services:
        needed |= set(service.eligibility.features)
    return needed


def example_request() -> pd.DataFrame:
    """A made-up request (no real client) in the request form: the model's input example."""
    client = {
        "client_id": "example-0001",
        "intake_date": "2023-03-01",
        "arrival_date": "2023-01-15",
        "birth_year": 1990,
        "gender": GENDERS[0],
        "mother_tongue": UNKNOWN,
        "citizenship_region": UNKNOWN,
        "residence_basis": RESIDENCE_BASES[0],
        "education_level": EDUCATION_LEVELS[0],
        "prior_work_years": 1.0,
        "literacy_needs": False,
        "finnish_level": "A1",
    }
    outcomes = [{"status": "unemployed", "start_date": "2023-03-01", "end_date": None}]
    return pd.DataFrame(
        [
            {
                "client": client,
                "episodes": [],
                "outcomes": outcomes,
                "as_of": "2023-05-02",
                "k": 3,
                "language": "en",
            }
        ]
    )


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


def model_signature(example: pd.DataFrame) -> ModelSignature:
    """The pyfunc's input signature: both forms, every column optional.

    The request form's `client`, `episodes` and `outcomes` take JSON text or
    parsed values (MLflow's `AnyType`). The feature form's columns are typed
    as `example` (made-up features) has them; which of them a row needs is
    checked by `predict`, since MLflow's schema cannot say "one form or the
    other". The answers are described in docs/mlflow.md (no output schema:
    the request form's answers are nested).
    """
    from mlflow.models import infer_signature

    features = infer_signature(example).inputs
    assert features is not None
    request = [
        ColSpec(AnyType(), "client", required=False),
        ColSpec(AnyType(), "episodes", required=False),
        ColSpec(AnyType(), "outcomes", required=False),
        ColSpec("string", "as_of", required=False),
        ColSpec("long", "k", required=False),
        ColSpec("string", "language", required=False),
    ]
    feature_specs = [ColSpec(spec.type, spec.name, required=False) for spec in features.inputs]
    return ModelSignature(inputs=Schema([*request, *feature_specs]))


def code_packages(folder: Path) -> list[str]:
    """Copies of Polku's packages in `folder` (without compiled files), for `code_paths`."""
    out = []
    for name in CODE_PACKAGES:
        source = Path(importlib.import_module(name).__file__ or "").parent
        target = folder / name
        shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        out.append(str(target))
    return out


def requirements() -> list[str]:
    out = []
    for package in RUNTIME_PACKAGES:
        try:
            out.append(f"{package}=={importlib_metadata.version(package)}")
        except importlib_metadata.PackageNotFoundError:  # pragma: no cover
            out.append(package)
    return out
