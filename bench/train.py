"""Training speed: `polku train` end to end at growing world sizes, stage by stage.

For each size the built-in world is simulated (or reused with `--work`) and
trained on in a fresh process, exactly as `polku train` does
(`training.registry.runs.train_and_register`: validate, decision points, split, the
propensity model, every learner, choice, interval calibration, evaluation,
reports, MLflow logging and registration) into an MLflow store of its own.
Each progress message of the run starts a stage; a thread samples the
process's resident memory from /proc every 50 ms, so every stage gets its
wall time and its peak RSS. The pipeline's own timings (`seconds[...]`)
are kept too. Across sizes, the slope of log(seconds) against log(clients)
says how each stage's cost grows (1 = linear).

    .venv/bin/python bench/train.py             # 10k, 50k, 100k and 200k clients
    .venv/bin/python bench/train.py --quick     # 10k and 50k
    .venv/bin/python bench/train.py --sizes 20000 --config run.toml --work /tmp/polku-bench

Writes bench/out/train.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    PeakRss,
    load_average,
    log,
    machine,
    simulate,
    store_env,
    table,
    write_json,
)


def one(data: Path, config: Path | None, out: Path) -> None:
    """In this process: train on `data`, write stage figures to `out` (JSON)."""
    from training.registry.runs import train_and_register
    from training.registry.store import quiet_mlflow_logs

    quiet_mlflow_logs()
    sampler = PeakRss().start()
    stages: list[dict[str, Any]] = []
    current = {"stage": "start", "t": time.perf_counter()}

    def progress(what: str) -> None:
        now = time.perf_counter()
        stages.append(
            {
                "stage": current["stage"],
                "seconds": round(now - current["t"], 2),
                "peak_rss_gib": round(sampler.take() / 2**30, 3),
            }
        )
        current["stage"], current["t"] = what, now
        # The stages so far, so that a run stopped midway still says something.
        out.with_suffix(".partial.json").write_text(json.dumps(stages))

    started = time.perf_counter()
    result, registered = train_and_register(data, config_path=config, progress=progress)
    progress("end")
    wall = time.perf_counter() - started
    peak = max(s["peak_rss_gib"] for s in stages)
    sampler.stop()
    out.write_text(
        json.dumps(
            {
                "wall_seconds": round(wall, 2),
                "peak_rss_gib": peak,
                "stages": [s for s in stages if s["stage"] != "start"],
                "pipeline_seconds": {k: round(v, 2) for k, v in result.seconds.items()},
                "chosen": result.chosen,
                "capture_ratio": result.evaluation.get("capture_ratio"),
                "rows": len(result.dp.frame),
                "version": registered.version,
            }
        )
    )


def slope(sizes: list[int], seconds: list[float]) -> float | None:
    pairs = [(math.log(n), math.log(s)) for n, s in zip(sizes, seconds, strict=True) if s and s > 0]
    if len(pairs) < 2:
        return None
    mx = sum(p[0] for p in pairs) / len(pairs)
    my = sum(p[1] for p in pairs) / len(pairs)
    den = sum((p[0] - mx) ** 2 for p in pairs)
    return round(sum((p[0] - mx) * (p[1] - my) for p in pairs) / den, 2) if den else None


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_one":
        config = Path(sys.argv[3]) if sys.argv[3] != "-" else None
        one(Path(sys.argv[2]), config, Path(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="10k and 50k clients")
    parser.add_argument("--sizes", default=None, help="comma-separated client counts")
    parser.add_argument("--config", type=Path, default=None, help="run configuration (TOML)")
    parser.add_argument("--work", type=Path, default=None, help="reuse this folder (worlds)")
    options = parser.parse_args()
    sizes = [
        int(x)
        for x in (
            options.sizes or ("10000,50000" if options.quick else "10000,50000,100000,200000")
        ).split(",")
    ]
    work = options.work or Path(tempfile.mkdtemp(prefix="polku-bench-train-"))
    work.mkdir(parents=True, exist_ok=True)
    runs: dict[int, dict[str, Any]] = {}
    for n in sizes:
        world = simulate(work / f"world-{n}", n)
        store = Path(tempfile.mkdtemp(prefix=f"store-train-{n}-", dir=work))
        out = store / "figures.json"
        load_before = load_average()
        log(f"polku train, {n} clients")
        subprocess.run(
            [sys.executable, __file__, "_one", str(world), str(options.config or "-"), str(out)],
            env={**__import__("os").environ, **store_env(store)},
            cwd=store,
            check=True,
        )
        figures = json.loads(out.read_text())
        figures["load_average_before"] = load_before
        figures["load_average_after"] = load_average()
        runs[n] = figures
        log(f"{n} clients: {figures['wall_seconds']} s, peak RSS {figures['peak_rss_gib']} GiB")
    stage_names: list[str] = []
    for figures in runs.values():
        for s in figures["stages"]:
            if s["stage"] not in stage_names:
                stage_names.append(s["stage"])

    def stage_of(n: int, name: str) -> dict[str, Any] | None:
        return next((s for s in runs[n]["stages"] if s["stage"] == name), None)

    slopes = {
        name: slope(sizes, [(stage_of(n, name) or {}).get("seconds", 0.0) for n in sizes])
        for name in stage_names
    }
    slopes["total"] = slope(sizes, [runs[n]["wall_seconds"] for n in sizes])
    document = {
        "benchmark": "train",
        "command": " ".join(sys.argv),
        "machine": machine(),
        "config": options.config.read_text() if options.config else None,
        "sizes": sizes,
        "runs": {str(n): r for n, r in runs.items()},
        "log_log_slope": slopes,
    }
    path = write_json("train", document)
    headers = [
        "stage",
        *[f"{n // 1000}k s" for n in sizes],
        *[f"{n // 1000}k GiB" for n in sizes],
        "slope",
    ]
    rows = []
    for name in stage_names:
        rows.append(
            [
                name,
                *[(stage_of(n, name) or {}).get("seconds") for n in sizes],
                *[(stage_of(n, name) or {}).get("peak_rss_gib") for n in sizes],
                slopes[name],
            ]
        )
    rows.append(
        [
            "total",
            *[runs[n]["wall_seconds"] for n in sizes],
            *[runs[n]["peak_rss_gib"] for n in sizes],
            slopes["total"],
        ]
    )
    print(table(headers, rows))
    print(
        "load average before each size: "
        + ", ".join(f"{n}: {runs[n]['load_average_before'][0]}" for n in sizes)
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
