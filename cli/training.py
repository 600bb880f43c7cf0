"""Training and scoring: `polku train`, `polku evaluate` (promotion: `cli.promotion`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.table import Table

from cli.console import (
    DEFAULT_MODEL_NAME,
    ModelNameOption,
    domain_errors,
    err_console,
    figure,
    out_console,
    quiet_mlflow,
    stages,
)
from cli.tables import effects_table, print_training_summary, sensitivity_table, sensitivity_text

if TYPE_CHECKING:
    from model.config import RunConfig
    from training.registry.served import ServedModel


def stage_count(config: RunConfig) -> int:
    """Progress messages of a training run: the pipeline's stages (one per learner, two
    optional), then 3 of the registry."""
    return 9 + len(config.learners) + config.recalibrate + config.refit + 3


def train(
    data: Annotated[Path, typer.Option(help="folder with clients, episodes and outcomes")],
    catalogue: Annotated[Path | None, typer.Option(help="service catalogue (TOML)")] = None,
    config: Annotated[Path | None, typer.Option(help="run configuration (TOML)")] = None,
    model_name: ModelNameOption = DEFAULT_MODEL_NAME,
) -> None:
    """Validate, build decision points, fit and compare the learners, log to MLflow, register."""
    from model.config import load_config
    from training.registry.runs import train_and_register

    quiet_mlflow()
    with domain_errors(), stages(stage_count(load_config(config))) as progress:
        result, registered = train_and_register(
            data,
            catalogue_path=catalogue,
            config_path=config,
            model_name=model_name,
            progress=progress,
        )
    print_training_summary(result, registered, out_console)


def load_model(
    model_name: str, version: str | None, alias: str | None, default_alias: str
) -> ServedModel:
    """A registered version by `--version` or `--alias` (not both), else `default_alias`."""
    from training.registry.served import load_served

    if version is not None and alias is not None:
        raise typer.BadParameter("give --version or --alias, not both")
    return load_served(
        model_name, alias=(alias or default_alias) if version is None else None, version=version
    )


def existing_truth(truth: Path | None) -> Path | None:
    if truth is not None and not truth.is_file():
        raise typer.BadParameter(f"truth file {truth} does not exist", param_hint="--truth")
    return truth


def evaluate(
    data: Annotated[Path, typer.Option(help="folder with clients, episodes and outcomes")],
    truth: Annotated[
        Path | None,
        typer.Option(help="simulator truth table (default: truth.csv/.parquet in --data if any)"),
    ] = None,
    version: Annotated[str | None, typer.Option(help="registered version to score")] = None,
    alias: Annotated[
        str | None, typer.Option(help="registry alias to score (default: candidate)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    plots: Annotated[
        Path | None, typer.Option(help="also write the plots (PNG) to this folder")
    ] = None,
    model_name: ModelNameOption = DEFAULT_MODEL_NAME,
) -> None:
    """Score a registered version on every decision point in DATA with a complete outcome window.

    On the very data the version was trained on, only its held-out clients are scored.
    """
    from training.router_figures import (
        EVALUATION_KEYS,
        as_json_figures,
        sensitivity_figures,
        uplift_records,
    )
    from training.version_evaluation import evaluate_version

    quiet_mlflow()
    with domain_errors():
        served = load_model(model_name, version, alias, "candidate")
        evaluation, note = evaluate_version(
            served.router, served.version, data, truth_path=existing_truth(truth), plots=plots
        )
    figures = as_json_figures(evaluation.figures)
    sensitivity = sensitivity_figures(evaluation.extra)
    effects = uplift_records(evaluation.uplift)
    if as_json:
        # EVALUATION_KEYS first, unchanged; the sensitivity analysis and the
        # per-service effects after them.
        typer.echo(json.dumps({**figures, **sensitivity, "service_effects": effects}))
        return
    table = Table(
        title=f"{served.name} version {served.version}", title_justify="left", box=box.SIMPLE_HEAD
    )
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key in EVALUATION_KEYS:
        table.add_row(key, figure(figures[key], 4))
    out_console.print(table)
    if effects:
        out_console.print(effects_table(effects))
    if sensitivity["dr_sensitivity"]:
        out_console.print(sensitivity_table(figures, sensitivity))
        out_console.print(sensitivity_text(sensitivity), highlight=False)
    err_console.print(note, highlight=False)


def register(app: typer.Typer) -> None:
    for command in (train, evaluate):
        app.command()(command)
