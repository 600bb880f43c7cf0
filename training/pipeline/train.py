"""The whole training run: every step in order, then the model card and fairness report."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from model.config import RunConfig
from model.decision_points.points import DecisionPoints
from model.golden import METADATA_KEY as GOLDEN_KEY
from model.golden import check_golden, expected_top_services
from model.learners.outcome import OutcomeLearner
from model.model_card import sensitivity_card, sensitivity_limitation
from model.router import Router
from training.pipeline.choose import (
    SELECTION_METRIC,
    interval_width_from_outcomes,
    round_candidates,
)
from training.pipeline.compare import choose, fit_referee
from training.pipeline.fit import (
    FittedModels,
    Progress,
    fit_models,
    make_router,
    no_progress,
    outcome_data,
    refit_learner,
)
from training.pipeline.inputs import Inputs, build_points, load_inputs
from training.pipeline.policy import summarise_policy
from training.pipeline.result import TrainingResult, decision_window, polku_version
from training.pipeline.rows import TrainingRows, planned_share, training_rows
from training.pipeline.split import Split, split_clients
from training.pipeline.units import correct_with_units, units_limitation
from training.pipeline.waits import combined_adjustment, correct_with_waits, waits_limitation
from training.router_figures import evaluable_rows, evaluate_scores
from training.truth import align_truth

logger = logging.getLogger(__name__)


def train(
    data_dir: str | Path,
    *,
    catalogue_path: str | Path | None = None,
    config_path: str | Path | None = None,
    truth_path: str | Path | None = None,
    seed: int | None = None,
    progress: Progress = no_progress,
) -> TrainingResult:
    """Run the pipeline end to end; `seed` defaults to the configuration's."""
    seconds: dict[str, float] = {}
    started_at = time.time()

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

    t = stage("splitting the clients")
    rows = training_rows(dp, planned_share=planned_share(inputs.tables.episodes))
    logger.info(rows.note())
    split = split_clients(
        dp,
        inputs.tables.clients,
        method=config.split,
        holdout_fraction=config.holdout_fraction,
        validation_fraction=config.validation_fraction,
        seed=seed,
    )
    truth = align_truth(dp.frame, inputs.truth, dp.actions) if inputs.truth is not None else None
    seconds["split"] = time.perf_counter() - t

    models = fit_models(dp, split, rows, config, seed=seed, progress=progress)
    seconds.update(models.seconds)

    t = stage("choosing the learner on the validation clients")
    run = _Run(inputs, dp, rows, split, models, truth, seed)
    choice = choose_learner(run)
    seconds["select"] = time.perf_counter() - t

    if config.recalibrate:
        t = stage("recalibrating p_outcome on the validation clients")
        val_data = outcome_data(dp, models.X, split.validation & rows.outcome)
        for learner in models.learners.values():
            learner.recalibrate(val_data.X, val_data.actions, val_data.y)
        seconds["recalibrate"] = time.perf_counter() - t

    t = stage("setting interval widths on the validation clients")
    widths = interval_widths(run)
    seconds["calibrate"] = time.perf_counter() - t

    chosen = choice.chosen
    t = stage("checking the services' effects against the assignment units")
    units = correct_with_units(
        dp=dp,
        clients=inputs.tables.clients,
        units=config.assignment_units,
        split=split,
        models=models,
        learner=models.learners[chosen],
    )
    seconds["units"] = time.perf_counter() - t
    t = stage("checking the services' effects against what clients did while they waited")
    waits = correct_with_waits(
        dp=dp,
        tables=inputs.tables,
        catalogue=inputs.catalogue,
        config=config,
        split=split,
        models=models,
        learner=models.learners[chosen],
    )
    waits = waits.with_mode(config.correct_with_waits)
    adjustment = combined_adjustment(units, waits)
    choice.routers[chosen].adjustment_from(adjustment)
    seconds["waits"] = time.perf_counter() - t

    if config.refit:
        # Chosen and calibrated on validation; now learn from those clients too.
        t = stage(f"refitting {chosen} on the training and validation clients")
        models.learners[chosen] = refit_learner(models, dp, split, rows, config, chosen, seed=seed)
        choice.routers[chosen] = make_router(inputs, models, chosen, choice.metadata)
        choice.routers[chosen].adjustment_from(adjustment)
        seconds[f"refit_{chosen}"] = time.perf_counter() - t

    t = stage("evaluating every learner on the held-out clients")
    details = {
        name: evaluate_scores(router, dp, split.test, truth, seed=seed)
        for name, router in choice.routers.items()
    }
    seconds["evaluate"] = time.perf_counter() - t

    router = choice.routers[chosen]
    router.metadata["assignment_units"] = units.record(dp.actions)
    router.metadata["waits"] = waits.record()
    if units.correction is not None:
        logger.info(units.note)
    golden_problems = seal_router(router, choice, widths[chosen])
    result = TrainingResult(
        inputs=inputs,
        dp=dp,
        rows=rows,
        split=split,
        models=models,
        chosen=chosen,
        metric=choice.metric,
        validation=choice.validation,
        test={name: detail.figures for name, detail in details.items()},
        details=details,
        router=router,
        seed=seed,
        interval_widths=widths,
        seconds=seconds,
        golden_problems=golden_problems,
        started_at=started_at,
    )
    t = stage("summarising the recommendations in a few rules")
    result.policy_summary = summarise_policy(result, truth)
    seconds["policy_tree"] = time.perf_counter() - t
    t = stage("writing the fairness report and the model card")
    attach_reports(result, truth)
    if result.policy_summary is not None:
        result.model_card["policy_summary"] = result.policy_summary
    seconds["report"] = time.perf_counter() - t
    return result


@dataclass(frozen=True)
class _Run:
    """What the steps after fitting share."""

    inputs: Inputs
    dp: DecisionPoints
    rows: TrainingRows
    split: Split
    models: FittedModels
    truth: np.ndarray | None
    seed: int

    @property
    def config(self) -> RunConfig:
        return self.inputs.config


@dataclass
class LearnerChoice:
    """The learner chosen on validation, every learner's router and validation figures."""

    chosen: str
    metric: str
    validation: dict[str, dict[str, Any]]
    routers: dict[str, Router]
    rounds_tried: dict[str, dict[int, float | None]]
    metadata: dict[str, Any]
    comparison: dict[str, Any]


def run_metadata(run: _Run) -> dict[str, Any]:
    """What every router of the run carries about its data, split and settings."""
    dp, split, config = run.dp, run.split, run.config
    return {
        "training_window": decision_window(dp, split.train & run.rows.outcome),
        "data": {k: v for k, v in run.inputs.fingerprint.items() if k != "files"},
        "split": split.summary(dp),
        "seed": run.seed,
        "target": config.target,
        "horizon_days": config.horizon_days,
        "inferred_dropped": run.rows.n_inferred_dropped,
        "polku_version": polku_version(),
    }


def choose_learner(run: _Run) -> LearnerChoice:
    """Cut each S-learner to its best rounds, then choose the learner, on validation clients.

    Both choices compare candidate policies by their doubly-robust value as
    graded by one referee fitted on the validation clients
    (`training.pipeline.compare`); the truth is for the evaluation alone.
    """
    models = run.models
    metadata = run_metadata(run)
    rows = evaluable_rows(run.dp, run.split.validation)
    frame = run.dp.frame.loc[rows]
    eligible = run.dp.eligibility()[rows]
    referee = fit_referee(
        outcome_data(run.dp, models.X, rows),
        models.propensity.predict_proba(models.X[rows], eligible),
        n_actions=len(run.dp.actions),
        categorical_features=list(models.encoder.categorical_indices),
        seed=run.seed,
        num_threads=run.config.num_threads,
    )

    def recommended(name: str, learner: OutcomeLearner) -> np.ndarray:
        router = make_router(run.inputs, models, name, metadata, learner=learner)
        return router.score(frame, eligible=eligible, intervals=False).recommended

    rounds_tried: dict[str, dict[int, float | None]] = {}
    if run.config.choose_rounds:
        for name, fitted in list(models.learners.items()):
            candidates = round_candidates(fitted)
            if len(candidates) < 2:
                continue
            picked = choose(
                {str(r): recommended(name, learner) for r, learner in candidates.items()}, referee
            )
            models.learners[name] = candidates[int(picked.chosen)]
            rounds_tried[name] = {r: picked.standings[str(r)].value for r in candidates}

    choice = choose(
        {name: recommended(name, learner) for name, learner in models.learners.items()}, referee
    )
    routers = {name: make_router(run.inputs, models, name, metadata) for name in models.learners}
    # Every learner's other validation figures, for the record (intervals are not set yet).
    validation = {
        name: {
            **evaluate_scores(
                router,
                run.dp,
                run.split.validation,
                None,
                seed=run.seed,
                intervals=False,
                sensitivity=False,
            ).figures,
            SELECTION_METRIC: choice.standings[name].value,
        }
        for name, router in routers.items()
    }
    return LearnerChoice(
        chosen=choice.chosen,
        metric=SELECTION_METRIC,
        validation=validation,
        routers=routers,
        rounds_tried=rounds_tried,
        metadata=metadata,
        comparison=choice.as_dict(),
    )


def interval_widths(run: _Run) -> dict[str, float | None]:
    """Each learner's interval width, from its errors on the validation clients' outcomes."""
    val_data = outcome_data(run.dp, run.models.X, run.split.validation & run.rows.outcome)
    return {
        name: interval_width_from_outcomes(learner, val_data.X, val_data.actions, val_data.y)
        for name, learner in run.models.learners.items()
    }


def seal_router(router: Router, choice: LearnerChoice, width: float | None) -> list[str]:
    """Give the served router its golden cases and the record of its choice; the golden
    cases' problems (none when the serving path reproduces them)."""
    # The golden cases' top services travel with the model; whoever serves it
    # checks that the serving path reproduces them (model.golden).
    router.metadata[GOLDEN_KEY] = expected_top_services(router)
    golden_problems = check_golden(router)
    if golden_problems:
        logger.warning("golden cases: %s", "; ".join(golden_problems))
    metric = choice.metric
    router.metadata.update(
        {
            "selection": {
                "metric": metric,
                "validation": {n: v[metric] for n, v in choice.validation.items()},
                "rounds": {
                    n: {str(k): v for k, v in tried.items()}
                    for n, tried in choice.rounds_tried.items()
                    if tried
                },
                "comparison": choice.comparison,
            },
            "interval_width": width,
            "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
    )
    return golden_problems


def attach_reports(result: TrainingResult, truth: np.ndarray | None) -> None:
    """The fairness report (held-out clients) and the model card of this run."""
    from training.reports.build import build_reports

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
    units = result.router.metadata.get("assignment_units")
    if units is not None:
        card["assignment_units"] = units
        card["limitations"] = [*card.get("limitations", []), units_limitation(units)]
    waits = result.router.metadata.get("waits")
    if waits is not None:
        card["waits"] = waits
        card["limitations"] = [*card.get("limitations", []), waits_limitation(waits)]
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


def model_card(result: TrainingResult) -> dict[str, Any]:
    """The model card's training part, logged with the run and served by the API.

    It never holds personal data: counts, dates, settings and figures only.
    """
    inputs = result.inputs
    return {
        "model": {
            "learner": result.chosen,
            "selection": (
                f"best validation {result.metric} among {', '.join(result.test)}"
                if len(result.test) > 1
                else f"the only learner configured ({result.chosen})"
            ),
            "target": inputs.config.target,
            "horizon_days": inputs.config.horizon_days,
            "catalogue": inputs.catalogue.source,
            "protected_attributes_not_used": list(inputs.config.protected_attributes),
            "polku_version": polku_version(),
        },
        "intended_use": (
            "Decision support for integration-service caseworkers: ranks the next services "
            "for one client; a person decides and can override."
        ),
        "data": {
            "fingerprint": inputs.fingerprint["sha256"],
            "rows": inputs.fingerprint.get("rows"),
            "date_window": inputs.fingerprint.get("date_window"),
            "training_window": decision_window(result.dp, result.split.train & result.rows.outcome),
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
