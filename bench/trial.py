"""How often the doubly-robust intervals cover the truth on randomised trials.

Polku is judged on real experimental data, converted into its data contract,
where the true effect of a service is known. `training/simulator/trial.py` draws
such data (one review, then random assignment to the services or to
`no_new_service`, known per-client chances). This benchmark trains Polku's
pipeline (`training.pipeline.train`, what `polku train` runs) on many
trials per setting and counts, on the held-out clients:

- how often the 95 % interval of the doubly-robust V_rec covers the true V_rec,
- how often each service's doubly-robust average effect (against
  `no_new_service`, `polku evaluate`'s `service_effects`) covers its true
  average effect,
- the capture ratio and the share of held-out clients whose truly better
  action comes first.

With random assignment there is no hidden confounding, so a 95 % interval
that is honest covers in about 19 of 20 trials; much fewer means the
estimate is biased or the interval too narrow.

    .venv/bin/python bench/trial.py [--seeds 10] [--sizes 1000,3000] [--settings a,b] [--out bench/out/trial.json]

Not a test: a few minutes. Results go to bench/RESULTS.md by hand.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from training.pipeline import train  # noqa: E402
from training.router_figures import evaluable_rows  # noqa: E402
from training.simulator.trial import make_trial  # noqa: E402
from training.truth import align_truth  # noqa: E402

# Settings declared before any was run: one service helping
# most clients (the effect varies with the extra column), two equally good
# services, and a service with no effect at all; each as converted without
# and with the arm recorded as the review's planned_service. Without it, a
# control client who finds work within the review window has an unknown
# action (docs/data.md), so the control arm loses early successes.
_BASE: dict[str, dict[str, Any]] = {
    "one_service_varied": {"services": ("job_coaching",), "effect": 0.8, "heterogeneous": True},
    "two_services": {"services": ("job_coaching", "work_trial"), "effect": 0.8},
    "no_effect": {"services": ("job_coaching",), "effect": 0.0},
}
SETTINGS: dict[str, dict[str, Any]] = {
    **_BASE,
    **{f"{name}_planned": {**kw, "planned": True} for name, kw in _BASE.items()},
}


def run_trial(setting: str, n_clients: int, seed: int, folder: Path) -> dict[str, Any]:
    trial = make_trial(n_clients, seed=seed, **SETTINGS[setting])
    paths = trial.write(folder)
    started = time.perf_counter()
    result = train(folder, catalogue_path=paths["catalogue"], config_path=paths["config"])
    seconds = time.perf_counter() - started
    figures = result.evaluation
    chosen = result.details[result.chosen]
    dp = result.dp
    rows = evaluable_rows(dp, result.split.test)
    truth = np.asarray(align_truth(dp.frame, result.inputs.truth, dp.actions), dtype=float)[rows]
    batch = result.router.score(
        dp.frame.loc[rows], eligible=dp.eligibility()[rows], intervals=False
    )
    better_first = float((batch.recommended == truth.argmax(axis=1)).mean())
    effects = []
    for row in chosen.uplift.to_dict(orient="records"):
        covered = None
        if np.isfinite(row["dr_effect"]) and np.isfinite(row["true_effect"]):
            covered = bool(row["dr_low"] <= row["true_effect"] <= row["dr_high"])
        effects.append(
            {
                "service": row["service"],
                "dr_effect": row["dr_effect"],
                "dr_low": row["dr_low"],
                "dr_high": row["dr_high"],
                "true_effect": row["true_effect"],
                "model_effect": row["mean_uplift"],
                "covered": covered,
            }
        )
    return {
        "setting": setting,
        "clients": n_clients,
        "seed": seed,
        "learner": result.chosen,
        "v_hist": figures["v_hist"],
        "v_rec": figures["v_rec"],
        "v_oracle": figures["v_oracle"],
        "capture_ratio": figures["capture_ratio"],
        "dr_value": figures["dr_value"],
        "dr_low": figures["dr_low"],
        "dr_high": figures["dr_high"],
        "dr_covers": bool(figures["dr_low"] <= figures["v_rec"] <= figures["dr_high"]),
        "coverage": figures["coverage"],
        "better_first": better_first,
        "effects": effects,
        "seconds": seconds,
    }


def summarise(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    keys = sorted(
        {(r["setting"], r["clients"]) for r in runs},
        key=lambda k: (list(SETTINGS).index(k[0]), k[1]),
    )
    for setting, clients in keys:
        group = [r for r in runs if r["setting"] == setting and r["clients"] == clients]
        effects = [e for r in group for e in r["effects"] if e["covered"] is not None]
        captures = [r["capture_ratio"] for r in group if r["capture_ratio"] is not None]
        out.append(
            {
                "setting": setting,
                "clients": clients,
                "trials": len(group),
                "dr_covers": sum(r["dr_covers"] for r in group),
                "dr_bias_median": float(np.median([r["dr_value"] - r["v_rec"] for r in group])),
                "effect_covers": sum(e["covered"] for e in effects),
                "effects": len(effects),
                "effect_bias_median": float(
                    np.median([e["dr_effect"] - e["true_effect"] for e in effects])
                )
                if effects
                else None,
                "model_effect_bias_median": float(
                    np.median([e["model_effect"] - e["true_effect"] for e in effects])
                )
                if effects
                else None,
                "capture_median": float(np.median(captures)) if captures else None,
                "better_first_median": float(np.median([r["better_first"] for r in group])),
                "interval_coverage_median": float(np.median([r["coverage"] for r in group])),
                "seconds_median": float(np.median([r["seconds"] for r in group])),
            }
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--sizes", default="1000,3000")
    parser.add_argument("--settings", default=",".join(SETTINGS))
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "trial.json")
    args = parser.parse_args(argv)
    runs = []
    with tempfile.TemporaryDirectory(prefix="polku-trial-") as tmp:
        for setting in args.settings.split(","):
            for size in (int(s) for s in args.sizes.split(",")):
                for seed in range(args.seeds):
                    folder = Path(tmp) / f"{setting}-{size}-{seed}"
                    runs.append(run_trial(setting, size, seed, folder))
    summary = summarise(runs)
    print(
        "| setting | clients | DR V_rec covers | median DR − true | effect covers | median DR effect − true | median model effect − true | median capture | better first | per-action coverage (0.9) |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for s in summary:
        print(
            f"| {s['setting']} | {s['clients']} | {s['dr_covers']}/{s['trials']} | {s['dr_bias_median']:+.3f} | "
            f"{s['effect_covers']}/{s['effects']} | "
            f"{'–' if s['effect_bias_median'] is None else format(s['effect_bias_median'], '+.3f')} | "
            f"{'–' if s['model_effect_bias_median'] is None else format(s['model_effect_bias_median'], '+.3f')} | "
            f"{'–' if s['capture_median'] is None else format(s['capture_median'], '.3f')} | "
            f"{s['better_first_median']:.2f} | {s['interval_coverage_median']:.3f} |"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {"load_average": os.getloadavg(), "summary": summary, "runs": runs},
            indent=1,
            default=float,
        )
    )
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
