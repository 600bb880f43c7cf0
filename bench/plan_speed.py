"""Planning speed: a month of many waiting clients scored and planned, in a child process.

Each measurement runs in its own child process, which reports its seconds
for three runs and its peak memory (RSS):

- month: `Router.score` and `model.planning.month.plan_month` on `n`
  clients (the given features repeated), the month's programme on its own;
- horizon: what `polku plan --horizon H` runs once the features are at
  hand (`training.planning.plan_from_tables`): the `n` clients scored, a
  forecast of `n` clients for each of the H later months scored (the same
  features in another order, as `forecast_months` would find them),
  every month's seats priced and each client's value of waiting computed
  (`training.planning.waiting_value`), then the month planned with it.

Seats: `n // 40` per service in every month. `bench/plan.py` calls
`speed` after its year; on its own, with a trained router and a world:

    .venv/bin/python bench/plan_speed.py --router DIR --world DIR [--clients 10000] [--horizon 3]

The features are then the clients awaiting a decision on `--day` in the
world (`training.planning.awaiting_features`). Writes bench/out/plan-speed.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import log, machine, table, write_json  # noqa: E402
from model.router import Router  # noqa: E402

MONTH = "2025-03"
RUNS = 3


def repeated(features: pd.DataFrame, n: int, prefix: str, shift: int = 0) -> pd.DataFrame:
    """`n` rows of `features` repeated (rolled by `shift`), with ids of their own."""
    reps = -(-(n + shift) // len(features))
    big = pd.concat([features] * reps, ignore_index=True).iloc[shift : shift + n]
    big = big.reset_index(drop=True).copy()
    big["client_id"] = [f"{prefix}{i}" for i in range(len(big))]
    return big


def _month(router: Router, big: pd.DataFrame, seats: dict[str, int | None]) -> dict[str, Any]:
    from model.planning.month import plan_month

    timings, scoring, planning = [], [], []
    for _ in range(RUNS):
        started = time.perf_counter()
        scored = router.score(big, intervals=False)
        scored_at = time.perf_counter()
        planned = plan_month(router, big, month=MONTH, seats=seats, batch=scored)
        done = time.perf_counter()
        timings.append(done - started)
        scoring.append(scored_at - started)
        planning.append(done - scored_at)
    assert all(planned.seats_used()[c] <= (seats[c] or 0) for c in seats)
    return {"seconds": timings, "score_seconds": scoring, "plan_seconds": planning}


def _horizon(
    router: Router, big: pd.DataFrame, ahead: list[pd.DataFrame], seats: dict[str, int | None]
) -> dict[str, Any]:
    from model.planning.capacity import Capacity
    from model.planning.month import plan_month
    from model.planning.prices import DEFAULT_WAIT_DECAY
    from model.planning.programme import PlanOptions
    from training.planning import waiting_value

    capacity = Capacity(seats)
    parts: dict[str, list[float]] = {
        "seconds": [],
        "score_seconds": [],
        "forecast_score_seconds": [],
        "price_seconds": [],
        "plan_seconds": [],
    }
    for _ in range(RUNS):
        started = time.perf_counter()
        batch = router.score(big, intervals=False)
        scored_at = time.perf_counter()
        forecasts = [router.score(f, intervals=False) for f in ahead]
        forecast_at = time.perf_counter()
        value = waiting_value(router, batch, forecasts, MONTH, capacity, DEFAULT_WAIT_DECAY)
        priced_at = time.perf_counter()
        planned = plan_month(
            router,
            big,
            month=MONTH,
            seats=seats,
            options=PlanOptions(waiting_value=value),
            batch=batch,
        )
        done = time.perf_counter()
        for key, (a, b) in {
            "seconds": (started, done),
            "score_seconds": (started, scored_at),
            "forecast_score_seconds": (scored_at, forecast_at),
            "price_seconds": (forecast_at, priced_at),
            "plan_seconds": (priced_at, done),
        }.items():
            parts[key].append(b - a)
    assert all(planned.seats_used()[c] <= (seats[c] or 0) for c in seats)
    parts["waiting_value_positive"] = [float(np.mean(value > 0))]
    return parts


def speed_child(payload: str) -> None:
    """In a child process: one measurement (month or horizon); print its figures as JSON."""
    spec = json.loads(payload)
    router = Router.load(Path(spec["router"]))
    features = pd.read_parquet(spec["features"])
    n, horizon = spec["n"], spec["horizon"]
    big = repeated(features, n, "b")
    seats: dict[str, int | None] = {
        code: max(1, n // 40) for code in router.catalogue.service_codes
    }
    if horizon > 0:
        step = max(1, len(features) // (horizon + 1))
        ahead = [repeated(features, n, f"f{k}-", shift=k * step) for k in range(1, horizon + 1)]
        figures = _horizon(router, big, ahead, seats)
    else:
        figures = _month(router, big, seats)
    figures.update(
        {
            "clients": n,
            "horizon": horizon,
            "forecast_clients_per_month": n if horizon > 0 else 0,
            "seats_per_service": n // 40,
            "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "services": len(router.catalogue.service_codes),
            "load_average": list(os.getloadavg()),
        }
    )
    print(json.dumps(figures))


def speed(
    router: Router, features: pd.DataFrame, work: Path, n: int, horizon: int = 0
) -> dict[str, Any]:
    """One measurement in a child process (`horizon` 0: the month's programme on its own)."""
    folder = work / "router"
    router.save(folder)
    path = work / "features.parquet"
    features.to_parquet(path)
    payload = json.dumps({"router": str(folder), "features": str(path), "n": n, "horizon": horizon})
    done = subprocess.run(
        [sys.executable, __file__, "--child", payload],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def rows(figures: dict[str, dict[str, Any]]) -> list[list[Any]]:
    """Table rows: what, runs, median (with its parts), peak memory."""
    out = []
    for name, f in figures.items():
        parts = [k for k in f if k.endswith("_seconds")]
        median = np.median(f["seconds"])
        detail = ", ".join(f"{k[:-8]} {np.median(f[k]):.1f} s" for k in parts)
        out.append(
            [
                f"{name}: {f['clients']} clients, horizon {f['horizon']}, "
                f"forecast {f['forecast_clients_per_month']} a month",
                ", ".join(f"{s:.2f}" for s in f["seconds"]),
                f"{median:.1f} s ({detail})",
                f"{f['peak_mib']:.0f} MiB",
            ]
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--router", type=Path, help="a saved router (Router.save)")
    parser.add_argument("--world", type=Path, help="input tables of a world (clients.csv, ...)")
    parser.add_argument("--day", type=date.fromisoformat, default=date(2025, 3, 1))
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--horizon", type=int, default=3)
    parser.add_argument("--no-month", action="store_true", help="time the horizon path only")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        speed_child(options.child)
        return
    if options.router is None or options.world is None:
        parser.error("--router and --world are needed")
    from training.planning import awaiting_features
    from training.tables import read_tables

    router = Router.load(options.router)
    features = awaiting_features(router, read_tables(options.world), options.day)
    log(f"{len(features)} clients await a decision on {options.day}; repeated to {options.clients}")
    work = Path(tempfile.mkdtemp(prefix="polku-bench-plan-speed-"))
    results: dict[str, Any] = {"machine": machine(), "router": str(options.router)}
    figures: dict[str, dict[str, Any]] = {}
    if not options.no_month:
        figures["month"] = speed(router, features, work, options.clients)
        log(f"month: {figures['month']}")
    figures["horizon"] = speed(router, features, work, options.clients, options.horizon)
    log(f"horizon: {figures['horizon']}")
    results.update(figures)
    results["load_average_end"] = list(os.getloadavg())
    path = write_json("plan-speed", results)
    print(table(["what", "runs (s)", "median", "peak memory"], rows(figures)))
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
