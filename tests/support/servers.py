"""Real `polku serve` processes for the durability tests.

`Servers` starts `polku serve` (uvicorn, `python -m cli.app serve`) in a
process group of its own, on a free port, with a given database URL and the
session's registered model (pinned by version), and waits until
`/health/ready` answers 200. A `ServerProcess` can be stopped (SIGTERM),
killed (SIGKILL to the whole group, workers included) and started again on
the same port. `Servers.close` kills whatever still runs.

Server logs go to a file in the test's folder (the API logs route templates
and error kinds, never personal data or bodies); a server that dies or never
gets ready fails the test with the log's last lines.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.support.trained_model import TrainedModel

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT_S = 120.0
# Never in a server log: API keys, the tests' client ids and comment text, SQL, stack traces.
LOG_NEVER = ("plk_", "DUR-", "C003-", "toinen vaihtoehto", "SELECT ", "INSERT ", "Traceback")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServerProcess:
    """One `polku serve` on `port`; `start`, `stop` (SIGTERM), `kill` (SIGKILL to the group)."""

    database_url: str
    env: dict[str, str]
    log_path: Path
    workers: int = 1
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    last_start_s: float = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, wait: str = "ready") -> ServerProcess:
        """Start; `wait` for "ready" (model loaded, database answers), "live", or "" (not)."""
        assert self.process is None, "already running"
        self.starts += 1
        with self.log_path.open("ab") as log:
            log.write(f"--- start {self.starts}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "cli.app",
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--workers",
                    str(self.workers),
                ],
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a process group of its own: kill reaches the workers
            )
        if wait:
            began = time.monotonic()
            self.wait_for(f"/health/{wait}")
            self.last_start_s = time.monotonic() - began
        return self

    def wait_for(self, path: str = "/health/ready", timeout: float = READY_TIMEOUT_S) -> None:
        """Poll `path` until it answers 200; fail with the log when the process dies first."""
        deadline = time.monotonic() + timeout
        with httpx.Client(base_url=self.url, timeout=5.0) as http:
            while time.monotonic() < deadline:
                assert self.process is not None
                if self.process.poll() is not None:
                    self.process = None
                    pytest.fail(f"polku serve exited before {path} was 200:\n{self.log_tail()}")
                try:
                    if http.get(path).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
        pytest.fail(f"{path} was not 200 within {timeout:.0f} s:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL to the whole process group (the supervisor and every worker)."""
        if self.process is None:
            return
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self.process = None

    def stop(self) -> None:
        """SIGTERM (uvicorn's graceful shutdown), SIGKILL after 20 s."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=20)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
        pid, self.process = self.process.pid, None
        self._reap_group(pid)

    @staticmethod
    def _reap_group(pid: int) -> None:
        # Workers orphaned by a dead supervisor keep its group id; make sure none survives.
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)

    def log_leaks(self) -> list[str]:
        """Log lines holding what must never be logged: keys, client ids, comments, SQL, paths."""
        text_ = self.log_path.read_text(encoding="utf-8", errors="replace")
        folder = str(self.log_path.parent)
        return [
            line
            for line in text_.splitlines()
            if any(marker in line for marker in LOG_NEVER) or folder in line
        ]

    def log_tail(self, lines: int = 40) -> str:
        try:
            text_ = self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text_.splitlines()[-lines:])


class Servers:
    """Starts `ServerProcess`es for one database each; `close` kills whatever still runs."""

    def __init__(self, trained_model: TrainedModel, folder: Path) -> None:
        self.trained_model = trained_model
        self.folder = folder
        self.started: list[ServerProcess] = []

    def __call__(
        self,
        database_url: str,
        *,
        workers: int = 1,
        wait: str = "ready",
        env: dict[str, str] | None = None,
    ) -> ServerProcess:
        model = self.trained_model
        server = ServerProcess(
            database_url=database_url,
            env={
                **os.environ,
                "POLKU_ENV": "development",
                "POLKU_DATA_DIR": str(self.folder),
                "POLKU_DATABASE_URL": database_url,
                "POLKU_MODEL_NAME": model.name,
                "POLKU_MODEL_VERSION": model.version,
                "MLFLOW_TRACKING_URI": model.tracking_uri,
                "POLKU_MODEL_RETRY_SECONDS": "0",
                "OMP_NUM_THREADS": "1",
                "PYTHONUNBUFFERED": "1",
                # The writers of the durability tests record thousands of decisions
                # on one recommendation each.
                "POLKU_MAX_DECISIONS_PER_RECOMMENDATION": "100000",
                **(env or {}),
            },
            log_path=self.folder / f"server-{len(self.started)}.log",
            workers=workers,
        )
        self.started.append(server)
        if wait:
            server.start(wait=wait)
        return server

    def leaks(self) -> list[str]:
        return [line for server in self.started for line in server.log_leaks()]

    def close(self) -> None:
        for server in self.started:
            if server.process is not None:
                pid = server.process.pid
                server.process.kill()
                server.process.wait(timeout=30)
                server.process = None
                ServerProcess._reap_group(pid)
