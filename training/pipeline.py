"""The training pipeline (SPEC §4 `polku train`, issue 3) as plain functions.

    load_inputs -> build_points -> training_rows -> split_by_intake -> fit_models
                -> choose_learner (validation clients) -> evaluate (held-out clients)
                -> router, plots, model card

`train` runs them in order and returns a `TrainingResult`; the command line
and `training.registry` (the only module that talks to MLflow) take it from
there. Seeds are parameters, nothing is global, and the held-out clients are
never used for any choice: the learner is chosen, and its intervals
calibrated, on the validation clients.

Which rows train what
---------------------
- The propensity model (what caseworkers did) learns from every training
  decision point with a known action of the catalogue, censored ones too.
- The outcome learners learn from those whose outcome window is complete.
  When the case system records plans (at least `MIN_PLANNED_SHARE` of the
  review rows have a `planned_service`), reviews read as `no_new_service`
  only because nothing started (`action_source == "inferred"`) are left out
  of the outcome learners' rows: the reviews whose 30 days an outcome cut
  short are unknown, so only successes are missing from the inferred ones and
  their observed success rate is biased down (0.257 against a true 0.287 in
  the built-in world). Recorded plans give unbiased `no_new_service` rows.

The split
---------
The newest clients by intake date are held out, never a random row split:
the intake-date cutoff is chosen so that about `holdout_fraction` of the
labelled decision points (known action, complete outcome window) belong to
held-out clients, and every decision point of a held-out client is a test
row. The validation clients are cut the same way from the remaining ones
(`validation_fraction` of the remaining labelled points); the rest train.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from model.catalogue import Catalogue, load_catalogue
from model.config import RunConfig, load_config
from model.decision_points import (
    SOURCE_INFERRED,
    SOURCE_UNKNOWN,
    DecisionPoints,
    build_decision_points,
)
from model.encoding import FeatureEncoder
from model.errors import ConfigError, DataContractError
from model.features import ACTION_PROXY_FEATURES, DECISION_TIMING_FEATURES
from model.golden import METADATA_KEY as GOLDEN_KEY
from model.golden import check_golden, expected_top_services
from model.learners import (
    LEARNERS,
    OutcomeLearner,
    PropensityModel,
    SLearner,
    TrainingData,
    calibrate_interval,
)
from model.model_card import sensitivity_card, sensitivity_limitation
from model.router import Router
from model.vocab import REVIEW, TABLES, UNKNOWN
from training.contract import load_valid_tables
from training.router_figures import (
    Evaluation,
    action_indices,
    evaluable_rows,
    evaluate_scores,
    sensitivity_metrics,
)
from training.tables import Tables, locate_tables
from training.truth import align_truth, find_truth, read_truth

logger = logging.getLogger(__name__)

# Plans count as recorded when at least this share of review rows has one.
MIN_PLANNED_SHARE: Final = 0.05
# The learners' hyperparameters under this name go to the propensity model.
PROPENSITY: Final = "propensity"
Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


# --------------------------------------------------------------------------
# load
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Inputs:
    """Validated tables with the catalogue and configuration they were read with."""

    data_dir: Path
    tables: Tables
    catalogue: Catalogue
    config: RunConfig
    truth: pd.DataFrame | None
    fingerprint: dict[str, Any]
    catalogue_path: Path | None = None
    config_path: Path | None = None
    truth_path: Path | None = None


def check_learner_config(config: RunConfig) -> None:
    """Refuse unknown learner names or hyperparameter tables before any work."""
    unknown = [name for name in config.learners if name not in LEARNERS]
    if unknown:
        raise ConfigError(
            f"learners: unknown learner(s) {unknown}; choose from {', '.join(LEARNERS)}"
        )
    allowed = set(LEARNERS) | {PROPENSITY}
    stray = sorted(set(config.learner_params) - allowed)
    if stray:
        raise ConfigError(
            f"learner_params: unknown learner(s) {stray}; "
            f"give parameters for {', '.join(sorted(allowed))}"
        )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def data_fingerprint(data_dir: str | Path, tables: Tables | None = None) -> dict[str, Any]:
    """Content hashes of the three input files, their row counts and date window.

    `sha256` hashes the three files' hashes in table order, so the same data
    gives the same fingerprint wherever it lies (the truth file is not part of
    it: it is not input data).
    """
    paths = locate_tables(data_dir)
    files = {name: {"file": paths[name].name, "sha256": _sha256(paths[name])} for name in TABLES}
    combined = hashlib.sha256(
        "".join(f"{name}:{files[name]['sha256']}\n" for name in TABLES).encode()
    ).hexdigest()
    out: dict[str, Any] = {"sha256": combined, "files": files}
    if tables is not None:
        out["rows"] = tables.row_counts()
        dates = [
            frame[column]
            for frame, columns in (
                (tables.clients, ("intake_date", "arrival_date")),
                (tables.episodes, ("start_date", "end_date")),
                (tables.outcomes, ("start_date", "end_date")),
            )
            for column in columns
            if column in frame.columns
        ]
        every = pd.concat(dates, ignore_index=True).dropna() if dates else pd.Series([])
        if len(every):
            out["date_window"] = [f"{every.min():%Y-%m-%d}", f"{every.max():%Y-%m-%d}"]
    return out


def load_inputs(
    data_dir: str | Path,
    *,
    catalogue_path: str | Path | None = None,
    config_path: str | Path | None = None,
    truth_path: str | Path | None = None,
) -> Inputs:
    """Read the configuration, the catalogue and the tables (refused unless valid).

    The truth is `truth_path`, else `truth.parquet` / `truth.csv` in the data
    folder when there is one (the simulator writes it), else None.
    """
    config = load_config(config_path)
    check_learner_config(config)
    catalogue = load_catalogue(catalogue_path, extras=config.extra_features)
    tables = load_valid_tables(data_dir, catalogue=catalogue, config=config)
    found = Path(truth_path) if truth_path is not None else find_truth(data_dir)
    if truth_path is not None and not Path(truth_path).is_file():
        raise DataContractError(f"truth file {Path(truth_path).name} does not exist")
    truth = read_truth(found) if found is not None else None
    return Inputs(
        data_dir=Path(data_dir),
        tables=tables,
        catalogue=catalogue,
        config=config,
        truth=truth,
        fingerprint=data_fingerprint(data_dir, tables),
        catalogue_path=Path(catalogue_path) if catalogue_path is not None else None,
        config_path=Path(config_path) if config_path is not None else None,
        truth_path=found,
    )


def build_points(inputs: Inputs) -> DecisionPoints:
    tables = inputs.tables
    return build_decision_points(
        tables.clients,
        tables.episodes,
        tables.outcomes,
        catalogue=inputs.catalogue,
        config=inputs.config,
    )


# --------------------------------------------------------------------------
# training rows
# --------------------------------------------------------------------------


def planned_share(episodes: pd.DataFrame) -> float:
    """Share of review rows whose agreed service is recorded (`planned_service`)."""
    reviews = episodes["service"].astype(object).to_numpy() == REVIEW
    if not reviews.any() or "planned_service" not in episodes.columns:
        return 0.0
    planned = episodes["planned_service"].astype(object).to_numpy()[reviews]
    recorded = np.fromiter(
        (isinstance(v, str) and v.strip() not in ("", UNKNOWN) for v in planned),
        dtype=bool,
        count=len(planned),
    )
    return float(recorded.mean())


@dataclass(frozen=True)
class TrainingRows:
    """Which decision points may train which model (masks over `dp.frame`, before the split)."""

    outcome: np.ndarray
    propensity: np.ndarray
    planned_share: float
    drop_inferred: bool
    n_inferred_dropped: int
    # Reviews whose action is unknown because an outcome came within the
    # review window, and the inferred no_new_service reviews they sit beside.
    n_cut_short: int = 0
    n_inferred: int = 0

    def note(self) -> str:
        """One sentence for logs and the model card."""
        if self.drop_inferred:
            return (
                f"{self.n_inferred_dropped} inferred no_new_service reviews were left out of the "
                f"outcome models' training rows (plans are recorded at {self.planned_share:.0%} of "
                "reviews; inferred ones miss the reviews an outcome cut short, so they understate "
                "success); the propensity model keeps them"
            )
        note = (
            f"inferred no_new_service reviews were kept: plans are recorded at only "
            f"{self.planned_share:.0%} of reviews (below {MIN_PLANNED_SHARE:.0%})"
        )
        if self.n_cut_short and self.n_inferred:
            # On a randomised trial without recorded plans this lowered the
            # control arm's success and raised every service's estimated
            # effect (bench/trial.py); recording the arm removes it.
            note += (
                f". Warning: {self.n_cut_short} reviews have an unknown action because work or "
                f"education began within the review window (beside {self.n_inferred} inferred "
                "no_new_service reviews); those successes are missing from no_new_service, so "
                "every service's effect against it is overstated. Record the agreed service (or "
                "a trial's arm) as planned_service on review rows to avoid this"
            )
        return note


def training_rows(
    dp: DecisionPoints, *, planned_share: float, min_planned_share: float = MIN_PLANNED_SHARE
) -> TrainingRows:
    """Rows for the outcome learners and for the propensity model (see the module docstring)."""
    frame = dp.frame
    in_catalogue = frame["action_known"].to_numpy(dtype=bool) & (action_indices(frame, dp.actions) >= 0)
    censored = frame["censored"].to_numpy(dtype=bool)
    complete = in_catalogue & ~censored
    drop = planned_share >= min_planned_share
    source = frame["action_source"].astype(object).to_numpy()
    inferred = source == SOURCE_INFERRED
    outcome = complete & ~inferred if drop else complete
    n_inferred = int((complete & inferred).sum())
    # Unknown reviews whose window is complete were cut short by an outcome
    # (the others ran past the extract date).
    cut_short = (source == SOURCE_UNKNOWN) & ~censored & frame["label"].eq(1.0).to_numpy()
    return TrainingRows(
        outcome=outcome,
        propensity=in_catalogue,
        planned_share=planned_share,
        drop_inferred=drop,
        n_inferred_dropped=n_inferred if drop else 0,
        n_cut_short=int(cut_short.sum()),
        n_inferred=n_inferred,
    )


# --------------------------------------------------------------------------
# split
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Split:
    """Masks over `dp.frame`; clients with intake on or after `test_from` are held out."""

    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray
    test_from: date
    validation_from: date
    labelled_share: dict[str, float]

    def summary(self, dp: DecisionPoints) -> dict[str, Any]:
        clients = dp.frame["client_id"].astype(str)
        return {
            "test_from": self.test_from.isoformat(),
            "validation_from": self.validation_from.isoformat(),
            **{
                f"{part}_{what}": count
                for part, mask in (
                    ("train", self.train),
                    ("validation", self.validation),
                    ("test", self.test),
                )
                for what, count in (
                    ("points", int(mask.sum())),
                    ("clients", int(clients[mask].nunique())),
                )
            },
            **{f"{part}_labelled_share": share for part, share in self.labelled_share.items()},
        }


def _intake_cutoff(intake_days: np.ndarray, labelled: np.ndarray, share: float) -> int:
    """The intake day d such that points of clients with intake >= d hold about `share`
    of the labelled points; clients on the same day stay together."""
    days, inverse = np.unique(intake_days, return_inverse=True)
    per_day = np.bincount(inverse, weights=labelled.astype(float), minlength=len(days))
    # cumulative labelled points from the newest day backwards
    from_newest = np.cumsum(per_day[::-1])[::-1]
    total = per_day.sum()
    best = int(np.argmin(np.abs(from_newest - share * total)))
    # never hold out everything (the oldest day) nor nothing
    best = min(max(best, 1), len(days) - 1) if len(days) > 1 else 0
    return int(days[best])


def split_by_intake(
    dp: DecisionPoints,
    clients: pd.DataFrame,
    *,
    holdout_fraction: float,
    validation_fraction: float,
    labelled: np.ndarray | None = None,
) -> Split:
    """Hold out the newest clients, then the next newest for validation (module docstring)."""
    labelled = evaluable_rows(dp) if labelled is None else np.asarray(labelled, dtype=bool)
    if not labelled.any():
        raise DataContractError(
            "no labelled decision points: every decision point is censored or has an "
            "unknown action; the data must cover at least the outcome horizon"
        )
    intake = pd.Series(
        pd.to_datetime(clients["intake_date"]).to_numpy(),
        index=clients["client_id"].astype(str).to_numpy(),
    )
    point_intake = pd.to_datetime(
        dp.frame["client_id"].astype(str).map(intake).to_numpy()
    ).to_numpy(dtype="datetime64[D]")
    if np.isnat(point_intake).any():
        raise DataContractError("a decision point's client has no intake_date")
    days = point_intake.astype(np.int64)
    test_cut = _intake_cutoff(days, labelled, holdout_fraction)
    test = days >= test_cut
    rest = ~test
    if not (labelled & rest).any():
        raise DataContractError(
            "too little data to hold out the newest clients: every labelled decision point "
            "belongs to the newest intake day"
        )
    val_cut = _intake_cutoff(days[rest], labelled[rest], validation_fraction)
    validation = rest & (days >= val_cut)
    train = rest & ~validation
    if not (labelled & train).any() or not (labelled & validation).any():
        raise DataContractError(
            "too little data for a training and a validation set of clients; "
            "simulate or extract more clients"
        )
    total = labelled.sum()
    shares = {
        part: float((labelled & mask).sum() / total)
        for part, mask in (("train", train), ("validation", validation), ("test", test))
    }

    def as_date(day: int) -> date:
        return (np.datetime64(0, "D") + np.timedelta64(day, "D")).astype(date)

    return Split(train, validation, test, as_date(test_cut), as_date(val_cut), shares)


# --------------------------------------------------------------------------
# fit
# --------------------------------------------------------------------------


@dataclass
class FittedModels:
    encoder: FeatureEncoder
    propensity: PropensityModel
    learners: dict[str, OutcomeLearner]
    X: np.ndarray  # every decision point encoded
    outcome_rows: np.ndarray  # the rows the outcome learners were fitted on
    propensity_rows: np.ndarray  # the rows the propensity model was fitted on
    seconds: dict[str, float] = field(default_factory=dict)


def outcome_data(dp: DecisionPoints, X: np.ndarray, mask: np.ndarray) -> TrainingData:
    """The labelled rows of `mask` as an outcome learner's training data."""
    taken = action_indices(dp.frame, dp.actions)
    # A taken action counts as eligible for fitting, even where today's rules say no.
    eligible = dp.eligibility().copy()
    known = taken >= 0
    eligible[np.flatnonzero(known), taken[known]] = True
    clusters = pd.factorize(dp.frame["client_id"].astype(str))[0]
    return TrainingData(
        X=X[mask],
        actions=taken[mask],
        y=dp.frame["label"].to_numpy(dtype=float)[mask],
        eligible=eligible[mask],
        clusters=clusters[mask],
    )


def learner_kwargs(config: RunConfig, name: str) -> dict[str, Any]:
    return dict(config.learner_params.get(name, {}))


def _construct(cls: type, name: str, base: Mapping[str, Any], config: RunConfig) -> Any:
    kwargs = {**base, **learner_kwargs(config, name)}
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ConfigError(f"learner_params.{name}: {exc}") from None


def fit_models(
    dp: DecisionPoints,
    split: Split,
    rows: TrainingRows,
    config: RunConfig,
    *,
    seed: int,
    progress: Progress = _quiet,
) -> FittedModels:
    """Fit the encoder, the propensity model and every configured outcome learner on train rows."""
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    frame = dp.frame
    # Protected attributes are for the fairness audit only; action proxies
    # would take the action's effect (model.features.ACTION_PROXY_FEATURES).
    encoder = FeatureEncoder(
        dp.features, exclude=(*config.protected_attributes, *ACTION_PROXY_FEATURES)
    ).fit(frame.loc[split.train])
    X = encoder.transform(frame)
    seconds["encode"] = time.perf_counter() - started
    n_actions = len(dp.actions)
    taken = action_indices(dp.frame, dp.actions)
    eligible = dp.eligibility()
    # A taken action counts as eligible for fitting, even where today's rules say no.
    fit_eligible = eligible.copy()
    known = taken >= 0
    fit_eligible[np.flatnonzero(known), taken[known]] = True
    clusters = pd.factorize(frame["client_id"].astype(str))[0]
    categorical = encoder.categorical_indices
    common = {
        "n_actions": n_actions,
        "categorical_features": categorical,
        "seed": seed,
        "num_threads": config.num_threads,
    }

    progress("fitting the propensity model")
    started = time.perf_counter()
    p_rows = split.train & rows.propensity
    # The support estimate leaves out the features that betray the action at a
    # service start (model.features.DECISION_TIMING_FEATURES).
    support_columns = [
        j for j, name in enumerate(encoder.columns_) if name not in DECISION_TIMING_FEATURES
    ]
    propensity = _construct(
        PropensityModel, PROPENSITY, {**common, "feature_indices": support_columns}, config
    ).fit(X[p_rows], taken[p_rows], fit_eligible[p_rows], clusters[p_rows])
    seconds["fit_propensity"] = time.perf_counter() - started

    o_rows = split.train & rows.outcome
    data = outcome_data(dp, X, o_rows)
    learners: dict[str, OutcomeLearner] = {}
    for name in config.learners:
        progress(f"fitting {name}")
        started = time.perf_counter()
        learners[name] = _construct(LEARNERS[name], name, common, config).fit(data)
        seconds[f"fit_{name}"] = time.perf_counter() - started
        logger.info("fitted %s on %d rows in %.1f s", name, len(data.y), seconds[f"fit_{name}"])
    return FittedModels(encoder, propensity, learners, X, o_rows, p_rows, seconds)


# --------------------------------------------------------------------------
# choose, calibrate, evaluate
# --------------------------------------------------------------------------


def refit_learner(
    models: FittedModels,
    dp: DecisionPoints,
    split: Split,
    rows: TrainingRows,
    config: RunConfig,
    name: str,
    *,
    seed: int,
) -> OutcomeLearner:
    """Fit learner `name` again on the training and validation clients.

    The recalibration and interval width found on validation are kept: the
    refitted model has the same hyperparameters and more data, so its scale is
    at least as well determined. The held-out clients are never touched.
    """
    fitted = models.learners[name]
    common = {
        "n_actions": len(dp.actions),
        "categorical_features": models.encoder.categorical_indices,
        "seed": seed,
        "num_threads": config.num_threads,
    }
    learner = _construct(LEARNERS[name], name, common, config)
    if config.choose_rounds and isinstance(fitted, SLearner) and isinstance(learner, SLearner):
        # The rounds chosen on validation (choose_rounds), not early stopping's again.
        learner.n_estimators = fitted.n_rounds_
        learner.early_stopping_rounds = 0
    learner.fit(outcome_data(dp, models.X, (split.train | split.validation) & rows.outcome))
    learner.calibration_ = fitted.calibration_
    learner.heterogeneity_ = fitted.heterogeneity_
    return learner


def make_router(
    inputs: Inputs,
    models: FittedModels,
    name: str,
    metadata: Mapping[str, Any] | None = None,
) -> Router:
    return Router(
        catalogue=inputs.catalogue,
        config=inputs.config,
        encoder=models.encoder,
        learner=models.learners[name],
        propensity=models.propensity,
        metadata={"learner": name, **(metadata or {})},
    )


def selection_metric(has_truth: bool) -> str:
    """What the learner is chosen by: true V_rec with truth, the DR estimate without."""
    return "v_rec" if has_truth else "dr_value"


def select_learner(validation: Mapping[str, Mapping[str, Any]], *, metric: str) -> str:
    """The learner with the best validation `metric`; ties and missing values go to
    the earlier learner in the configuration's order. Never sees test figures."""
    best_name: str | None = None
    best_value = -np.inf
    for name, figures in validation.items():
        value = figures.get(metric)
        if value is not None and np.isfinite(value) and value > best_value:
            best_name, best_value = name, float(value)
    if best_name is None:
        best_name = next(iter(validation))
        logger.warning("no learner has a validation %s; serving %s", metric, best_name)
    return best_name


ROUND_FRACTIONS: Final = (1.0, 0.75, 0.5, 0.25)


def choose_rounds(
    learner: OutcomeLearner,
    value_of: Callable[[OutcomeLearner], float | None],
) -> tuple[OutcomeLearner, dict[int, float | None]]:
    """The S-learner cut to the number of rounds with the best validation policy value.

    Early stopping (or a fixed `n_estimators`) picks rounds by how well the
    outcome is predicted; what a recommendation needs is the ranking of
    actions for one client, which more rounds can make worse (the main
    effects fit on and the small differences between actions are fitted
    to noise). `value_of` scores a candidate on the validation clients;
    candidates are the first 100, 75, 50 and 25 % of the fitted rounds, and
    a shorter one must be strictly better to be chosen. Learners without
    rounds to cut are returned as they are.
    """
    if not isinstance(learner, SLearner):
        return learner, {}
    values: dict[int, float | None] = {}
    best, best_value = learner, -np.inf
    for fraction in ROUND_FRACTIONS:
        rounds = max(1, round(learner.n_rounds_ * fraction))
        if rounds in values:
            continue
        candidate = learner if rounds == learner.n_rounds_ else learner.truncated(rounds)
        value = value_of(candidate)
        values[rounds] = value
        if value is not None and np.isfinite(value) and value > best_value:
            best, best_value = candidate, float(value)
    return best, values


def calibrate_intervals(
    learner: OutcomeLearner,
    X: np.ndarray,
    truth: np.ndarray,
    eligible: np.ndarray,
    *,
    level: float,
) -> float | None:
    """Set the learner's interval width so its intervals cover `truth` at `level`.

    Uses `model.learners.calibrate_interval` on a shallow copy whose epistemic
    spread is computed once (the bisection asks for it 30 times), then gives
    the width to the learner itself.
    """
    mask = eligible & np.isfinite(truth)
    if not mask.any():
        return None
    spread = learner.spread(X)
    probe = copy.copy(learner)
    probe.spread = lambda _X: spread  # type: ignore[method-assign,assignment]
    width = float(calibrate_interval(probe, X, np.nan_to_num(truth), mask, level=level))
    learner.heterogeneity_ = width
    return width


# --------------------------------------------------------------------------
# the whole run
# --------------------------------------------------------------------------


@dataclass
class TrainingResult:
    """Everything a run produced; `training.registry.log_training` logs it."""

    inputs: Inputs
    dp: DecisionPoints
    rows: TrainingRows
    split: Split
    models: FittedModels
    chosen: str
    metric: str
    validation: dict[str, dict[str, Any]]
    test: dict[str, dict[str, Any]]
    details: dict[str, Evaluation]
    router: Router
    seed: int
    interval_widths: dict[str, float | None]
    seconds: dict[str, float]
    golden_problems: list[str] = field(default_factory=list)
    model_card: dict[str, Any] = field(default_factory=dict)
    fairness_report: dict[str, Any] | None = None

    @property
    def evaluation(self) -> dict[str, Any]:
        """The served model's evaluation: the chosen learner on the held-out clients."""
        return self.test[self.chosen]

    @property
    def has_truth(self) -> bool:
        return self.inputs.truth is not None

    def sensitivity_metrics(self) -> dict[str, float]:
        """The held-out sensitivity analysis as flat metrics: the served learner's
        unprefixed (`dr_sensitivity.1.5.low`, `break_even_lambda`, ...), every
        learner's under `<learner>.`."""
        metrics = sensitivity_metrics(self.details[self.chosen].extra)
        for name, detail in self.details.items():
            metrics.update(sensitivity_metrics(detail.extra, f"{name}."))
        return metrics

    def params(self) -> dict[str, Any]:
        """Flat run parameters for the tracking store."""
        config = self.inputs.config.model_dump(mode="json")
        params: dict[str, Any] = {
            f"config.{k}": v for k, v in config.items() if k != "learner_params"
        }
        for name in (*self.inputs.config.learners, PROPENSITY):
            for key, value in learner_kwargs(self.inputs.config, name).items():
                params[f"{name}.{key}"] = value
        params.update(
            {
                "seed": self.seed,
                "catalogue": self.inputs.catalogue.source,
                "data.sha256": self.inputs.fingerprint["sha256"],
                "truth": self.inputs.truth_path.name if self.inputs.truth_path else None,
                "chosen_learner": self.chosen,
                "selection_metric": self.metric,
                **{
                    f"{name}.rounds_chosen": getattr(learner, "n_rounds_", None)
                    for name, learner in self.models.learners.items()
                    if isinstance(learner, SLearner)
                },
                "planned_share": round(self.rows.planned_share, 4),
                "inferred_dropped": self.rows.n_inferred_dropped,
                **{f"split.{k}": v for k, v in self.split.summary(self.dp).items()},
            }
        )
        return params


def _polku_version() -> str:
    try:
        return importlib_metadata.version("polku")
    except importlib_metadata.PackageNotFoundError:  # pragma: no cover - not installed
        return "unknown"


def _window(dp: DecisionPoints, mask: np.ndarray) -> dict[str, str | None]:
    dates = dp.frame.loc[mask, "decision_date"]
    if not len(dates):
        return {"from": None, "to": None}
    return {"from": f"{dates.min():%Y-%m-%d}", "to": f"{dates.max():%Y-%m-%d}"}


def train(
    data_dir: str | Path,
    *,
    catalogue_path: str | Path | None = None,
    config_path: str | Path | None = None,
    truth_path: str | Path | None = None,
    seed: int | None = None,
    progress: Progress = _quiet,
) -> TrainingResult:
    """Run the pipeline end to end; `seed` defaults to the configuration's."""
    seconds: dict[str, float] = {}

    def stage(what: str) -> float:
        progress(what)
        return time.perf_counter()

    t = stage("reading and validating the data")
    inputs = load_inputs(
        data_dir, catalogue_path=catalogue_path, config_path=config_path, truth_path=truth_path
    )
    config = inputs.config
    seed = config.seed if seed is None else seed
    seconds["load"] = time.perf_counter() - t

    t = stage("building decision points")
    dp = build_points(inputs)
    seconds["decision_points"] = time.perf_counter() - t

    t = stage("splitting by intake date")
    rows = training_rows(dp, planned_share=planned_share(inputs.tables.episodes))
    logger.info(rows.note())
    split = split_by_intake(
        dp,
        inputs.tables.clients,
        holdout_fraction=config.holdout_fraction,
        validation_fraction=config.validation_fraction,
    )
    truth = align_truth(dp.frame, inputs.truth, dp.actions) if inputs.truth is not None else None
    seconds["split"] = time.perf_counter() - t

    models = fit_models(dp, split, rows, config, seed=seed, progress=progress)
    seconds.update(models.seconds)

    t = stage("choosing the learner on the validation clients")
    metric = selection_metric(truth is not None)
    base_metadata = {
        "training_window": _window(dp, split.train & rows.outcome),
        "data": {k: v for k, v in inputs.fingerprint.items() if k != "files"},
        "split": split.summary(dp),
        "seed": seed,
        "target": config.target,
        "horizon_days": config.horizon_days,
        "inferred_dropped": rows.n_inferred_dropped,
        "polku_version": _polku_version(),
    }

    # Intervals are not calibrated yet and play no part in the choice: skip them.
    def validation_figures(name: str) -> dict[str, Any]:
        router = make_router(inputs, models, name, base_metadata)
        return evaluate_scores(
            router, dp, split.validation, truth, seed=seed, intervals=False, sensitivity=False
        ).figures

    rounds_tried: dict[str, dict[int, float | None]] = {}
    # Each candidate's figures by its rounds: the chosen one is not scored twice.
    scored: dict[str, dict[int, dict[str, Any]]] = {}
    if config.choose_rounds:
        for name in list(models.learners):
            fitted = models.learners[name]

            def value_of(candidate: OutcomeLearner, name: str = name) -> float | None:
                assert isinstance(candidate, SLearner)  # choose_rounds cuts S-learners only
                models.learners[name] = candidate
                figures = validation_figures(name)
                scored.setdefault(name, {})[candidate.n_rounds_] = figures
                return figures.get(metric)

            models.learners[name], rounds_tried[name] = choose_rounds(fitted, value_of)

    def figures_of(name: str) -> dict[str, Any]:
        known = scored.get(name, {}).get(getattr(models.learners[name], "n_rounds_", -1))
        return known if known is not None else validation_figures(name)

    routers = {name: make_router(inputs, models, name, base_metadata) for name in models.learners}
    validation = {name: figures_of(name) for name in routers}
    chosen = select_learner(validation, metric=metric)
    seconds["select"] = time.perf_counter() - t

    calibrations: dict[str, tuple[float, float]] = {}
    if config.recalibrate:
        t = stage("recalibrating p_outcome on the validation clients")
        val_data = outcome_data(dp, models.X, split.validation & rows.outcome)
        for name, learner in models.learners.items():
            calibrations[name] = learner.recalibrate(val_data.X, val_data.actions, val_data.y)
        seconds["recalibrate"] = time.perf_counter() - t

    widths: dict[str, float | None] = dict.fromkeys(models.learners)
    if truth is not None:
        t = stage("calibrating intervals on the validation clients")
        val_rows = evaluable_rows(dp, split.validation)
        val_eligible = dp.eligibility()[val_rows]
        for name, learner in models.learners.items():
            widths[name] = calibrate_intervals(
                learner,
                models.X[val_rows],
                truth[val_rows],
                val_eligible,
                level=routers[name].interval_level,
            )
        seconds["calibrate"] = time.perf_counter() - t

    if config.refit:
        # Chosen and calibrated on validation; now learn from those clients too.
        t = stage(f"refitting {chosen} on the training and validation clients")
        models.learners[chosen] = refit_learner(models, dp, split, rows, config, chosen, seed=seed)
        routers[chosen] = make_router(inputs, models, chosen, base_metadata)
        seconds[f"refit_{chosen}"] = time.perf_counter() - t

    t = stage("evaluating every learner on the held-out clients")
    details = {
        name: evaluate_scores(router, dp, split.test, truth, seed=seed)
        for name, router in routers.items()
    }
    test = {name: detail.figures for name, detail in details.items()}
    seconds["evaluate"] = time.perf_counter() - t

    router = routers[chosen]
    # The golden cases' top services travel with the model; whoever serves it
    # checks that the serving path reproduces them (model.golden).
    router.metadata[GOLDEN_KEY] = expected_top_services(router)
    golden_problems = check_golden(router)
    if golden_problems:
        logger.warning("golden cases: %s", "; ".join(golden_problems))
    router.metadata.update(
        {
            "selection": {
                "metric": metric,
                "validation": {n: v[metric] for n, v in validation.items()},
                "rounds": {
                    n: {str(k): v for k, v in tried.items()}
                    for n, tried in rounds_tried.items()
                    if tried
                },
            },
            "interval_width": widths[chosen],
            "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
    )
    result = TrainingResult(
        inputs=inputs,
        dp=dp,
        rows=rows,
        split=split,
        models=models,
        chosen=chosen,
        metric=metric,
        validation=validation,
        test=test,
        details=details,
        router=router,
        seed=seed,
        interval_widths=widths,
        seconds=seconds,
        golden_problems=golden_problems,
    )
    t = stage("writing the fairness report and the model card")
    attach_reports(result, truth)
    seconds["report"] = time.perf_counter() - t
    return result


def attach_reports(result: TrainingResult, truth: np.ndarray | None) -> None:
    """The fairness report (held-out clients) and the model card of this run (issue 5)."""
    from training.reports import build_reports

    details = model_card(result)
    reports = build_reports(
        router=result.router,
        decision_points=result.dp,
        rows_mask=result.split.test,
        truth=truth,
        config=result.inputs.config,
        model={"name": None, "version": None, "learner": result.chosen},
        evaluation=result.evaluation,
        learners=result.test,
        validation=result.validation,
        data=details["data"],
    )
    result.fairness_report = reports.fairness
    card = {**reports.card, "training": details}
    chosen = result.details[result.chosen]
    sensitivity = sensitivity_card(chosen.extra, result.evaluation)
    if sensitivity is not None:
        card["sensitivity"] = sensitivity
        card["limitations"] = [*card.get("limitations", []), sensitivity_limitation(sensitivity)]
    result.model_card = card


def write_plots(result: TrainingResult, folder: Path) -> list[Path]:
    """Calibration, policy value by learner and uplift by service, as PNG files."""
    from training.plots import calibration_plot, policy_value_plot, uplift_by_service_plot

    chosen = result.details[result.chosen]
    paths = [calibration_plot(chosen.calibration, folder / "calibration.png")]
    values: dict[str, dict[str, float]] = {}
    for name, detail in result.details.items():
        figures = detail.figures
        if result.has_truth and figures.get("v_rec") is not None:
            values[name] = {k: figures[k] for k in ("v_hist", "v_rec", "v_oracle", "capture_ratio")}
        else:  # without truth: observed rate against the doubly-robust estimate
            values[name] = {
                "v_hist": detail.extra.get("observed_rate", float("nan")),
                "v_rec": figures.get("dr_value") or float("nan"),
                "v_oracle": float("nan"),
            }
    paths.append(policy_value_plot(values, folder / "policy_value_by_learner.png"))
    paths.append(uplift_by_service_plot(chosen.uplift, folder / "uplift_by_service.png"))
    return paths


# --------------------------------------------------------------------------
# reports (hooks: the fairness issue fills these in)
# --------------------------------------------------------------------------


def model_card(result: TrainingResult) -> dict[str, Any]:
    """The model card logged with the run and served by the API.

    A hook: the fairness and reporting issue extends it. It never holds
    personal data: counts, dates, settings and figures only.
    """
    inputs = result.inputs
    return {
        "model": {
            "learner": result.chosen,
            "selection": f"best validation {result.metric} among {', '.join(result.test)}",
            "target": inputs.config.target,
            "horizon_days": inputs.config.horizon_days,
            "catalogue": inputs.catalogue.source,
            "protected_attributes_not_used": list(inputs.config.protected_attributes),
            "polku_version": _polku_version(),
        },
        "intended_use": (
            "Decision support for integration-service caseworkers: ranks the next services "
            "for one client; a person decides and can override."
        ),
        "data": {
            "fingerprint": inputs.fingerprint["sha256"],
            "rows": inputs.fingerprint.get("rows"),
            "date_window": inputs.fingerprint.get("date_window"),
            "training_window": _window(result.dp, result.split.train & result.rows.outcome),
            "split": result.split.summary(result.dp),
            "outcome_training_rows": int((result.split.train & result.rows.outcome).sum()),
            "propensity_training_rows": int((result.split.train & result.rows.propensity).sum()),
            "inferred_no_new_service": result.rows.note(),
        },
        "evaluation": result.evaluation,
        "evaluation_by_learner": result.test,
        "golden_cases": {
            "expected_top_services": result.router.metadata.get(GOLDEN_KEY),
            "problems": result.golden_problems,
        },
        "limitations": [
            "Evaluated on the newest clients by intake date, on decision points whose outcome "
            "window is complete and whose action is known.",
            "Without the simulator's truth, the policy value is an off-policy estimate that "
            "assumes no unmeasured confounding.",
        ],
        "fairness": None,
    }
