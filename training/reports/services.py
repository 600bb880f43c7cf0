"""The service report of a data folder, scored by a registered version (docs/reports.md).

`service_report_for` validates the tables, builds the decision points with
the version's catalogue and configuration, scores those of the window whose
outcome window is complete with outcome and choice models cross-fitted on
the data (`training.reports.crossfit`), and hands everything to
`model.services.report.service_report`. `write_service_report` writes
services.json and services.html.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Final, Literal

import numpy as np
import pandas as pd

from model.decision_points.build import build_decision_points
from model.decision_points.points import SERVICE_START, DecisionPoints
from model.router import Router
from model.services.activity import in_window
from model.services.effects import ScoredRows
from model.services.groups import DEFAULT_GROUP_FIELDS, check_group_fields, group_values
from model.services.report import service_report
from model.vocab import LANGUAGES
from training.contract.load import load_valid_tables
from training.pipeline.rows import TrainingRows, planned_share, training_rows
from training.reports.crossfit import can_cross_fit, cross_fit
from training.router_figures import action_indices, evaluable_rows

# Which models score the effects: fitted again on the data (default) or the version's own.
Nuisance = Literal["cross_fitted", "version"]

SERVICES_JSON: Final = "services.json"
SERVICES_HTML: Final = "services.html"


@dataclass(frozen=True)
class ServiceInputs:
    """A data folder's tables and decision points, read for one version."""

    clients: pd.DataFrame
    episodes: pd.DataFrame
    outcomes: pd.DataFrame
    dp: DecisionPoints


def read_inputs(router: Router, data: str | Path) -> ServiceInputs:
    """Validated tables (nothing is reported on tables that break the contract) and
    their decision points under the version's catalogue and configuration."""
    tables = load_valid_tables(data, catalogue=router.catalogue, config=router.config)
    dp = build_decision_points(
        tables.clients,
        tables.episodes,
        tables.outcomes,
        catalogue=router.catalogue,
        config=router.config,
    )
    return ServiceInputs(tables.clients, tables.episodes, tables.outcomes, dp)


def data_window(inputs: ServiceInputs) -> tuple[date, date]:
    """The whole data: from the first intake to the extract date."""
    first = pd.Timestamp(inputs.clients["intake_date"].min()).date()
    extract = inputs.dp.extract_date
    if extract is None:
        extract = pd.Timestamp(inputs.episodes["start_date"].max()).date()
    return first, extract


def model_rows(inputs: ServiceInputs) -> TrainingRows:
    """Which decision points may train the outcome and choice models, as in training."""
    return training_rows(inputs.dp, planned_share=planned_share(inputs.episodes))


def outcome_rows(inputs: ServiceInputs, training: TrainingRows | None = None) -> np.ndarray:
    """Decision points whose outcome can be compared: a known action of the catalogue and a
    complete outcome window, without the inferred no-new-service reviews when the data
    record plans (they miss the reviews an outcome cut short, so they understate the
    reference's success; `training.pipeline.rows`, as training leaves them out).
    `training` is `model_rows(inputs)` when the caller has it already."""
    training = training if training is not None else model_rows(inputs)
    return training.outcome & evaluable_rows(inputs.dp)


# Decision points encoded and scored at once: bounds the memory of a large window.
SCORING_CHUNK: Final = 100_000


def scored_rows(
    router: Router,
    inputs: ServiceInputs,
    since: date,
    until: date,
    *,
    nuisance: Nuisance = "cross_fitted",
) -> tuple[ScoredRows | None, pd.DataFrame, Nuisance]:
    """The window's decision points of `outcome_rows`, scored (None when there are none);
    their frame rows; and which models scored them.

    By default the outcome and choice models are fitted again on the data's
    own decision points, one fold of clients at a time
    (`training.reports.crossfit`); with `nuisance="version"`, or when the data
    are too few for that, the version's own models score them. Only the
    eligible cells of the outcome model are predicted (the effects compare
    eligible actions only). The version's correction of selection measured
    in training (`Router.adjustment`) applies to either.
    """
    frame = inputs.dp.frame
    training = model_rows(inputs)
    rows = outcome_rows(inputs, training) & in_window(frame["decision_date"], since, until)
    chosen = frame.loc[rows]
    if not rows.any():
        return None, chosen, nuisance
    eligible = inputs.dp.eligibility()[rows]
    taken = action_indices(frame, inputs.dp.actions)[rows]
    # A taken action was possible whatever the rules say now.
    eligible[np.arange(len(taken)), taken] = True
    if nuisance == "cross_fitted" and not can_cross_fit(training):
        nuisance = "version"
    if nuisance == "cross_fitted":
        fitted = cross_fit(
            router, inputs.dp, training, np.flatnonzero(rows), eligible, seed=router.config.seed
        )
        mu, propensity = fitted.mu, fitted.propensity
    else:
        mu, propensity = _version_scores(router, chosen, eligible)
    mu = router.adjusted(mu)
    codes, _ = pd.factorize(chosen["client_id"].astype(str))
    scored = ScoredRows(
        actions=tuple(router.actions),
        taken=taken,
        y=chosen["label"].to_numpy(dtype=float),
        mu=mu,
        propensity=propensity,
        eligible=eligible,
        clients=codes,
    )
    return scored, chosen, nuisance


def _version_scores(
    router: Router, chosen: pd.DataFrame, eligible: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The version's own outcome chances and choice probabilities, `SCORING_CHUNK` points
    at a time (bounds the memory of a large window)."""
    mu = np.empty(eligible.shape)
    propensity = np.empty(eligible.shape)
    for start in range(0, len(chosen), SCORING_CHUNK):
        part = slice(start, start + SCORING_CHUNK)
        X = router.encoder.transform(chosen.iloc[part])
        mu[part] = router.learner.predict_cells(X, eligible[part])
        propensity[part] = router.propensity.predict_proba(X, eligible[part])
    return mu, propensity


def service_report_for(
    router: Router,
    inputs: ServiceInputs,
    *,
    since: date | None = None,
    until: date | None = None,
    by: Sequence[str] | None = None,
    model: Mapping[str, Any] | None = None,
    policy: Mapping[str, Any] | None = None,
    n_boot: int = 200,
    nuisance: Nuisance = "cross_fitted",
) -> dict[str, Any]:
    """The service report of the window (default: the whole data) for `router`'s version;
    `nuisance` as in `scored_rows`."""
    first, last = data_window(inputs)
    since = since or first
    until = until or last
    if since > until:
        raise ValueError(f"the window starts ({since}) after it ends ({until})")
    fields = check_group_fields(tuple(by or DEFAULT_GROUP_FIELDS), inputs.dp.frame)
    rows, frame, used = scored_rows(router, inputs, since, until, nuisance=nuisance)
    dp_frame = inputs.dp.frame
    starts = dp_frame.loc[
        (dp_frame["kind"] == SERVICE_START).to_numpy()
        & ~dp_frame["censored"].to_numpy(dtype=bool)
        & in_window(dp_frame["decision_date"], since, until),
        ["client_id", "decision_date", "action"],
    ]
    groups = {name: group_values(frame, name) for name in fields}
    catalogue = router.catalogue
    services = tuple(s.code for s in catalogue.services)
    names = {a: {lang: catalogue.get(a).name[lang] for lang in LANGUAGES} for a in router.actions}
    info = {
        "learner": router.metadata.get("learner"),
        "effect_models": used,
        "training_window": router.metadata.get("training_window"),
        **dict(model or {}),
    }
    return service_report(
        clients=inputs.clients,
        episodes=inputs.episodes,
        outcomes=inputs.outcomes,
        starts=starts,
        rows=rows,
        groups=groups,
        services=services,
        service_names=names,
        since=since,
        until=until,
        k=router.config.min_cell_size,
        horizon_days=router.config.horizon_days,
        target=router.config.target,
        n_boot=n_boot,
        seed=int(getattr(router.config, "seed", 0)),
        model=info,
        policy=policy,
        extract_date=inputs.dp.extract_date,
    )


def write_service_report(out_dir: str | Path, report: Mapping[str, Any]) -> dict[str, Path]:
    """Write services.json and services.html to `out_dir`; return their paths."""
    from training.reports.build import to_json
    from training.reports.services_page import render_services_html

    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    texts = {SERVICES_JSON: to_json(report), SERVICES_HTML: render_services_html(report, "fi")}
    paths: dict[str, Path] = {}
    for name, text in texts.items():
        path = folder / name
        path.write_text(text, encoding="utf-8")
        paths[name] = path
    return paths
