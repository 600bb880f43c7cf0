"""Learner quality across worlds, beside a peer: EconML's DRLearner.

For each simulated world this benchmark runs Polku's own training pipeline
(`training.pipeline.train`: the same decision points, training rows, split
by intake date and learners as `polku train`) and, on exactly the same
training rows and held-out clients, EconML's `DRLearner` with LightGBM
nuisance models, used the way its documentation shows: fit on (Y, T, X),
recommend the action with the largest estimated effect against
`no_new_service`. A second EconML run ("econml_naive") is what an analyst
gets by taking the case data at face value: reviews with no service start
are "no new service" even when an outcome cut their 30 days short (the
reverse-causation trap described in docs/data.md), and no recorded plans are used.

Every figure is on the held-out (newest) clients with the simulator's truth.

    make bench-setup
    .venv/bin/python bench/quality.py [--clients 50000] [--worlds seed1,seed2,strong] [--out bench/out/quality.json]

Not a test: it takes minutes. Results go to bench/RESULTS.md by hand.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.peers import econml_recommendations  # noqa: E402
from model.evaluation.policy_value import ipw_policy_value, policy_values  # noqa: E402
from model.vocab import NO_NEW_SERVICE  # noqa: E402
from training.pipeline import train  # noqa: E402
from training.router_figures import action_indices, evaluable_rows  # noqa: E402
from training.simulator import WorldParams, write_world  # noqa: E402
from training.truth import align_truth  # noqa: E402

WORLDS = {
    "seed1": WorldParams(seed=1),
    "seed2": WorldParams(seed=2),
    "strong": WorldParams(seed=1, confounding=2.0, motivation_selection=2.0),
    "weak": WorldParams(seed=3, confounding=0.5, motivation_selection=0.5),
    # Declared before any method was tuned on it: a stronger
    # latent-motivation effect on outcomes and weaker service effects.
    "untuned": WorldParams(seed=7, motivation_effect=1.0, effect_scale=0.7),
    # Declared before any was run: no confounding at all
    # (assignment by habit-free policy and no selection on motivation, where
    # the doubly-robust interval has nothing hidden to miss), stronger effects
    # and lock-in, and a case system that records no agreed plans (every
    # review cut short by an outcome is an unknown action).
    "unconfounded": WorldParams(seed=11, confounding=0.0, motivation_selection=0.0),
    "lockin": WorldParams(seed=12, effect_scale=1.3, lock_in_scale=2.0),
    # The built-in world of seed 1 with its habits on recorded cues but no
    # selection on the unrecorded motivation: what the data can identify.
    "seed1_no_hidden": WorldParams(seed=1, motivation_selection=0.0),
    "noplans": WorldParams(seed=13, planned_service_recorded=0.0),
}


def register_large_s_learner() -> None:
    """A second S-learner size under its own name, for this benchmark only."""
    from model.learners.kinds import LEARNERS
    from model.learners.s_learner import SLearner

    class LargeSLearner(SLearner):
        def __init__(self, **kwargs):
            kwargs.setdefault("n_estimators", 200)
            kwargs.setdefault("num_leaves", 15)
            kwargs.setdefault("learning_rate", 0.1)
            super().__init__(**kwargs)

    LEARNERS["s_learner_large"] = LargeSLearner


def run_world(
    name: str,
    params: WorldParams,
    *,
    config: Path | None,
    folder: Path,
    peers: tuple[str, ...] = ("econml", "econml_naive"),
) -> dict:
    data = folder / name
    started = time.perf_counter()
    write_world(params, data, fmt="parquet")
    simulated = time.perf_counter() - started
    started = time.perf_counter()
    result = train(data, config_path=config)
    trained = time.perf_counter() - started
    out: dict = {
        "world": name,
        "params": params.to_json(),
        "seconds": {"simulate": simulated, "train": trained, **result.seconds},
        "load_average": os.getloadavg(),
        "calibration": {n: list(m.calibration_) for n, m in result.models.learners.items()},
        "interval_widths": result.interval_widths,
        "validation": result.validation,
    }
    out["polku"] = {learner: figures for learner, figures in result.test.items()}
    out["chosen"] = result.chosen
    out["rounds_tried"] = result.router.metadata.get("selection", {}).get("rounds", {})
    # How much hidden confounding each learner's DR value survives (grid
    # declared in model.evaluation before these worlds were looked at), and
    # the smallest grid Lambda whose sensitivity interval holds the true V_rec.
    out["sensitivity"] = {}
    for learner, detail in result.details.items():
        v_rec = detail.figures.get("v_rec")
        entry: dict = {"observed_rate": detail.extra.get("observed_rate")}
        for form in ("dr", "ipw"):
            analysis = detail.extra.get(f"{form}_sensitivity_analysis") or {}
            bounds = analysis.get("bounds", [])
            entry[form] = {
                "estimate": analysis.get("estimate"),
                "bounds": [{k: b[k] for k in ("lambda", "low", "high")} for b in bounds],
                "break_even_lambda": analysis.get("break_even_lambda"),
                "covers_truth_from_lambda": next(
                    (
                        b["lambda"]
                        for b in bounds
                        if v_rec is not None and b["low"] <= v_rec <= b["high"]
                    ),
                    None,
                ),
            }
        out["sensitivity"][learner] = entry

    dp, split, models = result.dp, result.split, result.models
    truth = align_truth(dp.frame, result.inputs.truth, dp.actions)
    actions = list(dp.actions)
    taken = action_indices(dp.frame, dp.actions)
    eligible = dp.eligibility()
    y = dp.frame["label"].to_numpy(dtype=float)
    test_rows = evaluable_rows(dp, split.test)
    train_rows = split.train & result.rows.outcome

    def score(rec: np.ndarray) -> dict:
        values = policy_values(
            truth=truth[test_rows],
            eligible=eligible[test_rows],
            taken=taken[test_rows],
            recommended=rec,
        )
        return values.as_dict()

    # Why the doubly-robust estimate may miss: the direct method, IPW and the
    # share of recommendations with thin support, for the chosen learner.
    batch = result.router.score(
        dp.frame.loc[test_rows], eligible=eligible[test_rows], intervals=False
    )
    rows = np.arange(int(test_rows.sum()))
    p_rec = batch.support[rows, batch.recommended]
    out["off_policy"] = {
        "direct_method": float(batch.p[rows, batch.recommended].mean()),
        "ipw": ipw_policy_value(
            y=y[test_rows],
            taken=taken[test_rows],
            propensity=batch.support,
            recommended=batch.recommended,
            clusters=dp.frame.loc[test_rows, "client_id"].astype(str).to_numpy(),
            n_boot=0,
        ).value,
        "share_support_below_0.01": float((p_rec < 0.01).mean()),
        "share_support_below_0.05": float((p_rec < 0.05).mean()),
        "agreement_with_taken": float((batch.recommended == taken[test_rows]).mean()),
    }

    if not peers:
        return out
    started = time.perf_counter()
    rec = econml_recommendations(
        models.X[train_rows],
        taken[train_rows],
        y[train_rows],
        models.X[test_rows],
        eligible[test_rows],
        actions,
        seed=params.seed,
    )
    out["econml"] = score(rec) | {"seconds": time.perf_counter() - started}
    if "econml_naive" not in peers:
        return out

    # The face-value reading: unknown-action reviews count as no_new_service.
    frame = dp.frame
    unknown_review = (
        ~frame["action_known"].to_numpy(dtype=bool)
        & (frame["kind"].astype(str).to_numpy() == "review")
        & ~frame["censored"].to_numpy(dtype=bool)
    )
    naive_taken = np.where(unknown_review, actions.index(NO_NEW_SERVICE), taken)
    naive_rows = (
        split.train & ((taken >= 0) | unknown_review) & ~frame["censored"].to_numpy(dtype=bool)
    )
    started = time.perf_counter()
    rec = econml_recommendations(
        models.X[naive_rows],
        naive_taken[naive_rows],
        y[naive_rows],
        models.X[test_rows],
        eligible[test_rows],
        actions,
        seed=params.seed,
    )
    out["econml_naive"] = score(rec) | {"seconds": time.perf_counter() - started}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=50_000)
    parser.add_argument("--worlds", default="seed1,seed2,strong")
    parser.add_argument(
        "--config", type=Path, default=None, help="run configuration for polku's learners"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "quality.json")
    parser.add_argument(
        "--peers",
        default="econml,econml_naive",
        help="EconML runs beside polku's learners: econml, econml_naive (needs econml), or none",
    )
    parser.add_argument(
        "--large-s-learner",
        action="store_true",
        help="register `s_learner_large` (200 rounds of 15 leaves, rate 0.1) for a configuration "
        "that lets the pipeline choose between two S-learner sizes on the validation clients",
    )
    args = parser.parse_args(argv)
    if args.large_s_learner:
        register_large_s_learner()
    peers = tuple(p for p in args.peers.split(",") if p and p != "none")
    results = []
    with tempfile.TemporaryDirectory(prefix="polku-quality-") as tmp:
        for name in args.worlds.split(","):
            params = replace(WORLDS[name], n_clients=args.clients)
            result = run_world(name, params, config=args.config, folder=Path(tmp), peers=peers)
            results.append(result)
            line = [f"{name} (chosen {result['chosen']}, load {result['load_average'][0]:.1f}):"]
            for learner, f in result["polku"].items():
                line.append(
                    f"{learner} capture {f['capture_ratio']:.3f} V {f['v_hist']:.4f}/{f['v_rec']:.4f}/"
                    f"{f['v_oracle']:.4f} DR {f['dr_value']:.4f} [{f['dr_low']:.4f}, {f['dr_high']:.4f}] "
                    f"ECE {f['ece']:.4f} cov {f['coverage']:.3f} AUC {f['auc']:.3f}"
                    f" fit {result['seconds'].get('fit_' + learner, float('nan')):.0f} s"
                )
            for learner, entry in result["sensitivity"].items():
                for form in ("dr", "ipw"):
                    sens = entry[form]
                    bounds = " ".join(
                        f"{b['lambda']:g}:[{b['low']:.4f}, {b['high']:.4f}]" for b in sens["bounds"]
                    )
                    line.append(
                        f"{learner} {form} sensitivity (observed {entry['observed_rate']:.4f}) {bounds} "
                        f"break-even {sens['break_even_lambda']} covers truth from {sens['covers_truth_from_lambda']}"
                    )
            line.append(f"off-policy diagnostics {json.dumps(result['off_policy'])}")
            for peer in ("econml", "econml_naive"):
                if peer in result:
                    line.append(f"{peer} {result[peer]['capture_ratio']:.3f}")
            print("\n  ".join(line), flush=True)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
