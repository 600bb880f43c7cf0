"""Comparing two versions: `polku compare` and the comparison inside `polku promote`.

Builds (or reuses, with `--work`) the built-in world at `--clients` (50 000
by default) and trains two versions on it with the given run configuration
(by default the S-learner of 200 trees below, seeds 0 and 1, so the two
differ), promotes the first, then times `polku compare 1 2 --json` on the
world (the held-out clients of both, with the truth as an extra column and
the intervals' coverage of it) `--repeat` times, the same with
`--no-coverage` (what real data without truth costs), and `polku promote 2`
once (the same comparison against
the champion, then the alias move). Wall time, CPU time, peak RSS.

    .venv/bin/python bench/compare.py                       # 50 000 clients
    .venv/bin/python bench/compare.py --clients 10000 --repeat 1
    .venv/bin/python bench/compare.py --work /tmp/polku-compare   # reuse world and models

Writes bench/out/compare.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import POLKU, log, machine, measure, run, simulate, store_env, table, write_json

MODEL = "polku-router-compare-bench"
CONFIG = """\
learners = ["s_learner"]
num_threads = 1
seed = {seed}

[learner_params.s_learner]
n_estimators = 200
num_leaves = 15
learning_rate = 0.1
"""


def train(world: Path, store: Path, seed: int) -> str:
    config = store / f"seed{seed}.toml"
    config.write_text(CONFIG.format(seed=seed), encoding="utf-8")
    text = run(
        [POLKU, "train", "--data", str(world), "--config", str(config), "--model-name", MODEL],
        env=store_env(store),
        cwd=store,
    )
    for line in text.splitlines():
        if line.startswith("Registered") and " version " in line:
            return line.split(" version ", 1)[1].split()[0]
    raise SystemExit("could not read the registered version from `polku train`")


def _answer(tail: str) -> dict[str, Any]:
    """The figures of `polku compare --json` kept at the end of its (truncated) output."""
    found: dict[str, Any] = {}
    for key in ("dr_difference", "truth_difference"):
        match = re.search(rf'"{key}": (\{{[^}}]*\}}|null)', tail)
        found[key] = json.loads(match.group(1)) if match else None
    for key in ("n_rows", "n_clients"):
        matches = re.findall(rf'"{key}": (\d+)', tail)  # the last: the answer's own
        found[key] = int(matches[-1]) if matches else None
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="polku-compare-"))
    world = simulate(work / f"world-{args.clients}", args.clients)
    store = work / f"store-{args.clients}"
    store.mkdir(parents=True, exist_ok=True)
    versions_file = store / "versions.json"
    if versions_file.is_file():
        first, second = json.loads(versions_file.read_text())
    else:
        first = train(world, store, 0)
        run([POLKU, "promote", first, "--model-name", MODEL], env=store_env(store), cwd=store)
        second = train(world, store, 1)
        versions_file.write_text(json.dumps([first, second]))
    env = store_env(store)
    command = [
        POLKU,
        "compare",
        first,
        second,
        "--data",
        str(world),
        "--json",
        "--model-name",
        MODEL,
    ]
    compares = [measure(command, env=env, cwd=store) for _ in range(args.repeat)]
    # as on real data (no truth): no per-action intervals
    plain = [measure([*command, "--no-coverage"], env=env, cwd=store) for _ in range(args.repeat)]
    answer = _answer(compares[-1]["stdout"])
    promotion = measure(
        [POLKU, "promote", second, "--model-name", MODEL, "--force"], env=env, cwd=store
    )
    # leave the first version champion, so that a rerun with --work compares again
    run([POLKU, "promote", first, "--model-name", MODEL, "--force"], env=env, cwd=store)
    walls = [c["wall_seconds"] for c in compares]
    document = {
        "machine": machine(),
        "clients": args.clients,
        "versions": [first, second],
        "compare": compares,
        "compare_median_seconds": statistics.median(walls),
        "compare_no_coverage": plain,
        "compare_no_coverage_median_seconds": statistics.median(c["wall_seconds"] for c in plain),
        "promote": promotion,
        "dr_difference": answer["dr_difference"],
        "truth_difference": answer["truth_difference"],
        "n_rows": answer["n_rows"],
        "n_clients": answer["n_clients"],
    }
    path = write_json("compare", document)
    log(f"wrote {path}")
    print(
        table(
            ["command", "wall s (median)", "CPU s", "peak RSS GiB", "load before"],
            [
                [
                    f"polku compare ({len(walls)} runs)",
                    statistics.median(walls),
                    statistics.median(c["cpu_seconds"] for c in compares),
                    max(c["peak_rss_gib"] for c in compares),
                    compares[0]["load_average_before"][0],
                ],
                [
                    f"polku compare --no-coverage ({len(plain)} runs)",
                    statistics.median(c["wall_seconds"] for c in plain),
                    statistics.median(c["cpu_seconds"] for c in plain),
                    max(c["peak_rss_gib"] for c in plain),
                    plain[0]["load_average_before"][0],
                ],
                [
                    "polku promote (comparison + alias)",
                    promotion["wall_seconds"],
                    promotion["cpu_seconds"],
                    promotion["peak_rss_gib"],
                    promotion["load_average_before"][0],
                ],
            ],
        )
    )
    dr = answer["dr_difference"]
    print(
        f"\n{answer['n_rows']} decision points of {answer['n_clients']} held-out clients; "
        f"DR difference {dr['value']:+.4f} [{dr['low']:+.4f}, {dr['high']:+.4f}]"
    )


if __name__ == "__main__":
    main()
