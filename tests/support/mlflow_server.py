"""An `mlflow server` with a PostgreSQL backend store, as several Polku instances share one.

`mlflow_server(folder)` creates a fresh database on the test PostgreSQL server
(`POLKU_TEST_POSTGRES_URL`, see tests/support/postgres.py), starts
`mlflow server` on it with an artifact root in `folder`, waits until it
answers, and yields its URL; afterwards it stops the server and drops the
database. Its log is `folder/mlflow-server.log`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.support import postgres
from tests.support.servers import free_port

READY_TIMEOUT_S = 180.0


@contextmanager
def fresh_postgres_database(prefix: str) -> Iterator[str]:
    """A new database on the test server, dropped afterwards: the URL that uses it."""
    url = postgres.server_url()
    postgres.require_server(url)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"{prefix}_{worker}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def mlflow_server(folder: Path) -> Iterator[str]:
    """`mlflow server` on a fresh PostgreSQL database, artifacts under `folder`; its URL."""
    mlflow = Path(sys.executable).parent / "mlflow"
    log_path = folder / "mlflow-server.log"
    port = free_port()
    with fresh_postgres_database("polku_mlflow") as backend:
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                [
                    str(mlflow),
                    "server",
                    "--backend-store-uri",
                    backend,
                    "--artifacts-destination",
                    (folder / "artifacts").resolve().as_uri(),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--workers",
                    "1",
                ],
                env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_until_ready(process, url, log_path)
            yield url
        finally:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=20)


def _wait_until_ready(process: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    with httpx.Client(base_url=url, timeout=5.0) as http:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-30:])
                pytest.fail(f"mlflow server exited before it answered:\n{tail}")
            try:
                if http.get("/health").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
    tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-30:])
    pytest.fail(f"mlflow server did not answer within {READY_TIMEOUT_S:.0f} s:\n{tail}")
