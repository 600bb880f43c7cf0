"""Searching hyperparameters: `polku tune`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from cli.console import domain_errors, err_console, out_console, quiet_mlflow, stages


def tune(
    data: Annotated[Path, typer.Option(help="folder with clients, episodes and outcomes")],
    trials: Annotated[int, typer.Option(min=1, help="number of trials")] = 20,
    timeout: Annotated[
        float | None, typer.Option(min=1, help="stop starting trials after this many seconds")
    ] = None,
    learner: Annotated[str, typer.Option(help="learner to tune: s_learner or dr_learner")] = (
        "s_learner"
    ),
    catalogue: Annotated[Path | None, typer.Option(help="service catalogue (TOML)")] = None,
    config: Annotated[
        Path | None, typer.Option(help="run configuration to start from (TOML)")
    ] = None,
    out: Annotated[
        Path, typer.Option(help="where to write the best run configuration (TOML)")
    ] = Path("tuned.toml"),
) -> None:
    """Search a learner's hyperparameters with Optuna on the validation clients.

    Each trial is scored as training chooses (the doubly-robust value on the
    validation clients, never the truth) and logged as a nested MLflow run; the
    best configuration is written to --out for `polku train --config`.
    """
    from training.registry.tuning_runs import tune_and_log

    quiet_mlflow()
    with domain_errors(), stages(trials + 5) as progress:
        result, run_id = tune_and_log(
            data,
            trials=trials,
            timeout=timeout,
            learner=learner,
            catalogue_path=catalogue,
            config_path=config,
            out=out,
            progress=progress,
        )
    table = Table(
        title=f"Best {result.learner} hyperparameters (validation clients)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
    )
    table.add_column("hyperparameter")
    table.add_column("value", justify="right")
    for name, value in result.best_params.items():
        table.add_row(name, f"{value:.4g}" if isinstance(value, float) else str(value))
    out_console.print(table)
    complete = sum(r.state == "complete" for r in result.trials)
    pruned = sum(r.state == "pruned" for r in result.trials)
    baseline = (
        f"; the configuration's own {result.baseline_value:.4f}"
        if result.baseline_value is not None
        else ""
    )
    out_console.print(
        f"validation referee value {result.best_value:.4f}{baseline} "
        f"({complete} trials complete, {pruned} pruned)",
        highlight=False,
        soft_wrap=True,
    )
    out_console.print(
        f"Wrote {out}: train with `polku train --data {data} --config {out}`",
        highlight=False,
        soft_wrap=True,
    )
    err_console.print(f"MLflow run {run_id} (a nested run per trial)", highlight=False)


def register(app: typer.Typer) -> None:
    app.command()(tune)
