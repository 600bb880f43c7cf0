"""What `polku keys`, `polku db` and `polku serve` do with the API's database and server.

The commands in `cli.server` import this module inside their functions, so
that `polku --help` does not import the web stack.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from api.auth import NewKey, Role, create_key, keys, revoke
from api.settings import Settings, get_settings
from api.storage import migrate
from api.storage.engine import make_engine, write_transaction
from api.storage.keys import KeyRow
from api.storage.retention import Purged, purge_expired
from model.errors import PolkuError

logger = logging.getLogger(__name__)


class CommandError(PolkuError, ValueError):
    """A command cannot do what it was asked; the message says why."""


def _driver_error(exc: OperationalError) -> str:
    """The database driver's error class: says what failed without the URL or its password."""
    return type(getattr(exc, "orig", None) or exc).__name__


def settings() -> Settings:
    """The settings from the environment, or a readable error (never the values)."""
    try:
        return get_settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"POLKU_{'_'.join(str(p) for p in e['loc']).upper() or 'SETTINGS'}: {e['msg']}"
            for e in exc.errors()
        )
        raise CommandError(f"invalid settings: {problems}") from None


def engine(config: Settings | None = None) -> Engine:
    """An engine on an up-to-date schema."""
    config = config or settings()
    db = make_engine(
        config.sqlalchemy_url,
        busy_timeout_ms=config.db_busy_timeout_ms,
        connect_timeout_s=config.db_connect_timeout_seconds,
        pool_size=1,
    )
    try:
        migrate.upgrade(db)
    except OperationalError as exc:
        db.dispose()
        reason = _driver_error(exc)
        raise CommandError(
            f"the database does not answer ({reason}); check POLKU_DATABASE_URL"
        ) from None
    return db


def create(role: str, unit: str, *, demo: bool = False) -> NewKey:
    try:
        parsed = Role(role)
    except ValueError:
        raise CommandError(f"role must be one of {', '.join(r.value for r in Role)}") from None
    db = engine()
    try:
        return create_key(db, role=parsed, unit=unit, demo=demo)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    finally:
        db.dispose()


def revoke_key(key_id: str) -> None:
    db = engine()
    try:
        if not revoke(db, key_id=key_id):
            raise CommandError(f"no active key with id {key_id!r} (see `polku keys list`)")
    finally:
        db.dispose()


def list_keys() -> list[KeyRow]:
    db = engine()
    try:
        return keys(db)
    finally:
        db.dispose()


def upgrade() -> str:
    db = engine()
    try:
        return migrate.current(db) or "(empty)"
    finally:
        db.dispose()


def purge() -> Purged:
    config = settings()
    db = engine(config)
    try:
        cutoff = datetime.now(UTC) - timedelta(days=config.audit_retention_days)
        with write_transaction(db) as connection:
            return purge_expired(connection, older_than=cutoff)
    finally:
        db.dispose()


@dataclass(frozen=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    # One listening socket per worker (SO_REUSEPORT, Linux): the kernel spreads
    # connections by a hash of the client's address. The default with several
    # workers is one shared socket at which they take turns (api.balanced).
    reuse_port: bool = False


def serve(options: ServeOptions) -> None:
    """Run the API under uvicorn: one LightGBM thread per worker, our own access log."""
    import uvicorn

    config = settings()
    # LightGBM (OpenMP) in every worker: one thread each; one worker per core.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    engine(config).dispose()  # migrate once here, before the workers start
    kwargs = _uvicorn_options(config.log_level)
    if options.workers > 1 and options.reuse_port:
        if not hasattr(socket, "SO_REUSEPORT"):
            raise CommandError("--reuse-port needs SO_REUSEPORT (Linux)")
        _serve_reuse_port(options, kwargs)
        return
    if options.workers > 1:
        from api.balanced import serve_balanced

        serve_balanced(options.host, options.port, options.workers, kwargs)
        return
    uvicorn.run("api.main:create_app", host=options.host, port=options.port, **kwargs)


def _uvicorn_options(log_level: str) -> dict[str, Any]:
    from api.connections import server_options
    from api.logs import logging_config

    return {
        **server_options(),
        "factory": True,
        "log_config": logging_config(log_level),
        "access_log": False,
        "proxy_headers": False,
        "server_header": False,
        "timeout_graceful_shutdown": 10,
    }


def _serve_reuse_port(options: ServeOptions, kwargs: dict[str, Any]) -> None:
    """Workers with a listening socket each; the parent restarts a worker that dies."""
    import logging.config

    from api.balanced import supervise

    logging.config.dictConfig(kwargs["log_config"])
    context = multiprocessing.get_context("spawn")

    def start(_slot: int) -> multiprocessing.process.BaseProcess:
        process = context.Process(
            target=_reuse_port_worker, args=(options.host, options.port, kwargs), daemon=False
        )
        process.start()
        return process

    supervise(start, options.workers)


def _reuse_port_worker(host: str, port: int, kwargs: dict[str, Any]) -> None:
    import uvicorn

    from api.balanced import listening_socket

    sock = listening_socket(host, port, reuse_port=True)
    config = uvicorn.Config("api.main:create_app", host=host, port=port, **kwargs)
    uvicorn.Server(config).run(sockets=[sock])


def demo_key() -> NewKey:
    """A caseworker key for the demo (marked as demo: production refuses it)."""
    return create(Role.caseworker.value, "demo", demo=True)
