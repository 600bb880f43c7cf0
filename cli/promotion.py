"""Comparing registered versions and moving aliases: `polku compare`, `polku promote`."""

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
)
from cli.training import existing_truth

if TYPE_CHECKING:
    from model.evaluation.bootstrap import MeanInterval
    from training.version_comparison import VersionComparison

DataOption = Annotated[
    Path | None,
    typer.Option(
        help="folder with clients, episodes and outcomes to score both versions on "
        "(default: the data the newer version was trained on, its held-out clients)"
    ),
]
TruthOption = Annotated[
    Path | None,
    typer.Option(
        help="simulator truth table, shown as an extra column only "
        "(default: truth.csv/.parquet in the data folder if any)"
    ),
]


def comparison_table(comparison: VersionComparison, title: str) -> Table:
    """Every figure of both versions and the difference (second minus first)."""
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("figure", no_wrap=True)
    table.add_column(f"version {comparison.first}", justify="right")
    table.add_column(f"version {comparison.second}", justify="right")
    table.add_column(f"{comparison.second} − {comparison.first}", justify="right")
    for row in comparison.figures:
        difference = "–" if row.difference is None else f"{row.difference:+.4f}"
        table.add_row(row.name, figure(row.first, 4), figure(row.second, 4), difference)
    return table


def _interval(found: MeanInterval) -> str:
    return f"{found.value:+.4f} (95 % interval {found.low:+.4f} to {found.high:+.4f})"


def comparison_sentences(comparison: VersionComparison) -> list[str]:
    """The paired difference that decides, and the truth's when known (never deciding)."""
    dr = comparison.dr_difference
    verdict = (
        f"version {comparison.second} is worse"
        if comparison.second_is_worse
        else f"version {comparison.second} is not worse"
    )
    lines = [
        f"doubly-robust policy value graded by one referee (referee_value), "
        f"{comparison.second} − {comparison.first}: "
        f"{_interval(dr)}, paired cluster bootstrap over {dr.n_clusters} clients "
        f"({dr.n} decision points): {verdict}"
    ]
    if comparison.truth_difference is not None:
        lines.append(
            f"true policy value (simulator truth, shown only), {comparison.second} − "
            f"{comparison.first}: {_interval(comparison.truth_difference)}"
        )
    return lines


def _print_comparison(comparison: VersionComparison, title: str) -> None:
    out_console.print(comparison_table(comparison, title))
    for line in comparison_sentences(comparison):
        out_console.print(line, highlight=False, soft_wrap=True)
    err_console.print(comparison.note, highlight=False, soft_wrap=True)


def compare(
    first: Annotated[str, typer.Argument(help="registered version (the baseline)")],
    second: Annotated[str, typer.Argument(help="registered version compared with it")],
    data: DataOption = None,
    truth: TruthOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    no_coverage: Annotated[
        bool,
        typer.Option(
            "--no-coverage",
            help="skip the per-action intervals (the costly part) and their coverage of the truth",
        ),
    ] = False,
    model_name: ModelNameOption = DEFAULT_MODEL_NAME,
) -> None:
    """Score two registered versions on the same held-out decision points, side by side.

    Differences are SECOND minus FIRST; the doubly-robust policy value's has a
    paired cluster-bootstrap interval.
    """
    from training.registry.served import load_served, training_data_dir
    from training.version_comparison import Version, compare_versions

    quiet_mlflow()
    with domain_errors():
        baseline = load_served(model_name, alias=None, version=first)
        other = load_served(model_name, alias=None, version=second)
        folder = data if data is not None else training_data_dir(other.run_id)
        if folder is None or not folder.is_dir():
            raise typer.BadParameter(
                f"the data version {other.version} was trained on is not at hand "
                f"({folder or 'not recorded'}); give --data",
                param_hint="--data",
            )
        comparison = compare_versions(
            Version(baseline.version, baseline.router),
            Version(other.version, other.router),
            folder,
            truth_path=existing_truth(truth),
            coverage=not no_coverage,
        )
    if as_json:
        typer.echo(json.dumps(comparison.as_dict()))
        return
    _print_comparison(comparison, f"{model_name}: version {first} against version {second}")


def promote(
    version: Annotated[str, typer.Argument(help="registered version to promote")],
    alias: Annotated[str, typer.Option(help="alias to point at the version")] = "champion",
    data: DataOption = None,
    truth: TruthOption = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="promote even when worse than the current holder, or not comparable"
        ),
    ] = False,
    model_name: ModelNameOption = DEFAULT_MODEL_NAME,
) -> None:
    """Point an alias (by default `champion`, the one the API serves) at a version.

    The version is first compared with the alias's current holder on the same held-out
    decision points; one worse by the paired interval of the doubly-robust policy value
    is refused (exit status 1) unless --force. The decision is tagged on the version.
    """
    from training.promotion import guarded_promotion

    quiet_mlflow()
    with domain_errors():
        outcome = guarded_promotion(
            version,
            alias=alias,
            name=model_name,
            data=data,
            truth_path=existing_truth(truth),
            force=force,
        )
    if outcome.comparison is not None:
        _print_comparison(
            outcome.comparison,
            f"{model_name}: {alias} version {outcome.current} against version {version}",
        )
    if outcome.promoted is None:
        err_console.print(
            f"[bold red]refused:[/] version {version} is {outcome.reason}",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(1)
    promoted = outcome.promoted
    out_console.print(
        f"{promoted.name} version {promoted.version} is now [bold]{alias}[/] "
        f"(aliases: {', '.join(promoted.aliases)}); {outcome.reason}",
        highlight=False,
        soft_wrap=True,
    )


def register(app: typer.Typer) -> None:
    for command in (compare, promote):
        app.command()(command)
