"""Follow-up report speed: `polku report followup` on 100 000 recorded decisions.

Builds (or reuses, with `--work`) the built-in world at `--clients` and a
model trained on a 5 000-client world of the same seed with small learners
(`polku train`, `polku promote`), then writes `--decisions` answered
recommendations into a SQLite database at the API's schema: decision points
of the large world with the model's own suggestions and p_outcome, 70 %
followed, spread over four months and five units (one of them tiny). Then
times `polku report followup` (reading the database, validating the data,
joining, matured outcomes, AIPW, calibration, PSI against the training
window, JSON and HTML): wall time, CPU time and peak RSS, `--repeat` times.

    .venv/bin/python bench/followup.py                   # 100 000 decisions
    .venv/bin/python bench/followup.py --quick           # 20 000 decisions
    .venv/bin/python bench/followup.py --work /tmp/polku-bench-followup   # reuse

Writes bench/out/followup.json and prints a table.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    POLKU,
    log,
    machine,
    measure,
    simulate,
    store_env,
    table,
    train_and_promote,
    write_json,
)

SMALL_LEARNERS = """\
num_threads = 1

[learner_params.s_learner]
n_estimators = 60
n_bags = 2

[learner_params.dr_learner]
n_estimators = 40
nuisance_estimators = 30

[learner_params.propensity]
n_estimators = 40
"""


def write_decisions(world: Path, store: Path, version: str, n: int, path: Path) -> str:
    """The decisions database: `n` decision points of `world` answered with the model's suggestions."""
    import os

    import numpy as np

    os.environ.update(store_env(store))
    from model.decision_points.build import build_decision_points
    from tests.support.followup_log import write_followup_log
    from training.contract.load import load_valid_tables
    from training.registry.served import load_served

    served = load_served(version=version)
    router = served.router
    tables = load_valid_tables(world, catalogue=router.catalogue, config=router.config)
    dp = build_decision_points(
        tables.clients,
        tables.episodes,
        tables.outcomes,
        catalogue=router.catalogue,
        config=router.config,
    )
    frame = dp.frame[dp.frame["action_known"].to_numpy(bool)]
    rng = np.random.default_rng(0)
    picked = frame.iloc[np.sort(rng.choice(len(frame), size=min(n, len(frame)), replace=False))]
    log(f"writing {len(picked)} decisions of {len(frame)} decision points into {path}")
    return write_followup_log(
        path,
        router=router,
        rows=picked,
        model_name=served.name,
        version=served.version,
        run_id=served.run_id,
        units=("east", "west", "north", "south"),
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="20 000 decisions")
    parser.add_argument("--decisions", type=int, default=None)
    parser.add_argument("--clients", type=int, default=None, help="clients of the decisions' world")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--work", type=Path, default=None, help="reuse this folder (worlds, store, db)"
    )
    options = parser.parse_args()
    n = options.decisions or (20_000 if options.quick else 100_000)
    clients = options.clients or max(8_000, n * 3 // 10)
    work = options.work or Path(tempfile.mkdtemp(prefix="polku-bench-followup-"))
    work.mkdir(parents=True, exist_ok=True)
    world = simulate(work / f"world-{clients}", clients)
    train_world = simulate(work / "world-5000", 5_000)
    store = work / "store"
    store.mkdir(exist_ok=True)
    config = work / "small.toml"
    config.write_text(SMALL_LEARNERS)
    version_file = store / "version.txt"
    if version_file.is_file():
        version = version_file.read_text().strip()
    else:
        version = train_and_promote(train_world, store, config=config)
        version_file.write_text(version)
    database = work / f"decisions-{n}.db"
    url = f"sqlite:///{database}"
    if not database.is_file():
        write_decisions(world, store, version, n, database)
    env = store_env(store)
    runs = []
    for i in range(options.repeat):
        runs.append(
            measure(
                [
                    POLKU,
                    "report",
                    "followup",
                    "--decisions-db",
                    url,
                    "--data",
                    str(world),
                    "--version",
                    version,
                    "--out",
                    str(work / f"report-{i}"),
                ],
                env=env,
                cwd=store,
            )
        )
    walls = [r["wall_seconds"] for r in runs]
    document = {
        "benchmark": "followup",
        "command": " ".join(sys.argv),
        "machine": machine(),
        "decisions": n,
        "clients": clients,
        "model_version": version,
        "median_wall_seconds": statistics.median(walls),
        "runs": runs,
    }
    path = write_json("followup", document)
    print(
        table(
            [
                "polku report followup",
                "decisions",
                "clients",
                "wall s",
                "CPU s",
                "peak RSS GiB",
                "load",
            ],
            [
                [
                    f"run {i + 1}",
                    n,
                    clients,
                    r["wall_seconds"],
                    r["cpu_seconds"],
                    r["peak_rss_gib"],
                    r["load_average_before"][0],
                ]
                for i, r in enumerate(runs)
            ],
        )
    )
    print(f"median wall {statistics.median(walls):.1f} s; wrote {path}")


if __name__ == "__main__":
    main()
