"""Capacity planning: a year of the built-in world replayed under binding seats, and planning speed.

For each seed: a model is trained on one built-in world (`training.registry.runs.
train_and_register`, what `polku train` does; `--train-clients` clients, by
default as many as the replayed world's `--clients`: a municipality trains
on years of history) and a second world of the same
design (another seed: other clients) is replayed for its twelve months of
2025 under the capacity scenario (`training/simulator/capacity.py`): each
client awaits a decision from their first decision point of the year; seats
per service are `--tightness` times the monthly demand the planners see (the
router's first-ranked action); waiting costs `wait_decay` of the uplift per
month; unused seats lapse. Each month the waiting clients are planned by

  (a) greedy: in arrival order, each client's own best option while it has
      seats; otherwise they wait for it,
  (b) the month's integer programme (`model.planning.programme`),
  (c) the programme with each client's value of waiting for a seat of the
      next `--horizon` months, net of its price: every later month's seats
      priced by the period programme over the clients waiting now and a
      forecast of arrivals, the clients who arrived in the same month a year
      earlier (`--prices`, `--forecast`: the alternatives of
      `bench/plan_year.py`),
  (d) the hindsight optimum over the year with every arrival known
      (`model.planning.hindsight`).

Every plan uses the model's predictions only; the truth judges them. The
replay refuses any plan beyond the seats or eligibility, so "capacity never
exceeded" holds for every figure reported. Intervals: a bootstrap over the
replayed clients (their true gains under each planner, resampled together).

Speed (`bench/plan_speed.py`): a month of 10 000 clients × 15 services (the
replay world's features repeated) scored and planned, in a child process
that reports its peak memory, on its own and with (c)'s horizon and a
forecast of 10 000 clients for each later month; and POST /v1/plans with 500 clients through the real app (the
registered model, SQLite, a caseworker key).

    .venv/bin/python bench/plan.py [--seeds 1,2,3] [--clients 6000] [--train-clients N]
        [--prices months|pooled] [--forecast last-year|last-month]
        [--work DIR] [--no-speed] [--quick]

`--work` keeps the worlds and trained models and reuses them on the next run.
Writes bench/out/plan.json (plan-train<N>.json with another training size)
and prints the tables for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import log, machine, table, write_json  # noqa: E402
from bench.plan_speed import speed  # noqa: E402
from bench.plan_year import (  # noqa: E402
    FORECASTS,
    PRICES,
    Year,
    hindsight_planner,
    month_planner,
)
from model.router import Router  # noqa: E402
from model.vocab import NO_NEW_SERVICE  # noqa: E402
from training.simulator import WorldParams, write_world  # noqa: E402
from training.simulator.capacity import (  # noqa: E402
    CapacitySetting,
    ReplayOutcome,
    greedy_planner,
    replay,
)

CONFIG = """\
num_threads = 1

[learner_params.s_learner]
n_estimators = 120
n_bags = 2

[learner_params.dr_learner]
n_estimators = 120
nuisance_estimators = 60

[learner_params.propensity]
n_estimators = 60
"""
GROUPS = ("gender", "residence_basis")
SMALL_CELL = 5
PLANNERS = ("greedy", "month_ip", "month_ip_prices", "hindsight")


def bootstrap(gains: dict[str, np.ndarray], draws: int, seed: int) -> dict[str, list[float]]:
    rng = np.random.default_rng(seed)
    n = len(next(iter(gains.values())))
    share = {name: [] for name in gains}
    margin = []
    for _ in range(draws):
        pick = rng.integers(0, n, n)
        totals = {name: g[pick].sum() for name, g in gains.items()}
        for name in gains:
            share[name].append(totals[name] / totals["hindsight"])
        margin.append((totals["month_ip_prices"] - totals["greedy"]) / totals["hindsight"])
    out = {f"share_{k}": list(np.percentile(v, [2.5, 97.5])) for k, v in share.items()}
    out["margin_c_over_a"] = list(np.percentile(margin, [2.5, 97.5]))
    return out


def by_group(year: Year, outcome: ReplayOutcome) -> dict[str, dict[str, Any]]:
    """Share of clients whose own best option is a service who started it, by group (n < 5 withheld)."""
    reference = year.actions.index(NO_NEW_SERVICE)
    wants = year.best != reference
    got = (outcome.action == year.best) & wants
    out: dict[str, dict[str, Any]] = {}
    for column in GROUPS:
        values = year.features[column].astype(str).to_numpy()
        cells = {}
        for value in sorted(set(values[wants])):
            mask = wants & (values == value)
            k = int(mask.sum())
            cells[value] = {
                "n": k,
                "share": None if k < SMALL_CELL else round(float(got[mask].mean()), 3),
            }
        out[column] = cells
    return out


def one_seed(
    seed: int,
    clients: int,
    train_clients: int,
    setting: CapacitySetting,
    horizon: int,
    prices: str,
    forecast: str,
    work: Path,
    draws: int,
) -> dict[str, Any]:
    from training.registry.runs import train_and_register
    from training.registry.store import CHAMPION
    from training.registry.versions import promote

    train_dir, replay_dir = (
        work / f"train-{seed}-{train_clients}",
        work / f"replay-{seed}-{clients}",
    )
    saved = work / f"router-{seed}-{train_clients}"
    if not replay_dir.exists():
        log(f"seed {seed}: simulating the replayed world of {clients} clients")
        write_world(
            WorldParams(n_clients=clients, seed=seed + 1000, truth_replicates=4), replay_dir
        )
    if saved.exists():
        # A kept work folder: the model this seed and training size gave before.
        log(f"seed {seed}: the model trained before ({saved})")
        router = Router.load(saved)
    else:
        log(f"seed {seed}: simulating a training world of {train_clients} clients")
        write_world(WorldParams(n_clients=train_clients, seed=seed, truth_replicates=2), train_dir)
        config = work / "config.toml"
        config.write_text(CONFIG, "utf-8")
        log(f"seed {seed}: training")
        result, registered = train_and_register(train_dir, config_path=config)
        promote(registered.version, alias=CHAMPION, name=registered.name)
        router = result.router
        router.save(saved)
    year = Year(router, replay_dir, setting)
    log(
        f"seed {seed}: {year.world.n} clients awaiting a decision in 2025; seats {dict(year.world.seats[0])}"
    )
    planners = {
        "greedy": greedy_planner(year.world, year.best),
        "month_ip": month_planner(year, 0),
        "month_ip_prices": month_planner(year, horizon, prices=prices, forecast=forecast),
        "hindsight": hindsight_planner(year),
    }
    outcomes: dict[str, ReplayOutcome] = {}
    seconds: dict[str, float] = {}
    for name, planner in planners.items():
        started = time.perf_counter()
        outcomes[name] = replay(year.world, planner)
        seconds[name] = round(time.perf_counter() - started, 2)
        log(f"seed {seed}: {name} true gain {outcomes[name].total:.2f} ({seconds[name]} s)")
    best_total = outcomes["hindsight"].total
    figures: dict[str, Any] = {
        "seed": seed,
        "clients": year.world.n,
        "seats": dict(year.world.seats[0]),
        "planners": {},
    }
    for name, o in outcomes.items():
        starts = o.start_month >= 0
        waited = np.where(starts, o.start_month - year.world.arrival_month, 0)
        predicted = np.where(
            starts, year.uplift[np.arange(year.world.n), o.action] * setting.wait_decay**waited, 0.0
        )
        figures["planners"][name] = {
            "true_gain": round(o.total, 3),
            "predicted_gain": round(float(predicted.sum()), 3),
            "share_of_hindsight": round(o.total / best_total, 4),
            "starts": int(starts.sum()),
            "mean_wait_days": round(float(np.nanmean(o.wait_days)), 1) if starts.any() else None,
            "waited_over_30_days": round(float((o.wait_days[starts] > 30).mean()), 3)
            if starts.any()
            else None,
            "own_best_started": round(
                float(
                    ((o.action == year.best) & starts).sum()
                    / max(1, (year.best != year.actions.index(NO_NEW_SERVICE)).sum())
                ),
                3,
            ),
            "capacity_exceeded": False,  # the replay refuses any month beyond the seats
            "by_group": by_group(year, o),
            "seconds": seconds[name],
        }
    figures["bootstrap"] = bootstrap({k: o.gain for k, o in outcomes.items()}, draws, seed)
    figures["router"] = router
    figures["replay_dir"] = replay_dir
    figures["features"] = year.features
    return figures


def api_speed(replay_dir: Path, work: Path, n: int, repeats: int) -> dict[str, Any]:
    from fastapi.testclient import TestClient

    from api.auth import create_key
    from api.main import create_app
    from api.recommendations.service import today
    from api.settings import Settings
    from bench.serve import build_requests

    settings = Settings(
        env="development",
        data_dir=work,
        database_url=f"sqlite:///{(work / 'polku.db').as_posix()}",
        model_name="polku-router",
        model_alias="champion",
        model_retry_seconds=0,
        model_start_wait_seconds=120,
        mlflow_tracking_uri=os.environ["MLFLOW_TRACKING_URI"],
    )
    bodies = build_requests(replay_dir, n, seed=1)
    clients = [
        {key: b[key] for key in ("client", "episodes", "outcomes") if key in b} for b in bodies
    ]
    day = today()
    body = {"month": f"{day:%Y-%m}", "clients": clients}
    app = create_app(settings)
    timings = []
    with TestClient(app) as client:
        key = create_key(app.state.engine, role="caseworker", unit="bench")
        headers = {"Authorization": f"Bearer {key.key}"}
        for _ in range(repeats + 1):
            started = time.perf_counter()
            answer = client.post("/v1/plans", json=body, headers=headers)
            timings.append(time.perf_counter() - started)
            assert answer.status_code == 200, answer.text[:500]
    return {"clients": len(clients), "seconds": timings[1:], "first_seconds": timings[0]}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--clients", type=int, default=6000, help="clients of the replayed world")
    parser.add_argument(
        "--train-clients",
        type=int,
        default=None,
        help="clients of the training world (default: --clients)",
    )
    parser.add_argument("--tightness", type=float, default=0.6)
    parser.add_argument("--horizon", type=int, default=3)
    parser.add_argument(
        "--prices", choices=PRICES, default="months", help="how (c) prices later seats"
    )
    parser.add_argument(
        "--forecast", choices=FORECASTS, default="last-year", help="(c)'s forecast of arrivals"
    )
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--speed-clients", type=int, default=10_000)
    parser.add_argument("--api-clients", type=int, default=500)
    parser.add_argument("--quick", action="store_true", help="one seed of 3000 clients")
    parser.add_argument(
        "--work",
        type=Path,
        default=None,
        help="keep the worlds and models here and reuse them (default: a new temporary folder)",
    )
    parser.add_argument("--no-speed", action="store_true", help="the planners' year only")
    options = parser.parse_args()
    seeds = [1] if options.quick else [int(s) for s in options.seeds.split(",")]
    clients = 3000 if options.quick else options.clients
    train_clients = options.train_clients or clients
    setting = CapacitySetting(tightness=options.tightness)
    work = options.work or Path(tempfile.mkdtemp(prefix="polku-bench-plan-"))
    work.mkdir(parents=True, exist_ok=True)
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{(work / 'mlflow.db').as_posix()}"
    results: dict[str, Any] = {
        "machine": machine(),
        "setting": setting.__dict__,
        "horizon": options.horizon,
        "prices": options.prices,
        "forecast": options.forecast,
        "clients": clients,
        "train_clients": train_clients,
        "seeds": [],
    }
    last: dict[str, Any] = {}
    for seed in seeds:
        last = one_seed(
            seed,
            clients,
            train_clients,
            setting,
            options.horizon,
            options.prices,
            options.forecast,
            work,
            options.draws,
        )
        results["seeds"].append(
            {k: v for k, v in last.items() if k not in ("router", "replay_dir", "features")}
        )
    if not options.no_speed:
        log("speed: a month of clients scored and planned")
        results["speed"] = speed(last["router"], last["features"], work, options.speed_clients)
        log(f"speed: {results['speed']}")
        log(f"speed: the same month with a horizon of {options.horizon} and its forecast")
        results["speed_horizon"] = speed(
            last["router"], last["features"], work, options.speed_clients, options.horizon
        )
        log(f"speed with the horizon: {results['speed_horizon']}")
        results["api"] = api_speed(last["replay_dir"], work, options.api_clients, repeats=5)
        log(f"api: {results['api']}")
    results["load_average_end"] = list(os.getloadavg())
    path = write_json("plan" if train_clients == clients else f"plan-train{train_clients}", results)
    rows = []
    for figures in results["seeds"]:
        for name in PLANNERS:
            p = figures["planners"][name]
            interval = figures["bootstrap"][f"share_{name}"]
            rows.append(
                [
                    figures["seed"],
                    name,
                    p["predicted_gain"],
                    p["true_gain"],
                    p["share_of_hindsight"],
                    f"{interval[0]:.3f}–{interval[1]:.3f}",
                    p["starts"],
                    p["mean_wait_days"],
                    p["waited_over_30_days"],
                    p["own_best_started"],
                ]
            )
    print(
        table(
            [
                "seed",
                "planner",
                "predicted gain",
                "true gain",
                "share of (d)",
                "95 % bootstrap",
                "starts",
                "mean wait d",
                "wait > 30 d",
                "own best started",
            ],
            rows,
        )
    )
    print()
    print(
        table(
            ["seed", "(c) − (a), share of (d)", "95 % bootstrap"],
            [
                [
                    f["seed"],
                    round(
                        (
                            f["planners"]["month_ip_prices"]["true_gain"]
                            - f["planners"]["greedy"]["true_gain"]
                        )
                        / f["planners"]["hindsight"]["true_gain"],
                        4,
                    ),
                    "{:.3f}–{:.3f}".format(*f["bootstrap"]["margin_c_over_a"]),
                ]
                for f in results["seeds"]
            ],
        )
    )
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
