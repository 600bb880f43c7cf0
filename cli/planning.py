"""`polku plan`: a month's clients awaiting a decision planned into the services' seats."""

from __future__ import annotations

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
    quiet_mlflow,
)
from cli.training import load_model


def plan(
    data: Annotated[Path, typer.Option(help="folder with clients, episodes and outcomes")],
    month: Annotated[str, typer.Option(help="the month to plan, YYYY-MM")],
    capacity: Annotated[
        Path | None,
        typer.Option(help="capacity table (CSV: service, month, seats); default the catalogue's"),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="plan file, .csv or .parquet (default: print a summary only)"),
    ] = None,
    clients: Annotated[
        Path | None,
        typer.Option(
            help="CSV with a client_id column: the clients to plan "
            "(default: every open case with no service under way)"
        ),
    ] = None,
    horizon: Annotated[
        int,
        typer.Option(
            min=0, max=12, help="later months a client may wait for (0: plan the month alone)"
        ),
    ] = 0,
    wait_decay: Annotated[
        float,
        typer.Option(
            min=0.0, max=1.0, help="share of a start's uplift kept when it comes a month later"
        ),
    ] = 0.85,
    balance: Annotated[
        float,
        typer.Option(min=0.0, help="uplift charged per seat used beyond --pace of the month's"),
    ] = 0.0,
    pace: Annotated[
        float,
        typer.Option(
            min=0.01, max=1.0, help="share of the month's seats this batch may use freely"
        ),
    ] = 1.0,
    max_shortfall: Annotated[
        float | None,
        typer.Option(
            min=0.0, help="most uplift a client may give up against their own best option"
        ),
    ] = None,
    version: VersionOption = None,
    alias: ChampionAliasOption = None,
    model_name: ModelNameOption = DEFAULT_MODEL_NAME,
) -> None:
    """Plan a month: at most one service per client, the most expected uplift within the seats."""
    from model.planning.capacity import is_month
    from model.planning.programme import PlanOptions
    from training.contract.capacity import load_capacity
    from training.contract.load import load_valid_tables
    from training.planning import PLAN_FORMATS, plan_from_tables, read_client_list, write_plan

    if not is_month(month):
        raise typer.BadParameter(f"{month!r} is not a month written YYYY-MM", param_hint="--month")
    if out is not None and out.suffix.lower() not in PLAN_FORMATS:
        raise typer.BadParameter("the plan file must end in .csv or .parquet", param_hint="--out")
    quiet_mlflow()
    with domain_errors():
        served = load_model(model_name, version, alias, "champion")
        router = served.router
        seats = load_capacity(capacity, catalogue=router.catalogue)
        listed = read_client_list(clients) if clients is not None else None
        tables = load_valid_tables(data, catalogue=router.catalogue, config=router.config)
        options = PlanOptions(balance=balance, pace=pace, max_shortfall=max_shortfall)
        planned = plan_from_tables(
            router,
            tables,
            month=month,
            capacity=seats,
            options=options,
            horizon=horizon,
            wait_decay=wait_decay,
            clients=listed,
            source=clients.name if clients is not None else "",
        )
        frame = planned.frame()
        if out is not None:
            write_plan(frame, out)
    counts = frame["status"].value_counts()
    where = f" to {out}" if out is not None else ""
    out_console.print(
        f"planned {len(frame):,} clients for {month}{where} ({served.name} version "
        f"{served.version}): {counts.get('start', 0):,} starts, {counts.get('waiting', 0):,} "
        f"waiting for a seat, {counts.get('continue', 0):,} continuing; "
        f"uplift given up {frame['uplift_given_up'].sum():.1f} of {frame['uplift_best'].sum():.1f}",
        highlight=False,
    )
    limits = seats.seats(month)
    for service, used in planned.seats_used().items():
        if limits.get(service) is not None:
            out_console.print(f"  {service}: {used} of {limits[service]} seats", highlight=False)


def register(app: typer.Typer) -> None:
    app.command()(plan)
