"""The API from the command line: `polku keys`, `polku db`, `polku serve`.

The work is done in `cli.operations`, imported inside each command so that
`polku --help` does not load the web stack.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich import box
from rich.table import Table

from cli.console import domain_errors, err_console, out_console

keys_app = typer.Typer(help="API keys: create, list, revoke.", no_args_is_help=True)
db_app = typer.Typer(
    help="The API's database: schema migrations and retention.", no_args_is_help=True
)


@keys_app.command("create")
def keys_create(
    role: Annotated[
        str, typer.Option(help="caseworker, planner, evaluator, data_scientist or admin")
    ],
    unit: Annotated[str, typer.Option(help="the office the key belongs to, e.g. espoo-leppavaara")],
) -> None:
    """Create a key: prints the key alone on standard output; only its hash is stored."""
    from cli import operations

    with domain_errors():
        new = operations.create(role, unit)
    err_console.print(
        f"created key {new.key_id} (role {new.role.value}, unit {new.unit}). It is shown once and "
        f"stored only as a hash; revoke it with `polku keys revoke {new.key_id}`.",
        highlight=False,
    )
    typer.echo(new.key)


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="the key id printed by `polku keys create`")],
) -> None:
    """Revoke a key at once, in every worker."""
    from cli import operations

    with domain_errors():
        operations.revoke_key(key_id)
    err_console.print(f"revoked key {key_id}", highlight=False)


@keys_app.command("list")
def keys_list() -> None:
    """Every key: id, role, unit, when created and revoked (never the key or its hash)."""
    from cli import operations

    with domain_errors():
        rows = operations.list_keys()
    table = Table(box=box.SIMPLE_HEAD)
    for column in ("key id", "role", "unit", "created", "revoked", "demo"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row.key_id,
            row.role,
            row.unit,
            f"{row.created_at:%Y-%m-%d %H:%M}",
            f"{row.revoked_at:%Y-%m-%d %H:%M}" if row.revoked_at else "",
            "yes" if row.demo else "",
        )
    out_console.print(table)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the database (POLKU_DATABASE_URL) to the newest schema."""
    from cli import operations

    with domain_errors():
        revision = operations.upgrade()
    err_console.print(f"database schema at revision {revision}", highlight=False)


@db_app.command("purge")
def db_purge() -> None:
    """Delete audit events (and their decisions) and plans older than POLKU_AUDIT_RETENTION_DAYS."""
    from cli import operations

    with domain_errors():
        purged = operations.purge()
    err_console.print(
        f"purged {purged.audit_events} audit events and {purged.plan_events} plans "
        "past the retention period",
        highlight=False,
    )


def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="port")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="worker processes; one per core")] = 1,
    reuse_port: Annotated[
        bool,
        typer.Option(
            "--reuse-port",
            help="a listening socket per worker (Linux SO_REUSEPORT): the kernel spreads "
            "connections by client address, instead of the workers taking turns at one socket",
        ),
    ] = False,
) -> None:
    """Serve the API (uvicorn); settings from POLKU_* and MLFLOW_TRACKING_URI (see README)."""
    from cli import operations

    with domain_errors():
        operations.serve(
            operations.ServeOptions(host=host, port=port, workers=workers, reuse_port=reuse_port)
        )


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")
    app.add_typer(db_app, name="db")
    app.command()(serve)
