"""Writing a drawn world to a folder, as a municipality's export would look.

The three input tables go out in the data contract's format (CSV or
Parquet, see docs/data.md), beside them `truth` (each decision point's
chance under every action, which no real export has) and `world.json` (the
parameters that reproduce the world, and its headline rates). A drawn
world adds its catalogue and run configuration, and its design to
`world.json`.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from model.vocab import NO_NEW_SERVICE
from training.simulator.design import Design
from training.simulator.history import History, simulate
from training.simulator.params import WorldParams

if TYPE_CHECKING:
    from training.tables import FileFormat


def write_world(
    params: WorldParams,
    out: Path,
    *,
    fmt: str = "csv",
    progress: bool = False,
    design: Design | None = None,
) -> str:
    """Simulate and write clients, episodes, outcomes, truth and world.json to `out`.

    A drawn world (`design`, the built-in world's by default) also writes
    its own files, such as its catalogue and run configuration, and
    `world.json` then holds the drawn design and its figures too.
    """
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from training.tables import Tables, write_tables

    started = time.perf_counter()
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        disable=not progress,
        transient=True,
    ) as bar:
        task = bar.add_task("simulating", total=None)
        history = simulate(
            params,
            progress=lambda what: bar.update(task, description=f"simulating: {what}"),
            design=design,
        )
        bar.update(task, description="writing tables")
        out.mkdir(parents=True, exist_ok=True)
        tables = Tables(history.clients, history.episodes, history.outcomes)
        write_tables(tables, out, fmt=cast("FileFormat", fmt))
        truth = history.truth.copy()
        truth["decision_date"] = truth["decision_date"].dt.strftime("%Y-%m-%d")
        if fmt == "parquet":
            truth.to_parquet(out / "truth.parquet", index=False)
        else:
            truth.to_csv(out / "truth.csv", index=False, float_format="%.6f")
    world: dict[str, Any] = {"params": params.to_json(), "summary": world_summary(history, params)}
    if design is not None:
        for name, text in design.files(params).items():
            (out / name).write_text(text, encoding="utf-8")
        drawn = design.describe()
        if drawn is not None:
            world = {"scenario": design.scenario, **world, "design": drawn}
        figures = design.summarise(history, params)
        if figures is not None:
            world["summary"].update(figures)
    (out / "world.json").write_text(json.dumps(world, indent=2) + "\n")
    elapsed = time.perf_counter() - started
    return (
        f"wrote {len(history.clients)} clients, {len(history.episodes)} episodes, "
        f"{len(history.outcomes)} outcome spells and {len(history.truth)} decision points "
        f"to {out} in {elapsed:.1f} s"
    )


def world_summary(history: History, params: WorldParams) -> dict[str, Any]:
    """Headline rates of the world, to compare with the public figures."""
    truth = history.truth
    clients = history.clients
    out: dict[str, Any] = {
        "clients": len(clients),
        "episodes": len(history.episodes),
        "decision_points": len(truth),
        "residence_basis": clients["residence_basis"]
        .value_counts(normalize=True)
        .round(3)
        .to_dict(),
    }
    if len(truth):
        out["v_historical"] = float(truth["p_historical"].mean())
        actions = [column for column in truth.columns if f"eligible_{column}" in truth.columns]
        values = truth[actions].to_numpy()
        eligible = truth[[f"eligible_{action}" for action in actions]].to_numpy(dtype=bool)
        out["v_oracle"] = float(np.where(eligible, values, -np.inf).max(axis=1).mean())
        out["v_no_new_service"] = float(truth[NO_NEW_SERVICE].mean())
    return out
