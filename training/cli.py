"""The `polku` command line: a thin shell around the pipeline functions.

Every command prints domain errors as one readable line and exits with a
non-zero status, never with a stack trace. Heavy imports happen inside the
commands so that `polku --help` is quick.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from model.errors import PolkuError

app = typer.Typer(
    name="polku",
    help="Polku: decision support for routing integration-service clients.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err_console = Console(stderr=True)
out_console = Console()


@contextmanager
def domain_errors() -> Iterator[None]:
    """Turn Polku's own errors into a message and exit status 2."""
    try:
        yield
    except PolkuError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None


def command(fn: Callable[..., Any]) -> Callable[..., Any]:
    return app.command()(fn)


@app.command()
def simulate(
    out: Annotated[Path, typer.Option(help="folder to write the tables into")],
    clients: Annotated[int, typer.Option(min=1, help="number of clients")] = 10_000,
    seed: Annotated[int, typer.Option(help="random seed; the same seed gives the same world")] = 1,
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet")] = "csv",
    confounding: Annotated[
        float, typer.Option(help="strength of the historical policy's confounding (0 = random)")
    ] = 1.0,
) -> None:
    """Write the built-in Espoo-like world: clients, episodes, outcomes, truth, world.json."""
    from training.simulator import WorldParams, write_world

    with domain_errors():
        if fmt not in ("csv", "parquet"):
            raise typer.BadParameter("--format must be csv or parquet")
        params = WorldParams(n_clients=clients, seed=seed, confounding=confounding)
        summary = write_world(params, out, fmt=fmt, progress=True)
    err_console.print(summary)


@app.command()
def validate(
    data: Annotated[Path, typer.Option(help="folder with clients, episodes and outcomes")],
    config: Annotated[Path | None, typer.Option(help="run configuration (TOML)")] = None,
    catalogue: Annotated[Path | None, typer.Option(help="service catalogue (TOML)")] = None,
) -> None:
    """Check the three tables against the data contract; exit 2 listing every problem."""
    from training.contract import validate_command

    with domain_errors():
        ok = validate_command(data, config_path=config, catalogue_path=catalogue, console=out_console)
    if not ok:
        raise typer.Exit(2)


def main() -> None:  # pragma: no cover - entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
