"""`polku recommend`: recommendations for a whole caseload on a date, for planning."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer

from cli.console import (
    DEFAULT_MODEL_NAME,
    ChampionAliasOption,
    ModelNameOption,
    VersionOption,
    domain_errors,
    out_console,
    progress_bar,
    quiet_mlflow,
)
from cli.training import load_model


def as_date(value: str) -> date:
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date written YYYY-MM-DD") from None


def recommend(
    data: Annotated[Path, typer.Option(help="folder with clients, episodes and outcomes")],
    as_of: Annotated[str, typer.Option("--as-of", help="date of the caseload, YYYY-MM-DD")],
    out: Annotated[Path, typer.Option(help="output file, .csv or .parquet")],
    version: VersionOption = None,
    alias: ChampionAliasOption = None,
    explanations: Annotated[
        bool, typer.Option("--explanations/--no-explanations", help="explain each recommendation")
    ] = True,
    k: Annotated[int, typer.Option(min=1, help="recommendations per client")] = 3,
    language: Annotated[str, typer.Option(help="fi, sv or en")] = "fi",
    model_name: ModelNameOption = DEFAULT_MODEL_NAME,
) -> None:
    """Recommendations for every client with an open case on a date, for planning."""
    from training.batch import OUTPUT_FORMATS, recommend_caseload, write_recommendations
    from training.contract.load import load_valid_tables

    day = as_date(as_of)
    if out.suffix.lower() not in OUTPUT_FORMATS:
        raise typer.BadParameter("the output file must end in .csv or .parquet", param_hint="--out")
    if language not in ("fi", "sv", "en"):
        raise typer.BadParameter("choose fi, sv or en", param_hint="--language")
    quiet_mlflow()
    with domain_errors():
        served = load_model(model_name, version, alias, "champion")
        router = served.router
        tables = load_valid_tables(data, catalogue=router.catalogue, config=router.config)
        with progress_bar() as bar:
            task = bar.add_task("explaining recommendations", total=None)

            def tick(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            frame = recommend_caseload(
                router,
                tables,
                day,
                k=k,
                explanations=explanations,
                language=language,
                model=(served.name, served.version),
                progress=tick,
            )
        path = write_recommendations(frame, out)
    out_console.print(
        f"wrote recommendations for {len(frame):,} open cases on {day:%Y-%m-%d} to {path} "
        f"({served.name} version {served.version})",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    app.command()(recommend)
