"""Decision quality on worlds Polku has never seen: a fixed family of generated worlds.

Each world is drawn by `polku simulate --scenario random --seed S`: its own
services, eligibility rules, effects, caseworker habits, hidden selection,
assignment units, extra columns, recorded plans and intake cohorts. On each,
Polku is trained exactly as a newcomer would train it (`polku train` with the
world's own catalogue and configuration: `training.pipeline.train`), and
scored on its held-out clients against the world's exact truth:

- capture ratio (V_rec - V_hist) / (V_oracle - V_hist), V_rec;
- the doubly-robust interval of V_rec, and whether it covers the true V_rec;
- expected calibration error of p_outcome;

beside, on the same training rows and held-out points,
- EconML's DRLearner (`bench.peers.econml_recommendations`), and
- the world's observable ceiling (`bench.peers.observable_ceiling`): a
  LightGBM regression of each action's truth on the features Polku sees.

`WORLD_SEEDS` were fixed in this file before any method was tuned on them;
`DEVELOPMENT_SEEDS` are the worlds methods were developed on, reported apart.
The truth never reaches training: the data folder handed to the pipeline has
no truth file, which is read only here, for the scores.

    make bench-setup
    .venv/bin/python bench/generalise.py [--set fixed|development] [--clients 20000] [--jobs 2]

Not a test: it takes a long time. Figures go to bench/RESULTS.md by hand.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# Fixed before any tuning; never change them to make a figure look better.
WORLD_SEEDS = tuple(range(1001, 1031))
DEVELOPMENT_SEEDS = tuple(range(2001, 2011))
OUT = ROOT / "bench" / "out"


def simulate(seed: int, clients: int, folder: Path, hidden_selection: float | None = None) -> Path:
    """Draw world `seed` with the command line, as a newcomer would."""
    polku = Path(sys.executable).parent / "polku"
    extra = [] if hidden_selection is None else ["--hidden-selection", str(hidden_selection)]
    subprocess.run(
        [
            str(polku),
            "simulate",
            "--scenario",
            "random",
            "--seed",
            str(seed),
            "--clients",
            str(clients),
            "--out",
            str(folder),
            "--format",
            "parquet",
            *extra,
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return folder


def world_traits(folder: Path) -> dict[str, Any]:
    """What the world's design says about it (world.json), for the per-world table."""
    path = folder / "world.json"
    if not path.is_file():
        return {}
    design = json.loads(path.read_text("utf-8"))
    return design.get("summary", design)


def score_world(
    seed: int,
    clients: int,
    work: Path,
    *,
    peers: bool,
    learners: tuple[str, ...] | None = None,
    hidden_selection: float | None = None,
    s_learner: str | None = None,
) -> dict[str, Any]:
    from bench.peers import econml_recommendations, observable_ceiling
    from model.evaluation.policy_value import policy_values
    from training.pipeline import train
    from training.pipeline.fit import make_router
    from training.router_figures import action_indices, evaluable_rows
    from training.truth import align_truth, read_truth

    started = time.perf_counter()
    world = simulate(seed, clients, work / f"world-{seed}", hidden_selection)
    simulated = time.perf_counter() - started
    # The pipeline never sees the truth: it lies outside the data folder.
    truth_file = next(world.glob("truth.*"))
    truth_path = work / f"truth-{seed}{truth_file.suffix}"
    shutil.move(truth_file, truth_path)
    if learners:
        with_learners(world / "config.toml", learners)
    if s_learner:
        with_s_learner(world / "config.toml", s_learner)
    started = time.perf_counter()
    result = train(
        world,
        catalogue_path=world / "catalogue.toml",
        config_path=world / "config.toml",
    )
    trained = time.perf_counter() - started
    dp, split, models = result.dp, result.split, result.models
    truth = align_truth(dp.frame, read_truth(truth_path), dp.actions)
    taken = action_indices(dp.frame, dp.actions)
    eligible = dp.eligibility()
    test_rows = evaluable_rows(dp, split.test)

    def capture(recommended: np.ndarray) -> dict[str, Any]:
        values = policy_values(
            truth=truth[test_rows],
            eligible=eligible[test_rows],
            taken=taken[test_rows],
            recommended=recommended,
        )
        return values.as_dict()

    from training.router_figures import evaluate_scores

    chosen = evaluate_scores(result.router, dp, split.test, truth, seed=result.seed)
    figures = chosen.figures
    out: dict[str, Any] = {
        "seed": seed,
        "clients": clients,
        "traits": world_traits(world),
        "chosen": result.chosen,
        "split": split.summary(dp)["method"],
        "seconds": {"simulate": simulated, "train": trained},
        "load_average": os.getloadavg(),
        "polku": {
            k: figures.get(k)
            for k in (
                "v_hist",
                "v_rec",
                "v_oracle",
                "capture_ratio",
                "dr_value",
                "dr_low",
                "dr_high",
                "ece",
                "auc",
                "coverage",
                "agreement_at_1",
            )
        },
        "break_even_lambda": chosen.extra.get("break_even_lambda"),
        "waits": (result.router.metadata.get("waits") or {}).get("note"),
        "adjustment": [float(v) for v in result.router.adjustment],
        "learners": learner_captures(result, test_rows, capture, make_router),
        "waits_variants": waits_variants(result, test_rows, capture, make_router),
        "units_variants": units_variants(result, test_rows, capture, make_router),
        "round_cut_average": round_cut_average(result, test_rows, capture, make_router),
        "referee_dr": referee_dr(result, test_rows),
    }
    p = out["polku"]
    out["polku"]["dr_covers"] = (
        None
        if p["dr_low"] is None or p["v_rec"] is None
        else bool(p["dr_low"] <= p["v_rec"] <= p["dr_high"])
    )
    if not peers:
        return out
    actions = list(dp.actions)
    y = dp.frame["label"].to_numpy(dtype=float)
    train_rows = split.train & result.rows.outcome
    started = time.perf_counter()
    out["econml"] = capture(
        econml_recommendations(
            models.X[train_rows],
            taken[train_rows],
            y[train_rows],
            models.X[test_rows],
            eligible[test_rows],
            actions,
            seed=seed,
        )
    ) | {"seconds": time.perf_counter() - started}
    truth_rows = split.train & np.isfinite(truth).any(axis=1)
    out["ceiling"] = capture(
        observable_ceiling(
            models.X[truth_rows],
            truth[truth_rows],
            eligible[truth_rows],
            models.X[test_rows],
            eligible[test_rows],
            seed=seed,
        )
    )
    return out


def with_learners(config_path: Path, learners: tuple[str, ...]) -> None:
    """Replace the world's `learners` setting (a method comparison, never a tuning on truth)."""
    lines = [
        line
        for line in config_path.read_text("utf-8").splitlines()
        if not line.replace(" ", "").startswith("learners=")
    ]
    # A top-level key goes before the first table.
    setting = "learners = [" + ", ".join(f'"{name}"' for name in learners) + "]"
    config_path.write_text("\n".join([setting, *lines]) + "\n", "utf-8")


def with_s_learner(config_path: Path, settings: str) -> None:
    """Set the S-learner's hyperparameters ("learning_rate=0.05,n_estimators=300") in the
    world's configuration (a method comparison, declared before it runs; never a tuning on
    truth)."""
    lines = [
        f"{key.strip()} = {value.strip()}"
        for key, value in (item.split("=", 1) for item in settings.split(","))
    ]
    text = config_path.read_text("utf-8").rstrip("\n")
    config_path.write_text(
        text + "\n\n[learner_params.s_learner]\n" + "\n".join(lines) + "\n", "utf-8"
    )


def learner_captures(result: Any, test_rows: np.ndarray, capture: Any, make_router: Any) -> dict:
    """Each fitted learner's held-out capture (its rounds as chosen, fitted on the training
    clients only; the served one is also refitted with the validation clients)."""
    frame = result.dp.frame.loc[test_rows]
    eligible = result.dp.eligibility()[test_rows]
    out = {}
    for name in result.models.learners:
        router = make_router(result.inputs, result.models, name)
        router.adjustment_from(result.router.adjustment)
        recommended = router.score(frame, eligible=eligible, intervals=False).recommended
        out[name] = capture(recommended)["capture_ratio"]
    return out


# Ways to let the waits' measurement of readiness move the ranking: each maps
# (correction, z of the log readiness ratio) to a shift. `z2_half` is what
# `correct_with_waits = "half_where_clear"`, the default, serves.
WAITS_VARIANTS: dict[str, Any] = {
    "off": lambda a, z: np.zeros_like(a),
    "full": lambda a, z: a,
    "half": lambda a, z: a / 2,
    "z2": lambda a, z: np.where(np.abs(z) > 2, a, 0.0),
    "z3": lambda a, z: np.where(np.abs(z) > 3, a, 0.0),
    "z2_down": lambda a, z: np.where((z > 2) & (a > 0), a, 0.0),
    "z2_half": lambda a, z: np.where(np.abs(z) > 2, a / 2, 0.0),
}


def waits_applied(result: Any) -> np.ndarray:
    """Per action, the part of the waits' correction the served router takes."""
    actions = list(result.dp.actions)
    applied = np.zeros(len(actions))
    services = (result.router.metadata.get("waits") or {}).get("services") or {}
    for code, figures in services.items():
        applied[actions.index(code)] = figures.get("applied") or 0.0
    return applied


def waits_variants(
    result: Any, test_rows: np.ndarray, capture: Any, make_router: Any
) -> dict | None:
    """Held-out capture of the served model with the waits' correction applied in several
    ways on top of its own (a method study on development worlds; nothing here is served)."""
    record = result.router.metadata.get("waits") or {}
    services = record.get("services") or {}
    if not services:
        return None
    actions = list(result.dp.actions)
    correction = np.zeros(len(actions))
    z = np.zeros(len(actions))
    for code, figures in services.items():
        j = actions.index(code)
        correction[j] = figures.get("adjustment") or 0.0
        se = figures.get("standard_error")
        ratio = figures.get("log_readiness_ratio")
        if se and ratio is not None and np.isfinite(se) and se > 0:
            z[j] = ratio / se
    frame = result.dp.frame.loc[test_rows]
    eligible = result.dp.eligibility()[test_rows]
    # A router of its own, so that the served one keeps its correction.
    router = make_router(result.inputs, result.models, result.chosen, learner=result.router.learner)
    # The units' correction alone: the served one less the waits' part of it.
    own = np.asarray(result.router.adjustment, dtype=float) - waits_applied(result)
    out = {}
    for name, shift in WAITS_VARIANTS.items():
        router.adjustment_from(own + shift(correction, z))
        recommended = router.score(frame, eligible=eligible, intervals=False).recommended
        out[name] = capture(recommended)["capture_ratio"]
    return out


def units_variants(
    result: Any, test_rows: np.ndarray, capture: Any, make_router: Any
) -> dict | None:
    """Held-out capture and ECE of the served model without the units' correction, without it
    only where the overidentification test rejects the units at 1 %, capped at 0.25 (which
    `MAX_ADJUSTMENT` does), and with each service's bias shrunk by its own factor (the rule
    before the pooled shrinkage); a method study."""
    from model.evaluation.calibration import expected_calibration_error
    from training.router_figures import action_indices

    record = result.router.metadata.get("assignment_units") or {}
    if not record.get("used"):
        return None
    applied = waits_applied(result)
    served = np.asarray(result.router.adjustment, dtype=float)
    p_value = (record.get("overidentification") or {}).get("p_value")
    rejected = p_value is not None and p_value < 0.01
    frame = result.dp.frame.loc[test_rows]
    eligible = result.dp.eligibility()[test_rows]
    router = make_router(result.inputs, result.models, result.chosen, learner=result.router.learner)
    taken = action_indices(result.dp.frame, result.dp.actions)[test_rows]
    y = frame["label"].to_numpy(dtype=float)
    units = served - applied
    each = np.clip(each_own_factor(result.dp.actions, record), -0.25, 0.25)
    out: dict[str, Any] = {"p_value": p_value, "largest": float(np.max(np.abs(units)))}
    for name, adjustment in (
        ("served", served),
        ("units_off", applied),
        ("units_off_if_rejected", applied if rejected else served),
        ("units_capped_025", np.clip(units, -0.25, 0.25) + applied),
        ("units_each_own_factor", each + applied),
    ):
        router.adjustment_from(adjustment)
        batch = router.score(frame, eligible=eligible, intervals=False)
        out[name] = capture(batch.recommended)["capture_ratio"]
        p_taken = batch.p[np.arange(len(taken)), taken]
        out[f"{name}_ece"] = expected_calibration_error(y, p_taken)
    return out


def each_own_factor(actions: tuple[str, ...], record: dict[str, Any]) -> np.ndarray:
    """The units' biases of the run's record shrunk each by its own factor 1 - se^2/bias^2
    (positive part), the rule before the pooled shrinkage."""
    out = np.zeros(len(actions))
    for code, entry in (record.get("services") or {}).items():
        se = entry["standard_error"]
        bias = entry["bias"]
        if se is None or bias == 0:
            continue
        out[actions.index(code)] = bias * min(max(1.0 - (se / bias) ** 2, 0.0), 1.0)
    return out


def referee_dr(result: Any, test_rows: np.ndarray) -> dict[str, float]:
    """The held-out DR value of the served ranking graded by a referee cross-fitted on the
    held-out clients, as validation grades candidates, instead of by the ranking's own
    outcome model (a method study of the interval; nothing here is served)."""
    from model.evaluation.policy_value import dr_policy_value
    from training.pipeline.compare import DR_CLIP, fit_referee
    from training.pipeline.fit import outcome_data

    dp, models = result.dp, result.models
    frame = dp.frame.loc[test_rows]
    eligible = dp.eligibility()[test_rows]
    batch = result.router.score(frame, eligible=eligible, intervals=False)
    referee = fit_referee(
        outcome_data(dp, models.X, test_rows),
        batch.support,
        n_actions=len(dp.actions),
        categorical_features=list(models.encoder.categorical_indices),
        seed=result.seed,
    )
    value = dr_policy_value(
        y=referee.y,
        taken=referee.taken,
        mu=referee.mu,
        propensity=referee.propensity,
        recommended=batch.recommended,
        clusters=referee.clusters,
        seed=result.seed,
        clip=DR_CLIP,
    )
    return {"value": value.value, "low": value.low, "high": value.high}


class _RoundCutAverage:
    """An S-learner's chances averaged over its cuts to 100, 75, 50 and 25 % of its rounds."""

    def __init__(self, learner: Any) -> None:
        self.cuts = [
            learner.truncated(max(1, round(learner.n_rounds_ * f))) for f in (1.0, 0.75, 0.5, 0.25)
        ]

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.mean([cut.predict(X) for cut in self.cuts], axis=0)


def round_cut_average(
    result: Any, test_rows: np.ndarray, capture: Any, make_router: Any
) -> float | None:
    """Held-out capture of the served S-learner averaged over its round cuts, ranked by the
    served router's own scoring (a method study: later trees weigh less; nothing is served)."""
    from model.learners.s_learner import SLearner

    if not isinstance(result.router.learner, SLearner):
        return None
    router = make_router(
        result.inputs, result.models, result.chosen, learner=_RoundCutAverage(result.router.learner)
    )
    router.adjustment_from(result.router.adjustment)
    frame = result.dp.frame.loc[test_rows]
    eligible = result.dp.eligibility()[test_rows]
    recommended = router.score(frame, eligible=eligible, intervals=False).recommended
    return capture(recommended)["capture_ratio"]


def _one(
    args: tuple[int, int, str, bool, tuple[str, ...] | None, float | None, str | None],
) -> dict[str, Any]:
    seed, clients, work, peers, learners, hidden_selection, s_learner = args
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    with tempfile.TemporaryDirectory(prefix=f"polku-gen-{seed}-", dir=work) as tmp:
        try:
            return score_world(
                seed,
                clients,
                Path(tmp),
                peers=peers,
                learners=learners,
                hidden_selection=hidden_selection,
                s_learner=s_learner,
            )
        except Exception as exc:  # a world that fails is a finding, not a crash of the run
            return {
                "seed": seed,
                "error": f"{type(exc).__name__}: {exc}",
                "traceback": traceback.format_exc(),
            }


def _quantile(values: list[float], q: float) -> float | None:
    return float(np.quantile(values, q)) if values else None


def summarise(results: list[dict[str, Any]]) -> dict[str, Any]:
    ok = [r for r in results if "error" not in r and r["polku"]["capture_ratio"] is not None]
    captures = [r["polku"]["capture_ratio"] for r in ok]
    summary: dict[str, Any] = {
        "worlds": len(results),
        "failed": [r["seed"] for r in results if "error" in r],
        "capture": {
            "median": _quantile(captures, 0.5),
            "p10": _quantile(captures, 0.1),
            "min": min(captures) if captures else None,
        },
    }
    with_peers = [r for r in ok if "econml" in r]
    if with_peers:
        summary["above_econml"] = sum(
            r["polku"]["capture_ratio"] > r["econml"]["capture_ratio"] for r in with_peers
        )
        shares = [
            r["polku"]["capture_ratio"] / r["ceiling"]["capture_ratio"]
            for r in with_peers
            if r["ceiling"]["capture_ratio"] and r["ceiling"]["capture_ratio"] > 0
        ]
        summary["share_of_ceiling"] = {
            "median": _quantile(shares, 0.5),
            "p10": _quantile(shares, 0.1),
        }
        summary["econml_capture_median"] = _quantile(
            [r["econml"]["capture_ratio"] for r in with_peers], 0.5
        )
        summary["ceiling_capture_median"] = _quantile(
            [r["ceiling"]["capture_ratio"] for r in with_peers], 0.5
        )
    unselected = [r for r in ok if not r.get("traits", {}).get("hidden_selection", 1.0)]
    covers = [r["polku"]["dr_covers"] for r in unselected if r["polku"]["dr_covers"] is not None]
    summary["dr_covers_without_hidden_selection"] = (
        f"{sum(covers)}/{len(covers)}" if covers else None
    )
    refereed = [
        r["referee_dr"]["low"] <= r["polku"]["v_rec"] <= r["referee_dr"]["high"]
        for r in unselected
        if r.get("referee_dr") and r["polku"]["v_rec"] is not None
    ]
    summary["referee_dr_covers_without_hidden_selection"] = (
        f"{sum(refereed)}/{len(refereed)}" if refereed else None
    )
    summary["ece_median"] = _quantile([r["polku"]["ece"] for r in ok if r["polku"]["ece"]], 0.5)
    return summary


def print_world(r: dict[str, Any]) -> None:
    if "error" in r:
        print(f"world {r['seed']}: FAILED {r['error']}", flush=True)
        return
    p = r["polku"]
    peers = ""
    if "econml" in r:
        peers = f" econml {r['econml']['capture_ratio']:.3f} ceiling {r['ceiling']['capture_ratio']:.3f}"
    dr = "–" if p["dr_low"] is None else f"[{p['dr_low']:.3f}, {p['dr_high']:.3f}]"
    print(
        f"world {r['seed']}: capture {p['capture_ratio']:.3f}{peers} V_rec {p['v_rec']:.3f} "
        f"DR {dr} covers {p['dr_covers']} ECE {p['ece']:.3f} chosen {r['chosen']} "
        f"learners {json.dumps(r.get('learners'))} waits {json.dumps(r.get('waits_variants'))} "
        f"round-cut average {r.get('round_cut_average')} "
        f"referee DR {json.dumps(r.get('referee_dr'))} "
        f"split {r['split']} train {r['seconds']['train']:.0f} s traits {json.dumps(r['traits'])}",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--set", choices=("fixed", "development"), default="fixed")
    parser.add_argument("--seeds", default=None, help="comma-separated seeds instead of a set")
    parser.add_argument("--clients", type=int, default=20_000)
    parser.add_argument("--jobs", type=int, default=2, help="worlds trained side by side")
    parser.add_argument("--no-peers", action="store_true", help="skip EconML and the ceiling")
    parser.add_argument(
        "--learners", default=None, help="comma-separated learners instead of the world's own"
    )
    parser.add_argument(
        "--hidden-selection",
        type=float,
        default=None,
        help="replace each world's drawn selection on unrecorded motivation (0: none)",
    )
    parser.add_argument(
        "--s-learner",
        default=None,
        help='S-learner hyperparameters instead of the defaults, e.g. "learning_rate=0.05,n_estimators=300"',
    )
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    learners = tuple(args.learners.split(",")) if args.learners else None
    seeds = (
        tuple(int(s) for s in args.seeds.split(","))
        if args.seeds
        else WORLD_SEEDS
        if args.set == "fixed"
        else DEVELOPMENT_SEEDS
    )
    out = args.out or OUT / f"generalise-{args.set if not args.seeds else 'seeds'}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="polku-generalise-"))
    results: list[dict[str, Any]] = []
    jobs = [
        (
            seed,
            args.clients,
            str(work),
            not args.no_peers,
            learners,
            args.hidden_selection,
            args.s_learner,
        )
        for seed in seeds
    ]
    context = multiprocessing.get_context("spawn")
    try:
        with context.Pool(args.jobs, maxtasksperchild=1) as pool:
            for result in pool.imap_unordered(_one, jobs):
                results.append(result)
                print_world(result)
                out.write_text(json.dumps({"results": results}, indent=2, default=str) + "\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    results.sort(key=lambda r: r["seed"])
    summary = summarise(results)
    out.write_text(
        json.dumps({"summary": summary, "results": results}, indent=2, default=str) + "\n"
    )
    print(json.dumps(summary, indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
