"""Batch speed: `polku recommend` for a whole caseload, with and without explanations.

Builds (or reuses, with `--work`) the built-in world at `--clients` and a
model trained on a 10 000-client world of the same seed (`polku train`,
`polku promote`), then runs `polku recommend` on the caseload open on
`--as-of` (by default the date with the most open cases among the year and
half-year ends), once with `--no-explanations` and once with explanations
(vectorised: one TreeSHAP call per 10 000 clients). Wall time, CPU time and
peak RSS (sampled from /proc) of each command, and the number of open cases.

    .venv/bin/python bench/batch.py                 # 100 000 clients
    .venv/bin/python bench/batch.py --quick         # 20 000 clients
    .venv/bin/python bench/batch.py --work /tmp/polku-bench   # reuse worlds and model

Writes bench/out/batch.json and prints a table.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import date
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


def busiest_date(world: Path) -> tuple[date, int]:
    """Among year and half-year ends, the date with the most open cases."""
    from types import SimpleNamespace

    import pandas as pd

    from training.batch import open_cases

    tables = SimpleNamespace(
        clients=pd.read_csv(world / "clients.csv", usecols=["client_id", "intake_date"]),
        outcomes=pd.read_csv(world / "outcomes.csv", usecols=["client_id", "status", "start_date"]),
    )
    best = (date(2020, 12, 31), -1)
    for year in range(2018, 2026):
        for day in (date(year, 6, 30), date(year, 12, 31)):
            n = len(open_cases(tables, day))  # type: ignore[arg-type]
            if n > best[1]:
                best = (day, n)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="20 000 clients")
    parser.add_argument("--clients", type=int, default=None)
    parser.add_argument("--as-of", default=None, help="caseload date (default: the busiest)")
    parser.add_argument("--work", type=Path, default=None, help="reuse this folder (worlds, store)")
    parser.add_argument("--config", type=Path, default=None, help="run configuration of the model")
    options = parser.parse_args()
    clients = options.clients or (20_000 if options.quick else 100_000)
    work = options.work or Path(tempfile.mkdtemp(prefix="polku-bench-batch-"))
    work.mkdir(parents=True, exist_ok=True)
    world = simulate(work / f"world-{clients}", clients)
    train_world = simulate(work / "world-10000", 10_000)
    store = work / (f"store-{options.config.stem}" if options.config else "store")
    store.mkdir(exist_ok=True)
    version_file = store / "version.txt"
    if version_file.is_file():
        version = version_file.read_text().strip()
    else:
        version = train_and_promote(train_world, store, config=options.config)
        version_file.write_text(version)
    if options.as_of:
        as_of, n_open = options.as_of, None
    else:
        day, n_open = busiest_date(world)
        as_of = day.isoformat()
    log(f"caseload on {as_of}: {n_open} open cases of {clients} clients")
    env = store_env(store)
    runs = {}
    for label, flag in (
        ("no explanations", ["--no-explanations"]),
        ("explanations (fi)", ["--explanations"]),
    ):
        out = work / f"caseload-{clients}-{'x' if 'no' not in label else 'n'}.parquet"
        runs[label] = measure(
            [
                POLKU,
                "recommend",
                "--data",
                str(world),
                "--as-of",
                as_of,
                "--out",
                str(out),
                "--version",
                version,
                *flag,
            ],
            env=env,
            cwd=store,
        )
    document = {
        "benchmark": "batch",
        "command": " ".join(sys.argv),
        "machine": machine(),
        "clients": clients,
        "as_of": as_of,
        "open_cases": n_open,
        "model_version": version,
        "config": options.config.read_text() if options.config else None,
        "runs": runs,
    }
    path = write_json("batch", document)
    print(
        table(
            ["polku recommend", "clients", "open cases", "wall s", "CPU s", "peak RSS GiB", "load"],
            [
                [
                    label,
                    clients,
                    n_open,
                    r["wall_seconds"],
                    r["cpu_seconds"],
                    r["peak_rss_gib"],
                    r["load_average_before"][0],
                ]
                for label, r in runs.items()
            ],
        )
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
