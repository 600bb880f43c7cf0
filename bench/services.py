"""The service report: speed at 100 000 clients, and whether its effects cover the truth.

Builds (or reuses, with `--work`) the built-in world at `--clients` and a
model trained on a `--train-clients` world of the same seed (`polku train`,
`polku promote`), then

1. runs `polku report services` on the big world: wall time, CPU time and
   peak RSS (sampled from /proc); targets 60 s and 4 GB;
2. reads the report's JSON and, for every service and every published client
   group, checks whether the 95 % interval of the doubly-robust effect
   against no new service covers the true average effect over the same
   decision points (the simulator's truth: used here only, never by the
   report); target: at least 90 % of the effects.

    .venv/bin/python bench/services.py                       # 100 000 clients
    .venv/bin/python bench/services.py --clients 20000       # quicker
    .venv/bin/python bench/services.py --work /tmp/polku-bench   # reuse worlds and model
    .venv/bin/python bench/services.py --world DIR --store DIR --version V  # reuse a model
    .venv/bin/python bench/services.py --hidden-selection 0  # worlds whose data identify effects
    .venv/bin/python bench/services.py --config run.toml     # train with another configuration

Writes bench/out/services.json and prints the tables.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

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


def true_effects(world: Path, store: Path, version: str, report: dict[str, Any]) -> dict[str, Any]:
    """The true average effect of every service (and per published group) over the rows the
    report's effects average over."""
    import numpy as np

    os.environ.update(store_env(store))
    from model.services.groups import group_values, published_groups
    from model.vocab import NO_NEW_SERVICE
    from training.registry.served import load_served
    from training.reports.services import outcome_rows, read_inputs
    from training.router_figures import action_indices
    from training.truth import align_truth, find_truth, read_truth

    router = load_served(version=version).router
    inputs = read_inputs(router, world)
    found = find_truth(world)
    if found is None:
        raise SystemExit(f"no truth table in {world}")
    frame = inputs.dp.frame
    rows = outcome_rows(inputs)
    chosen = frame.loc[rows]
    eligible = inputs.dp.eligibility()[rows]
    taken = action_indices(frame, inputs.dp.actions)[rows]
    eligible[np.arange(len(taken)), taken] = True
    truth = align_truth(chosen, read_truth(found), inputs.dp.actions)
    clients = chosen["client_id"].astype(str).to_numpy(dtype=object)
    actions = list(inputs.dp.actions)
    ref = actions.index(NO_NEW_SERVICE)
    k = router.config.min_cell_size

    def effect(mask: np.ndarray, j: int) -> float | None:
        where = mask & eligible[:, j] & eligible[:, ref]
        contrast = truth[where, j] - truth[where, ref]
        contrast = contrast[np.isfinite(contrast)]
        return float(contrast.mean()) if contrast.size else None

    everyone = np.ones(len(taken), dtype=bool)
    out: dict[str, Any] = {
        "services": {a: effect(everyone, j) for j, a in enumerate(actions) if j != ref},
        "groups": {},
        "truth_rows": int(np.isfinite(truth[:, ref]).sum()),
    }
    for name in report["settings"]["group_fields"]:
        published = published_groups(group_values(chosen, name), clients, k)
        out["groups"][name] = {
            str(g): {a: effect(published == g, j) for j, a in enumerate(actions) if j != ref}
            for g in np.unique(published.astype(str))
        }
    return out


def policy_share(world: Path, store: Path, version: str, clients: int = 20_000) -> dict[str, Any]:
    """The policy tree on the big world: fitted to the version's recommendations on one
    half of the clients (at most `clients` of them), valued on the other half, doubly
    robust and on the simulator's truth."""
    import numpy as np

    os.environ.update(store_env(store))
    from model.services.policy_tree import PolicyTree, imitation_weights, policy_summary
    from model.vocab import LANGUAGES
    from training.registry.served import load_served
    from training.reports.services import read_inputs
    from training.router_figures import action_indices, evaluable_rows
    from training.truth import align_truth, find_truth, read_truth

    router = load_served(version=version).router
    inputs = read_inputs(router, world)
    frame = inputs.dp.frame
    found = find_truth(world)
    if found is None:
        raise SystemExit(f"no truth table in {world}")
    truth_table = read_truth(found)
    codes, client = np.unique(frame["client_id"].astype(str).to_numpy(), return_inverse=True)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(codes))
    half = max(1, min(clients, len(codes) // 2))
    fit_clients, value_clients = order[:half], order[half : 2 * half]
    taken_all = action_indices(frame, inputs.dp.actions)

    def scored(chosen: np.ndarray) -> tuple[Any, np.ndarray, np.ndarray, Any]:
        rows = evaluable_rows(inputs.dp) & np.isin(client, chosen)
        eligible = inputs.dp.eligibility()[rows]
        taken = taken_all[rows]
        eligible[np.arange(len(taken)), taken] = True
        return (
            frame.loc[rows],
            eligible,
            taken,
            router.score(frame.loc[rows], eligible=eligible, intervals=False),
        )

    fit_frame, fit_eligible, _, fit_batch = scored(fit_clients)
    tree = PolicyTree(max_depth=3, min_leaf=router.config.min_cell_size).fit(
        fit_frame,
        fit_batch.recommended,
        imitation_weights(fit_batch.p, fit_eligible, fit_batch.recommended),
        router.actions,
    )
    value_frame, value_eligible, value_taken, value_batch = scored(value_clients)
    names = {
        a: {lang: router.catalogue.get(a).name[lang] for lang in LANGUAGES} for a in router.actions
    }
    summary = policy_summary(
        tree,
        value_frame,
        eligible=value_eligible,
        y=value_frame["label"].to_numpy(dtype=float),
        taken=value_taken,
        mu=value_batch.p,
        propensity=value_batch.support,
        recommended=value_batch.recommended,
        service_names=names,
        truth=align_truth(value_frame, truth_table, inputs.dp.actions),
    )
    summary["fit_clients"] = len(fit_clients)
    summary["value_clients"] = len(value_clients)
    return summary


def coverage(report: dict[str, Any], truth: dict[str, Any]) -> dict[str, Any]:
    """Per service: the effect, its interval, the truth, covered; and the group cells."""
    services = []
    for service, record in (report["outcomes"] or {}).items():
        if service == "no_new_service":
            continue
        true = truth["services"].get(service)
        low, high = record.get("low"), record.get("high")
        covered = None if None in (low, high, true) else bool(low <= true <= high)
        sensitivity = record.get("sensitivity") or {}
        services.append(
            {
                "service": service,
                "effect": record.get("effect"),
                "low": low,
                "high": high,
                "true": true,
                "covered": covered,
                "sensitivity_covers": None
                if None in (sensitivity.get("low"), sensitivity.get("high"), true)
                else bool(sensitivity["low"] <= true <= sensitivity["high"]),
            }
        )
    cells: dict[str, dict[str, int]] = {}
    for section in report["groups"]:
        for group in section["groups"]:
            for service, record in group["effects"].items():
                true = truth["groups"][section["name"]].get(group["group"], {}).get(service)
                if None in (record.get("low"), record.get("high"), true):
                    continue
                tally = cells.setdefault(service, {"cells": 0, "covered": 0})
                tally["cells"] += 1
                tally["covered"] += int(record["low"] <= true <= record["high"])
    return {"services": services, "group_cells": cells}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--train-clients", type=int, default=10_000)
    parser.add_argument("--work", type=Path, default=None, help="reuse this folder")
    parser.add_argument("--world", type=Path, default=None, help="an existing world to report on")
    parser.add_argument("--store", type=Path, default=None, help="an existing MLflow store folder")
    parser.add_argument("--version", default=None, help="the version in --store to use")
    parser.add_argument("--repeat", type=int, default=1, help="runs of the report (median)")
    parser.add_argument("--no-policy", action="store_true", help="skip the policy tree")
    parser.add_argument("--skip-report", action="store_true", help="reuse the last report")
    parser.add_argument(
        "--hidden-selection",
        type=float,
        default=None,
        help="the worlds' selection on unrecorded motivation (polku simulate's option)",
    )
    parser.add_argument("--config", type=Path, default=None, help="run configuration to train with")
    options = parser.parse_args()
    work = options.work or Path(tempfile.mkdtemp(prefix="polku-bench-services-"))
    work.mkdir(parents=True, exist_ok=True)

    def world_of(clients: int) -> Path:
        return simulate(
            work / f"world-{clients}", clients, hidden_selection=options.hidden_selection
        )

    world = options.world or world_of(options.clients)
    if options.store is not None and options.version is not None:
        store, version = options.store, options.version
    else:
        store = work / "store"
        store.mkdir(exist_ok=True)
        version_file = store / "version.txt"
        if version_file.is_file():
            version = version_file.read_text().strip()
        else:
            train_world = world_of(options.train_clients)
            version = train_and_promote(train_world, store, config=options.config)
            version_file.write_text(version)
    out = work / "report"
    runs = []
    for _ in range(0 if options.skip_report else options.repeat):
        runs.append(
            measure(
                [
                    POLKU,
                    "report",
                    "services",
                    "--data",
                    str(world),
                    "--version",
                    version,
                    "--out",
                    str(out),
                ],
                env=store_env(store),
                cwd=store,
            )
        )
    report = json.loads((out / "services.json").read_text("utf-8"))
    log("true effects on the same rows")
    truth = true_effects(world, store, version, report)
    covered = coverage(report, truth)
    policy = None if options.no_policy else policy_share(world, store, version)
    walls = sorted(r["wall_seconds"] for r in runs) or [None]
    document = {
        "benchmark": "services",
        "command": " ".join(sys.argv),
        "machine": machine(),
        "world": str(world),
        "model_version": version,
        "decisions": report["evaluated"]["decisions"],
        "clients": report["evaluated"]["clients"],
        "runs": runs,
        "median_wall_seconds": walls[len(walls) // 2],
        "coverage": covered,
        "policy_tree": policy,
    }
    path = write_json("services", document)
    print(
        table(
            ["polku report services", "decisions", "wall s", "CPU s", "peak RSS GiB", "load"],
            [
                [
                    "run",
                    report["evaluated"]["decisions"],
                    r["wall_seconds"],
                    r["cpu_seconds"],
                    r["peak_rss_gib"],
                    r["load_average_before"][0],
                ]
                for r in runs
            ],
        )
    )
    rows = covered["services"]
    print(
        table(
            ["service", "DR effect", "95 % low", "95 % high", "true", "covered", "Λ=1.5 covers"],
            [
                [
                    r["service"],
                    r["effect"],
                    r["low"],
                    r["high"],
                    r["true"],
                    r["covered"],
                    r["sensitivity_covers"],
                ]
                for r in rows
            ],
        )
    )
    shown = [r for r in rows if r["covered"] is not None]
    if shown:
        share = sum(r["covered"] for r in shown) / len(shown)
        print(f"services covered: {sum(r['covered'] for r in shown)} of {len(shown)} ({share:.0%})")
    cells = covered["group_cells"]
    total = sum(c["cells"] for c in cells.values())
    if total:
        hit = sum(c["covered"] for c in cells.values())
        print(
            table(
                ["service", "group cells", "covered", "share"],
                [
                    [s, c["cells"], c["covered"], c["covered"] / c["cells"]]
                    for s, c in cells.items()
                ],
            )
        )
        print(f"group cells covered: {hit} of {total} ({hit / total:.0%})")
    if policy is not None:
        true = policy["truth"]
        print(
            table(
                [
                    "policy tree (depth 3)",
                    "rules",
                    "agreement",
                    "V_hist",
                    "V_rec",
                    "V_tree",
                    "share kept",
                ],
                [
                    [
                        "doubly robust",
                        policy["leaves"],
                        policy["agreement"],
                        policy["v_hist"],
                        policy["v_rec"],
                        policy["v_tree"],
                        policy["share_of_gain"],
                    ],
                    [
                        "truth",
                        policy["leaves"],
                        policy["agreement"],
                        true["v_hist"],
                        true["v_rec"],
                        true["v_tree"],
                        true["share_of_gain"],
                    ],
                ],
            )
        )
        for rule in policy["rules"]:
            print(f"- {rule['share']:.1%}: {rule['text']['en']}")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
