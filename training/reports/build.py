"""The fairness report and the model card of one model version, and their files.

- `fairness_report_for` scores decision points with a `Router` and builds the
  fairness report (`model.fairness.report.fairness_report`).
- `model_card_for` builds the model card (`model.model_card.build_model_card`),
  filling what the caller does not give from the router's metadata.
- `write_reports` writes fairness.json, fairness.html, model_card.json and
  model_card.html; `build_reports` does everything for the command line.

docs/fairness.md describes both documents and where they are served.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from model.config import RunConfig
from model.decision_points.points import DecisionPoints, eligible_column
from model.fairness.decisions import decisions_from_store
from model.fairness.report import fairness_report
from model.fairness.settings import FairnessSettings
from model.json_values import json_value
from model.model_card import build_model_card
from model.router import Router
from training.reports.html import LANGUAGES, render_fairness_html, render_model_card_html
from training.router_figures import action_indices
from training.truth import align_truth

FAIRNESS_JSON: Final = "fairness.json"
FAIRNESS_HTML: Final = "fairness.html"
MODEL_CARD_JSON: Final = "model_card.json"
MODEL_CARD_HTML: Final = "model_card.html"


def fairness_report_for(
    router: Router,
    decision_points: DecisionPoints | pd.DataFrame,
    rows_mask: np.ndarray | None = None,
    truth: np.ndarray | pd.DataFrame | None = None,
    decisions: pd.DataFrame | None = None,
    config: RunConfig | None = None,
    *,
    audit: pd.DataFrame | None = None,
    settings: FairnessSettings | None = None,
    model: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Score the selected decision points with `router` and build the fairness report.

    `decision_points`: a `DecisionPoints` or its frame (with the
    `eligible_<action>` columns). `rows_mask`: which rows to report on (the
    held-out clients, normally); only rows with a known action of the
    catalogue and a complete outcome window are used. `truth`: the
    simulator's truth, as an (n_points, A) matrix aligned to the frame or as
    the truth table. `decisions`: caseworkers' decisions, either already
    joined (client_id, chosen_service, recommended_service, reason_code and
    the attribute columns) or, with `audit`, raw rows of the decisions table
    joined here through `model.fairness.decisions.decisions_from_store`. `config`
    defaults to the router's; k is its `min_cell_size`.
    """
    config = config or router.config
    frame = (
        decision_points.frame if isinstance(decision_points, DecisionPoints) else decision_points
    )
    actions = tuple(router.actions)
    if isinstance(decision_points, DecisionPoints) and tuple(decision_points.actions) != actions:
        raise ValueError("the decision points were built with another catalogue than the model's")
    taken_all = action_indices(frame, actions)
    usable = (
        frame["action_known"].to_numpy(dtype=bool)
        & ~frame["censored"].to_numpy(dtype=bool)
        & (taken_all >= 0)
    )
    if rows_mask is not None:
        mask = np.asarray(rows_mask, dtype=bool)
        if mask.shape != usable.shape:
            raise ValueError(f"rows_mask has {mask.shape[0]} rows, the frame {usable.shape[0]}")
        usable &= mask
    rows = frame.loc[usable]
    eligible = rows[[eligible_column(a) for a in actions]].to_numpy(dtype=bool)
    batch = router.score(rows, eligible=eligible, intervals=False)
    if truth is None:
        truth_rows = None
    elif isinstance(truth, pd.DataFrame):
        truth_rows = align_truth(rows, truth, actions)
    else:
        truth_rows = np.asarray(truth, dtype=float)[usable]
    if decisions is not None and audit is not None:
        version = None if model is None else model.get("version")
        decisions = decisions_from_store(
            decisions, audit, model_version=None if version is None else str(version)
        )
    settings = settings or FairnessSettings.from_config(config)
    names = {a: {lang: router.catalogue.get(a).name[lang] for lang in LANGUAGES} for a in actions}
    info = {
        "learner": router.metadata.get("learner"),
        "training_window": router.metadata.get("training_window"),
        "target": config.target,
        "horizon_days": config.horizon_days,
        **dict(model or {}),
    }
    return fairness_report(
        rows=rows,
        actions=actions,
        taken=taken_all[usable],
        recommended=batch.recommended,
        p=batch.p,
        propensity=batch.support,
        truth=truth_rows,
        decisions=decisions,
        settings=settings,
        model_features=list(router.encoder.columns_),
        protected_attributes=config.protected_attributes,
        model=info,
        service_names=names,
    )


def model_card_for(
    router: Router,
    *,
    fairness: Mapping[str, Any] | None = None,
    model: Mapping[str, Any] | None = None,
    evaluation: Mapping[str, Any] | None = None,
    learners: Mapping[str, Mapping[str, Any]] | None = None,
    validation: Mapping[str, Mapping[str, Any]] | None = None,
    data: Mapping[str, Any] | None = None,
    has_truth: bool = False,
) -> dict[str, Any]:
    """The model card of a router, filling what the caller does not give from its metadata."""
    meta = router.metadata
    chosen = str(meta.get("learner") or getattr(router.learner, "name", "learner"))
    selection = meta.get("selection") or {}
    metric = str(selection.get("metric") or "dr_value")
    if validation is None and isinstance(selection.get("validation"), Mapping):
        validation = {name: {metric: value} for name, value in selection["validation"].items()}
    info = {
        "learner": chosen,
        "target": router.config.target,
        "horizon_days": router.config.horizon_days,
        "catalogue": router.catalogue.source,
        "trained_at": meta.get("trained_at"),
        "polku_version": meta.get("polku_version"),
        **dict(model or {}),
    }
    data_info = dict(data or {})
    data_info.setdefault("training_window", meta.get("training_window"))
    if isinstance(meta.get("data"), Mapping):
        for key, value in meta["data"].items():
            data_info.setdefault(key, value)
    return build_model_card(
        model=info,
        data=data_info,
        features_used=list(router.encoder.columns_),
        protected_attributes=list(router.config.protected_attributes),
        learners=dict(learners or ({chosen: evaluation} if evaluation else {})),
        chosen=chosen,
        selection_metric=metric,
        evaluation=dict(evaluation or {}),
        validation=validation,
        fairness=fairness,
        min_cell_size=router.config.min_cell_size,
        has_truth=has_truth,
    )


@dataclass(frozen=True)
class Reports:
    """What `build_reports` made: the two documents and, when written, the files by name."""

    fairness: dict[str, Any]
    card: dict[str, Any]
    paths: dict[str, Path] = field(default_factory=dict)


def build_reports(
    *,
    router: Router,
    decision_points: DecisionPoints | pd.DataFrame,
    rows_mask: np.ndarray | None = None,
    out_dir: str | Path | None = None,
    truth: np.ndarray | pd.DataFrame | None = None,
    decisions: pd.DataFrame | None = None,
    audit: pd.DataFrame | None = None,
    config: RunConfig | None = None,
    settings: FairnessSettings | None = None,
    model: Mapping[str, Any] | None = None,
    evaluation: Mapping[str, Any] | None = None,
    learners: Mapping[str, Mapping[str, Any]] | None = None,
    validation: Mapping[str, Mapping[str, Any]] | None = None,
    data: Mapping[str, Any] | None = None,
) -> Reports:
    """The fairness report and the model card of one model version, written to `out_dir` if given.

    For `polku train` (the pipeline has every input) and for
    `polku report fairness --version V [--decisions-db URL]` (the router and
    its figures from the registry, decisions and audit rows from the
    database). `model` names the version: {"name": ..., "version": ...}.
    """
    fairness = fairness_report_for(
        router,
        decision_points,
        rows_mask,
        truth,
        decisions,
        config,
        audit=audit,
        settings=settings,
        model=model,
    )
    card = model_card_for(
        router,
        fairness=fairness,
        model=model,
        evaluation=evaluation,
        learners=learners,
        validation=validation,
        data=data,
        has_truth=truth is not None,
    )
    paths = write_reports(out_dir, fairness, card) if out_dir is not None else {}
    return Reports(fairness, card, paths)


def write_reports(
    out_dir: str | Path, fairness: Mapping[str, Any], card: Mapping[str, Any]
) -> dict[str, Path]:
    """Write fairness.json, fairness.html, model_card.json and model_card.html; return their paths."""
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        FAIRNESS_JSON: to_json(fairness),
        FAIRNESS_HTML: render_fairness_html(fairness, "fi"),
        MODEL_CARD_JSON: to_json(card),
        MODEL_CARD_HTML: render_model_card_html(card, "fi"),
    }
    paths: dict[str, Path] = {}
    for name, text in files.items():
        path = folder / name
        path.write_text(text, encoding="utf-8")
        paths[name] = path
    return paths


def to_json(value: Mapping[str, Any]) -> str:
    """Strict JSON (NaN and infinities as null), UTF-8 text kept readable."""
    return json.dumps(json_value(value), ensure_ascii=False, indent=1, allow_nan=False)
