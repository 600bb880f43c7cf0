"""Commands on data folders: `polku simulate`, `polku validate`, `polku pseudonymize`."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from cli.console import domain_errors, err_console, out_console


def simulate(
    out: Annotated[Path, typer.Option(help="folder to write the tables into")],
    clients: Annotated[int, typer.Option(min=1, help="number of clients")] = 10_000,
    seed: Annotated[int, typer.Option(help="random seed; the same seed gives the same world")] = 1,
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet")] = "csv",
    confounding: Annotated[
        float,
        typer.Option(
            help="strength of the caseworkers' habits on what the data records; builtin only"
        ),
    ] = 1.0,
    hidden_selection: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            help="strength of the caseworkers' selection on a motivation no column records "
            "(0 = none: the data then identify every effect); default 1 for builtin, the "
            "drawn strength for random",
        ),
    ] = None,
    scenario: Annotated[
        str,
        typer.Option(
            help="builtin: the Espoo-like world; random: a world drawn from the seed, "
            "with its own catalogue.toml and config.toml"
        ),
    ] = "builtin",
) -> None:
    """Write a simulated world: clients, episodes, outcomes, truth, world.json."""
    from training.simulator import WorldParams, write_world
    from training.simulator.random_world import random_world

    with domain_errors():
        if fmt not in ("csv", "parquet"):
            raise typer.BadParameter("--format must be csv or parquet")
        if scenario == "builtin":
            params = WorldParams(n_clients=clients, seed=seed, confounding=confounding)
            design = None
        elif scenario == "random":
            params, design = random_world(seed, clients)
        else:
            raise typer.BadParameter("--scenario must be builtin or random")
        if hidden_selection is not None:
            params = replace(params, motivation_selection=hidden_selection)
        summary = write_world(params, out, fmt=fmt, progress=True, design=design)
    err_console.print(summary)


def validate(
    data: Annotated[Path, typer.Option(help="folder with clients, episodes and outcomes")],
    config: Annotated[Path | None, typer.Option(help="run configuration (TOML)")] = None,
    catalogue: Annotated[Path | None, typer.Option(help="service catalogue (TOML)")] = None,
) -> None:
    """Check the three tables against the data contract; exit 2 listing every problem."""
    from training.contract.command import validate_command

    with domain_errors():
        ok = validate_command(
            data, config_path=config, catalogue_path=catalogue, console=out_console
        )
    if not ok:
        raise typer.Exit(2)


def pseudonymize(
    key_file: Annotated[
        Path, typer.Option("--key-file", help="the secret key (keep it apart from the data)")
    ],
    data: Annotated[
        Path | None, typer.Option(help="folder with the export's tables (client_id in each)")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="new folder for the pseudonymised tables")
    ] = None,
    new_key: Annotated[
        bool, typer.Option("--new-key", help="first write a new random key to --key-file")
    ] = False,
) -> None:
    """Replace client_id in every table with a keyed pseudonym (HMAC-SHA-256); prints no ids."""
    from training.pseudonymize import new_key as make_key
    from training.pseudonymize import pseudonymize_folder

    if not new_key and (data is None or out is None):
        raise typer.BadParameter("give --data and --out (or --new-key to only make a key)")
    with domain_errors():
        if new_key:
            make_key(key_file)
            err_console.print(
                f"wrote a new key to {key_file}; keep it secret, apart from the data, and "
                "reuse it so later exports get the same pseudonyms",
                highlight=False,
                soft_wrap=True,
            )
        if data is None or out is None:
            return
        summary = pseudonymize_folder(data, out, key_file=key_file)
    for name, rows in summary.tables.items():
        err_console.print(f"{name}: {rows} rows", highlight=False)
    if summary.skipped:
        err_console.print(
            f"not copied (no client_id table): {', '.join(summary.skipped)}", highlight=False
        )
    err_console.print(
        f"{summary.clients} distinct clients pseudonymised into {out}", highlight=False
    )


def register(app: typer.Typer) -> None:
    for command in (simulate, validate, pseudonymize):
        app.command()(command)
