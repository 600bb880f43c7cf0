"""Searching a learner's hyperparameters with Optuna (`polku tune`).

The data are read, split and encoded once as `polku train` does, and the
propensity model and the referee (`training.pipeline.compare`) are fitted
once. Every trial then fits the learner with the hyperparameters Optuna's
TPE sampler proposes on the training clients and scores it as training
chooses: the doubly-robust value, as graded by the referee, of following
its first suggestion on the validation clients. The held-out clients and
the simulator's truth play no part.

The S-learner is scored at a quarter, half, three quarters and all of its
rounds (the cuts `choose_rounds` tries, cheapest first); the value at each
cut is reported to Optuna's median pruner, which stops a trial whose value
so far is below the median of the earlier trials at the same cut. A trial's
value is that of its best cut, and the best trial's rounds become its
`n_estimators`. The first trial is always the configuration's own
hyperparameters, so the best is never worse on validation than what
`polku train` would fit. The bootstrap bags that only widen intervals are
left out while searching (they do not change the ranking) and kept as
configured in the written configuration.
"""

from __future__ import annotations

import inspect
import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import optuna

from model.config import LearnerParam, RunConfig, load_config
from model.decision_points.points import DecisionPoints
from model.errors import ConfigError
from model.learners.kinds import LEARNERS
from model.learners.outcome import OutcomeLearner
from model.learners.s_learner import SLearner
from training.pipeline.choose import round_candidates
from training.pipeline.compare import Referee, fit_referee
from training.pipeline.fit import (
    FittedModels,
    fit_shared,
    make_router,
    new_learner,
    no_progress,
    outcome_data,
)
from training.pipeline.inputs import Inputs, build_points, load_inputs
from training.pipeline.rows import planned_share, training_rows
from training.pipeline.split import split_clients
from training.router_figures import evaluable_rows

logger = logging.getLogger(__name__)

# The metric every trial maximises (the one `polku train` chooses by).
TUNING_METRIC: Final = "referee_value"
# Learners that can be tuned, and the ranges searched for each.
SEARCH_SPACES: Final[dict[str, dict[str, tuple[str, float, float]]]] = {
    "s_learner": {
        "n_estimators": ("int_log", 40, 600),
        "learning_rate": ("float_log", 0.02, 0.3),
        "num_leaves": ("int", 3, 31),
        "min_child_samples": ("int_log", 20, 500),
    },
    "dr_learner": {
        "n_estimators": ("int_log", 50, 600),
        "learning_rate": ("float_log", 0.02, 0.3),
        "num_leaves": ("int", 3, 31),
        "min_child_samples": ("int_log", 20, 500),
        "nuisance_estimators": ("int_log", 50, 400),
    },
}


@dataclass(frozen=True)
class TrialRecord:
    """One finished trial: its hyperparameters, value (None when pruned) and values per cut."""

    number: int
    params: dict[str, LearnerParam]
    value: float | None
    state: str
    rounds: int | None
    values_by_rounds: dict[int, float]
    seconds: float


@dataclass
class TuningResult:
    """The study's outcome: the best hyperparameters and the configuration that uses them."""

    learner: str
    best_params: dict[str, LearnerParam]
    best_value: float
    baseline_value: float | None
    config: RunConfig
    trials: list[TrialRecord] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    inputs: Inputs | None = None


@dataclass(frozen=True)
class _Prepared:
    inputs: Inputs
    dp: DecisionPoints
    models: FittedModels
    referee: Referee
    validation_rows: np.ndarray
    train_rows: np.ndarray
    seed: int


def tune(
    data_dir: str | Path,
    *,
    trials: int,
    timeout: float | None = None,
    learner: str = "s_learner",
    catalogue_path: str | Path | None = None,
    config_path: str | Path | None = None,
    on_trial: Callable[[TrialRecord], None] | None = None,
    progress: Callable[[str], None] = no_progress,
) -> TuningResult:
    """Search `learner`'s hyperparameters for `trials` trials (or until `timeout` seconds)."""
    check_request(learner, trials)
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    prepared = _prepare(data_dir, catalogue_path, config_path, progress)
    seconds["prepare"] = time.perf_counter() - started
    config = prepared.inputs.config
    baseline = _configured_params(config, learner)

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=prepared.seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=4, n_warmup_steps=1),
    )
    study.enqueue_trial(baseline, skip_if_exists=True)
    records: list[TrialRecord] = []

    def objective(trial: optuna.Trial) -> float:
        began = time.perf_counter()
        params = _suggest(trial, learner)
        progress(f"trial {trial.number + 1} of {trials}")
        values: dict[int, float] = {}
        try:
            value, rounds = _score_trial(prepared, learner, params, trial, values)
        except optuna.TrialPruned:
            _record(records, on_trial, trial.number, params, None, "pruned", None, values, began)
            raise
        trial.set_user_attr("rounds", rounds)
        _record(records, on_trial, trial.number, params, value, "complete", rounds, values, began)
        return value

    started = time.perf_counter()
    study.optimize(objective, n_trials=trials, timeout=timeout, gc_after_trial=True)
    seconds["search"] = time.perf_counter() - started
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not done:
        raise ConfigError("no trial finished; give more time (--timeout) or more trials")
    best = study.best_trial
    best_params: dict[str, LearnerParam] = dict(best.params)
    rounds = best.user_attrs.get("rounds")
    if rounds is not None:
        best_params["n_estimators"] = int(rounds)
    baseline_value = next((r.value for r in records if r.number == 0 and r.value is not None), None)
    return TuningResult(
        learner=learner,
        best_params=best_params,
        best_value=float(best.value if best.value is not None else math.nan),
        baseline_value=baseline_value,
        config=tuned_config(config, learner, best_params),
        trials=records,
        seconds=seconds,
        inputs=prepared.inputs,
    )


def check_request(learner: str, trials: int) -> None:
    """Refuse a learner that cannot be tuned, or no trials, before anything is read."""
    if learner not in SEARCH_SPACES:
        raise ConfigError(f"cannot tune {learner!r}; choose one of {', '.join(SEARCH_SPACES)}")
    if trials < 1:
        raise ConfigError("--trials must be at least 1")


def tuned_config(config: RunConfig, learner: str, params: dict[str, LearnerParam]) -> RunConfig:
    """The configuration with `learner`'s hyperparameters replaced by `params`."""
    learner_params = {name: dict(values) for name, values in config.learner_params.items()}
    learner_params[learner] = {**learner_params.get(learner, {}), **params}
    return config.model_copy(update={"learner_params": learner_params})


def _prepare(
    data_dir: str | Path,
    catalogue_path: str | Path | None,
    config_path: str | Path | None,
    progress: Callable[[str], None],
) -> _Prepared:
    progress("reading and validating the data")
    inputs = load_inputs(data_dir, catalogue_path=catalogue_path, config_path=config_path)
    config = inputs.config
    progress("building decision points")
    dp = build_points(inputs)
    rows = training_rows(dp, planned_share=planned_share(inputs.tables.episodes))
    split = split_clients(
        dp,
        inputs.tables.clients,
        method=config.split,
        holdout_fraction=config.holdout_fraction,
        validation_fraction=config.validation_fraction,
        seed=config.seed,
    )
    models = fit_shared(dp, split, rows, config, seed=config.seed, progress=progress)
    progress("fitting the referee on the validation clients")
    validation = evaluable_rows(dp, split.validation)
    eligible = dp.eligibility()[validation]
    referee = fit_referee(
        outcome_data(dp, models.X, validation),
        models.propensity.predict_proba(models.X[validation], eligible),
        n_actions=len(dp.actions),
        categorical_features=list(models.encoder.categorical_indices),
        seed=config.seed,
        num_threads=config.num_threads,
    )
    return _Prepared(
        inputs=inputs,
        dp=dp,
        models=models,
        referee=referee,
        validation_rows=validation,
        train_rows=models.outcome_rows,
        seed=config.seed,
    )


def _configured_params(config: RunConfig, learner: str) -> dict[str, LearnerParam]:
    """The searched hyperparameters as the configuration sets them (else the defaults)."""
    defaults = inspect.signature(LEARNERS[learner]).parameters
    configured = config.learner_params.get(learner, {})
    out: dict[str, LearnerParam] = {}
    for name in SEARCH_SPACES[learner]:
        value = configured.get(name, defaults[name].default)
        out[name] = value
    return out


def _suggest(trial: optuna.Trial, learner: str) -> dict[str, LearnerParam]:
    params: dict[str, LearnerParam] = {}
    for name, (kind, low, high) in SEARCH_SPACES[learner].items():
        if kind.startswith("int"):
            params[name] = trial.suggest_int(name, int(low), int(high), log=kind.endswith("log"))
        else:
            params[name] = trial.suggest_float(name, low, high, log=kind.endswith("log"))
    return params


def _score_trial(
    prepared: _Prepared,
    learner: str,
    params: dict[str, LearnerParam],
    trial: optuna.Trial,
    values: dict[int, float],
) -> tuple[float, int | None]:
    """Fit the learner with `params` and grade it on the validation clients (see the module
    docstring); the best value and, for the S-learner, the rounds that gave it."""
    config = prepared.inputs.config
    searching = dict(params)
    if learner == "s_learner":
        searching["n_bags"] = 0  # intervals only; the ranking uses the main model
    fitted = new_learner(
        learner,
        prepared.models,
        prepared.dp,
        tuned_config(config, learner, searching),
        prepared.seed,
    ).fit(outcome_data(prepared.dp, prepared.models.X, prepared.train_rows))
    cuts: list[tuple[int | None, OutcomeLearner]]
    if isinstance(fitted, SLearner) and config.choose_rounds:
        cuts = [(rounds, cut) for rounds, cut in sorted(round_candidates(fitted).items())]
    elif isinstance(fitted, SLearner):
        cuts = [(fitted.n_rounds_, fitted)]
    else:
        cuts = [(None, fitted)]
    frame = prepared.dp.frame.loc[prepared.validation_rows]
    eligible = prepared.dp.eligibility()[prepared.validation_rows]
    best, best_rounds = -math.inf, None
    for step, (rounds, cut) in enumerate(cuts):
        router = make_router(prepared.inputs, prepared.models, learner, {}, learner=cut)
        recommended = router.score(frame, eligible=eligible, intervals=False).recommended
        value = float(prepared.referee.terms(recommended).mean())
        if rounds is not None:
            values[rounds] = value
        # Later (longer) cuts win ties, as in training, where a shorter cut must be better.
        if value >= best:
            best, best_rounds = value, rounds
        trial.report(best, step)
        if trial.should_prune():
            raise optuna.TrialPruned()
    return best, best_rounds


def _record(
    records: list[TrialRecord],
    on_trial: Callable[[TrialRecord], None] | None,
    number: int,
    params: dict[str, LearnerParam],
    value: float | None,
    state: str,
    rounds: int | None,
    values: dict[int, float],
    began: float,
) -> None:
    record = TrialRecord(
        number=number,
        params=dict(params),
        value=value,
        state=state,
        rounds=rounds,
        values_by_rounds=dict(values),
        seconds=time.perf_counter() - began,
    )
    records.append(record)
    logger.info("trial %d %s: %s", number, state, value)
    if on_trial is not None:
        on_trial(record)


def write_config(config: RunConfig, path: Path) -> Path:
    """Write a run configuration as TOML that `polku train --config` reads back unchanged.

    Only the fields that differ from the defaults are written.
    """
    values = config.model_dump(mode="json", exclude_defaults=True)
    lines = ["# Written by `polku tune`: the run configuration with the best hyperparameters."]
    tables: list[tuple[str, dict[str, Any]]] = []
    for key, value in values.items():
        if isinstance(value, dict):
            tables.append((key, value))
        else:
            lines.append(f"{key} = {_toml_value(value)}")
    for key, table in tables:
        nested = {k: v for k, v in table.items() if isinstance(v, dict)}
        plain = {k: v for k, v in table.items() if not isinstance(v, dict)}
        if plain or not nested:
            lines += [
                "",
                f"[{key}]",
                *(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in plain.items()),
            ]
        for name, inner in nested.items():
            lines += [
                "",
                f"[{key}.{_toml_key(name)}]",
                *(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in inner.items()),
            ]
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "\n".join(lines) + "\n"
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    if load_config(partial) != config:
        partial.unlink()
        raise ConfigError(f"{path}: the written configuration does not read back the same")
    partial.replace(path)
    return path


def _toml_key(key: str) -> str:
    return key if key.replace("_", "").replace("-", "").isalnum() else json.dumps(key)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise ConfigError(f"cannot write {value!r} to a run configuration")
