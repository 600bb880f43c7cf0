"""The read side of the registry: a registered version loaded for serving, and its reports.

`load_served` returns the native `Router` of a version (by alias or number)
with its evaluation and model card: the API calls the router directly, which
is far faster than going through `pyfunc.predict`. The reports logged with
a version's run (the fairness report at training, the service and follow-up
reports by `polku report ... --log`, each as JSON and as its HTML page) are
read here too, so that the API serves what was logged without importing the
pipeline.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
from mlflow.exceptions import MlflowException

from model.model_card import with_model_identity
from model.router import ROUTER_FILE, Router
from training.registry.store import (
    CHAMPION,
    DATA_DIR_TAG,
    DEFAULT_MODEL_NAME,
    EVALUATION_FILE,
    FAIRNESS_HTML_FILE,
    FAIRNESS_REPORT_FILE,
    MODEL_CARD_FILE,
    POLICY_SUMMARY_FILE,
    RegistryError,
    client_for,
    configure,
    run_report_files,
    run_report_path,
)
from training.registry.versions import find_version


@dataclass(frozen=True)
class ServedModel:
    """A registered version loaded for serving: the native router and what describes it."""

    router: Router
    name: str
    version: str
    run_id: str
    evaluation: dict[str, Any]
    card: dict[str, Any] | None


def load_served(
    name: str = DEFAULT_MODEL_NAME,
    *,
    alias: str | None = CHAMPION,
    version: str | int | None = None,
    tracking_uri: str | None = None,
) -> ServedModel:
    """Load a registered version's `Router` (by `version`, else by `alias`).

    Raises `RegistryError` when the model, version or alias does not exist or
    its files cannot be read. The evaluation is the one computed on the
    held-out clients at training time, with `model_version` filled in.
    """
    store = configure(tracking_uri)
    client = client_for(store)
    found = find_version(client, name, alias=alias, version=version)
    uri = f"models:/{name}/{found.version}"
    try:
        with tempfile.TemporaryDirectory(prefix="polku-model-") as tmp:
            local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=tmp))
            router_files = sorted(local.rglob(ROUTER_FILE))
            if not router_files:
                raise RegistryError(
                    f"model {name!r} version {found.version} holds no {ROUTER_FILE}"
                )
            folder = router_files[0].parent
            router = Router.load(folder)
            evaluation = _read_json(folder / EVALUATION_FILE) or {}
            card = _read_json(folder / MODEL_CARD_FILE)
    except MlflowException as exc:
        raise RegistryError(
            f"cannot load model {name!r} version {found.version}: {exc.message}"
        ) from None
    evaluation["model_version"] = str(found.version)
    if card is not None:
        # The card inside the model was written before the version existed.
        card = with_model_identity(
            card, name=name, version=str(found.version), run_id=str(found.run_id)
        )
    router.metadata.setdefault("model_name", name)
    router.metadata["model_version"] = str(found.version)
    return ServedModel(
        router=router,
        name=name,
        version=str(found.version),
        run_id=str(found.run_id),
        evaluation=evaluation,
        card=card,
    )


def _read_json(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    data = json.loads(path.read_text("utf-8"))
    return data if isinstance(data, dict) else None


def load_fairness_report(run_id: str, *, tracking_uri: str | None = None) -> dict[str, Any] | None:
    """The fairness report logged with a training run, or None when it has none."""
    configure(tracking_uri)
    try:
        with tempfile.TemporaryDirectory(prefix="polku-report-") as tmp:
            path = mlflow.artifacts.download_artifacts(
                run_id=run_id, artifact_path=f"reports/{FAIRNESS_REPORT_FILE}", dst_path=tmp
            )
            return _read_json(Path(path))
    except (MlflowException, OSError):
        return None


def training_data_dir(run_id: str, *, tracking_uri: str | None = None) -> Path | None:
    """The data folder a run was trained on, as recorded at training time (it may have moved)."""
    configure(tracking_uri)
    try:
        run = mlflow.get_run(run_id)
    except MlflowException:
        return None
    value = run.data.tags.get(DATA_DIR_TAG)
    return Path(value) if value else None


def load_fairness_html(run_id: str, *, tracking_uri: str | None = None) -> str | None:
    """The fairness report's HTML page logged with a training run, or None when it has none."""
    configure(tracking_uri)
    try:
        with tempfile.TemporaryDirectory(prefix="polku-report-") as tmp:
            path = mlflow.artifacts.download_artifacts(
                run_id=run_id, artifact_path=f"reports/{FAIRNESS_HTML_FILE}", dst_path=tmp
            )
            return Path(path).read_text("utf-8")
    except (MlflowException, OSError):
        return None


def _run_report_file(run_id: str, name: str, file: str, tracking_uri: str | None) -> str | None:
    configure(tracking_uri)
    try:
        with tempfile.TemporaryDirectory(prefix=f"polku-{name}-") as tmp:
            path = mlflow.artifacts.download_artifacts(
                run_id=run_id, artifact_path=run_report_path(name, file), dst_path=tmp
            )
            return Path(path).read_text("utf-8")
    except (MlflowException, OSError):
        return None


def load_run_report(
    run_id: str, name: str, *, tracking_uri: str | None = None
) -> dict[str, Any] | None:
    """The report `name` (`RUN_REPORTS`) logged with a run by `polku report <name> --log`,
    or None when the run has none."""
    json_file, _ = run_report_files(name)
    text = _run_report_file(run_id, name, json_file, tracking_uri)
    if text is None:
        return None
    data = json.loads(text)
    return data if isinstance(data, dict) else None


def load_run_report_html(run_id: str, name: str, *, tracking_uri: str | None = None) -> str | None:
    """The HTML page of the report `name` logged with a run, or None when it has none."""
    _, html_file = run_report_files(name)
    return _run_report_file(run_id, name, html_file, tracking_uri)


def load_policy_summary(run_id: str, *, tracking_uri: str | None = None) -> dict[str, Any] | None:
    """The policy summary logged with a training run, or None when it has none."""
    configure(tracking_uri)
    try:
        with tempfile.TemporaryDirectory(prefix="polku-policy-") as tmp:
            path = mlflow.artifacts.download_artifacts(
                run_id=run_id, artifact_path=POLICY_SUMMARY_FILE, dst_path=tmp
            )
            return _read_json(Path(path))
    except (MlflowException, OSError):
        return None
