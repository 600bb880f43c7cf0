"""Fixtures of the durability tests: real `polku serve` processes on real databases.

- `server_factory`: starts `polku serve` (uvicorn, `python -m cli.app
  serve`) in a process group of its own, on a free port, with a given
  database URL and the session's registered model (`trained_model`, pinned by
  version), waits until `/health/ready` answers 200, and can stop it
  (SIGTERM), kill it (SIGKILL to the whole group, workers included) and
  start it again on the same port. Every process still running at the end of
  the test is killed, whatever happened.
- `backend` / `database_url`: a fresh SQLite file per test, or (marked
  `postgres`) a fresh schema per test on the server at
  `POLKU_TEST_POSTGRES_URL` (the same server the API tests use).
- `throwaway_postgres`: a PostgreSQL cluster of its own (initdb into a
  temporary folder, run as the `postgres` OS user when the tests run as
  root, on a free port) that a test may stop and start; it is stopped and
  removed at the end whatever happened. Skipped when no server binaries are
  installed (the CI service container has none).
- `prepared`: migrates a database and creates caseworker keys for it, as an
  operator would with `polku db upgrade` and `polku keys create`.

Server logs go to a file in the test's temporary folder (the API logs route
templates and error kinds, never personal data or bodies); a server that
dies or never gets ready fails the test with the log's last lines.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from api.auth import create_key
from api.storage import migrate
from api.storage.engine import make_engine
from tests.api.conftest import DEFAULT_POSTGRES_URL
from tests.conftest import TrainedModel

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT_S = 120.0
# Never in a server log: API keys, the tests' client ids and comment text, SQL, stack traces.
LOG_NEVER = ("plk_", "DUR-", "C003-", "toinen vaihtoehto", "SELECT ", "INSERT ", "Traceback")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --------------------------------------------------------------------------- the server


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


@pytest.fixture
def server_factory(trained_model: TrainedModel, tmp_path: Path) -> Iterator[Servers]:
    """`server_factory(database_url, workers=1, wait="ready")`: a `ServerProcess`, killed at the end."""
    servers = Servers(trained_model, tmp_path)
    try:
        yield servers
    finally:
        servers.close()


# --------------------------------------------------------------------------- databases


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _shared_postgres_url() -> str:
    return os.environ.get("POLKU_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


def _require_postgres(url: str) -> None:
    probe = create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with probe.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError:
        where = make_url(url).render_as_string(hide_password=True)
        message = f"no PostgreSQL server answers at {where} (set POLKU_TEST_POSTGRES_URL)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true: {message}")
        pytest.skip(message)
    finally:
        probe.dispose()


@contextmanager
def fresh_database(backend: str, folder: Path) -> Iterator[str]:
    """A fresh SQLite file, or a fresh schema on the shared PostgreSQL server (dropped after)."""
    if backend == "sqlite":
        yield f"sqlite:///{(folder / 'db' / 'polku.db').as_posix()}"
        return
    url = _shared_postgres_url()
    _require_postgres(url)
    schema = f"polku_durability_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        separator = "&" if "?" in url else "?"
        yield f"{url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    with fresh_database(backend, tmp_path) as url:
        yield url


@dataclass(frozen=True)
class Prepared:
    """A migrated database with caseworker keys; `engine` is the test's own view of it."""

    url: str
    engine: Engine
    headers: list[dict[str, str]]  # one caseworker key per unit
    units: list[str]


def prepare(url: str, *, units: int = 5) -> Prepared:
    """Migrate `url` and create one caseworker key per unit, as an operator would."""
    engine = make_engine(url, pool_size=2)
    migrate.upgrade(engine)
    names = [f"durability-{i}" for i in range(units)]
    keys = [create_key(engine, role="caseworker", unit=name) for name in names]
    return Prepared(
        url=url,
        engine=engine,
        headers=[{"Authorization": f"Bearer {key.key}"} for key in keys],
        units=names,
    )


@pytest.fixture
def prepared(database_url: str) -> Iterator[Prepared]:
    ready = prepare(database_url)
    try:
        yield ready
    finally:
        ready.engine.dispose()


# --------------------------------------------------------------------------- a cluster of our own


def postgres_bindir() -> Path | None:
    """The folder of initdb and pg_ctl: `pg_config --bindir`, else the newest Debian layout."""
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        candidate = Path(out.stdout.strip())
        if (candidate / "initdb").exists():
            return candidate
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    return versions[-1].parent if versions else None


@dataclass
class Cluster:
    """A throwaway PostgreSQL cluster: `stop()` and `start()` at will; `url` for SQLAlchemy."""

    bindir: Path
    datadir: Path
    port: int
    user: str | None  # OS user that runs it (postgres when the tests run as root)
    running: bool = False

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, timeout: float = 60) -> None:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self.user is not None:
            command = ["runuser", "-u", self.user, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed ({done.returncode}): {done.stderr[-2000:]}")

    def start(self) -> None:
        self._run(
            "pg_ctl",
            "-D",
            str(self.datadir),
            "-l",
            str(self.datadir / "server.log"),
            "-w",
            "-t",
            "60",
            "-o",
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.datadir} "
            "-c fsync=on -c synchronous_commit=on",
            "start",
        )
        self.running = True

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.datadir), "-m", mode, "-w", "-t", "60", "stop")
        self.running = False


@pytest.fixture
def throwaway_postgres() -> Iterator[Cluster]:
    bindir = postgres_bindir()
    if bindir is None:
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl) to run a cluster of our own")
    user = "postgres" if os.geteuid() == 0 else None
    folder = Path(tempfile.mkdtemp(prefix="polku-pg-"))
    datadir = folder / "data"
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    cluster = Cluster(bindir=bindir, datadir=datadir, port=free_port(), user=user)
    try:
        cluster._run(
            "initdb", "-D", str(datadir), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"
        )
        cluster.start()
        yield cluster
    finally:
        if cluster.running or (datadir / "postmaster.pid").exists():
            try:
                cluster.stop("immediate")
            except (RuntimeError, subprocess.TimeoutExpired):
                pid_file = datadir / "postmaster.pid"
                if pid_file.exists():
                    os.kill(int(pid_file.read_text().split()[0]), signal.SIGKILL)
        shutil.rmtree(folder, ignore_errors=True)
