"""Tuning speed: `polku tune --trials N` on the built-in world.

Builds (or reuses, with `--work`) the built-in world at `--clients` (20 000
by default) and runs `polku tune --trials N` (20 by default) in an MLflow
store of its own; wall time, CPU time and peak RSS, the trials complete and
pruned, and the best validation value against the configuration's own.

    .venv/bin/python bench/tune.py
    .venv/bin/python bench/tune.py --clients 5000 --trials 5 --work /tmp/polku-tune

Writes bench/out/tune.json and prints a table.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import POLKU, log, machine, measure, simulate, store_env, table, write_json


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20_000)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="polku-tune-"))
    world = simulate(work / f"world-{args.clients}", args.clients)
    store = work / f"store-{args.clients}"
    store.mkdir(parents=True, exist_ok=True)
    out = store / "tuned.toml"
    measured = measure(
        [POLKU, "tune", "--data", str(world), "--trials", str(args.trials), "--out", str(out)],
        env=store_env(store),
        cwd=store,
    )
    words = " ".join(measured["stdout"].split())
    found = re.search(
        r"validation referee value ([\d.]+); the configuration's own ([\d.]+) "
        r"\((\d+) trials complete, (\d+) pruned\)",
        words,
    )
    best, own, complete, pruned = found.groups() if found else (None, None, None, None)
    document = {
        "machine": machine(),
        "clients": args.clients,
        "trials": args.trials,
        "tune": measured,
        "best_referee_value": best,
        "configured_referee_value": own,
        "trials_complete": complete,
        "trials_pruned": pruned,
        "config": out.read_text(encoding="utf-8") if out.is_file() else None,
    }
    path = write_json("tune", document)
    log(f"wrote {path}")
    print(
        table(
            ["command", "wall s", "CPU s", "peak RSS GiB", "load before", "load after"],
            [
                [
                    f"polku tune --trials {args.trials} ({args.clients} clients)",
                    measured["wall_seconds"],
                    measured["cpu_seconds"],
                    measured["peak_rss_gib"],
                    measured["load_average_before"][0],
                    measured["load_average_after"][0],
                ]
            ],
        )
    )
    print(f"\nbest {best}, configured {own}; {complete} complete, {pruned} pruned")


if __name__ == "__main__":
    main()
