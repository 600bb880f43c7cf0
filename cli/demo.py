"""`polku demo`: simulate a world, train on it, promote the version, then serve it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from cli.console import domain_errors, err_console, out_console, quiet_mlflow, stages
from cli.tables import print_training_summary
from cli.training import stage_count

DEMO_DATA = Path("demo-data")
DEMO_CLIENTS = 5_000


def demo(
    out: Annotated[Path, typer.Option(help="folder for the simulated data")] = DEMO_DATA,
    clients: Annotated[
        int, typer.Option(min=500, help="number of simulated clients")
    ] = DEMO_CLIENTS,
    seed: Annotated[int, typer.Option(help="random seed of the world")] = 1,
) -> None:
    """Simulate a world, train on it, promote the new version to champion (then serve)."""
    from model.config import RunConfig
    from training.registry.runs import train_and_register
    from training.registry.versions import promote
    from training.simulator import WorldParams, write_world

    quiet_mlflow()
    with domain_errors():
        err_console.print(
            write_world(WorldParams(n_clients=clients, seed=seed), out, progress=True)
        )
        with stages(stage_count(RunConfig())) as progress:
            result, registered = train_and_register(out, progress=progress)
        print_training_summary(result, registered, out_console, next_steps=False)
        promoted = promote(registered.version, alias="champion", name=registered.name)
    out_console.print(
        f"Promoted {promoted.name} version {promoted.version} to [bold]champion[/].",
        highlight=False,
    )
    serve_demo(out_console)


def serve_demo(console: Console) -> None:
    """End of `polku demo`: a demo caseworker key, the console's address, a curl call, then serve."""
    from cli import operations

    with domain_errors():
        key = operations.demo_key()
    options = operations.ServeOptions()
    base = f"http://{options.host}:{options.port}"
    console.print(
        "Demo caseworker key (unit demo; refused in production):\n"
        f"  {key.key}\n"
        f"Caseworker console: {base}/console (sign in with the key above)\n"
        "Or try the API, in another terminal:\n"
        f"  curl -s -H 'Authorization: Bearer {key.key}' -H 'Content-Type: application/json' "
        f"-d @api/examples/recommendation.json {base}/v1/recommendations\n"
        f"Serving on {base} (API docs at /docs); Ctrl-C stops.",
        highlight=False,
        soft_wrap=True,
    )
    with domain_errors():
        operations.serve(options)


def register(app: typer.Typer) -> None:
    app.command()(demo)
