"""What every command shares: the Typer app, the two consoles, domain errors, progress."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from model.errors import PolkuError

# training.registry.store.DEFAULT_MODEL_NAME, without importing mlflow for `--help`
DEFAULT_MODEL_NAME = "polku-router"

app = typer.Typer(
    name="polku",
    help="Polku: decision support for routing integration-service clients.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err_console = Console(stderr=True)
out_console = Console()

ModelNameOption = Annotated[
    str, typer.Option("--model-name", help="registered model name in the MLflow registry")
]
VersionOption = Annotated[str | None, typer.Option(help="registered version to use")]
ChampionAliasOption = Annotated[
    str | None, typer.Option(help="registry alias to use (default: champion, the served one)")
]


@contextmanager
def domain_errors() -> Iterator[None]:
    """Turn Polku's own errors into a message and exit status 2."""
    try:
        yield
    except PolkuError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None


def quiet_mlflow() -> None:
    """Import MLflow (through the registry) and silence its INFO lines."""
    from training.registry.store import quiet_mlflow_logs

    quiet_mlflow_logs()


def progress_bar() -> Progress:
    """A transient Rich progress bar on standard error (off when it is not a terminal)."""
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    )


@contextmanager
def stages(total: int) -> Iterator[Callable[[str], None]]:
    """A progress bar that advances on every stage message."""
    with progress_bar() as bar:
        task = bar.add_task("starting", total=total)
        started = [False]

        def advance(what: str) -> None:
            if started[0]:
                bar.advance(task)
            started[0] = True
            bar.update(task, description=what)

        yield advance
        bar.update(task, completed=total)


def figure(value: Any, digits: int = 3) -> str:
    """A figure for a table cell: fixed digits, '–' for none."""
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)
