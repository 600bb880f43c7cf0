"""Settings of the API: one pydantic-settings class, read through a cached getter.

Every setting is an environment variable with the prefix ``POLKU_`` (for
example ``POLKU_DATABASE_URL``); MLflow's own ``MLFLOW_TRACKING_URI`` is read
as it is. README lists them all with their defaults.

In production (``POLKU_ENV=production``) the class refuses to be created with
a setting that is unsafe for real clients' data, and says which and why.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import unquote

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

MIN_RETENTION_DAYS = 183  # six months
# Production defaults of the request limits (development has none, so that
# benchmarks and tests run unthrottled).
PRODUCTION_KEY_RATE_LIMIT = 20.0
PRODUCTION_AUTH_FAILURE_LIMIT = 30
_VOLATILE_DIRS = ("/tmp", "/var/tmp", "/dev/shm", "/run")


class InsecureSettingsError(ValueError):
    """A setting that production refuses; the message names it."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="POLKU_", extra="ignore", frozen=True, hide_input_in_errors=True
    )

    env: Literal["development", "production"] = Field(
        default="development", description="production refuses insecure settings at start"
    )
    data_dir: Path = Field(
        default=Path("data"), description="folder of the default SQLite database"
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default sqlite:///<data_dir>/polku.db; "
        "PostgreSQL as postgresql+psycopg://user@host/db",
    )
    model_name: str = Field(default="polku-router", description="registered model to serve")
    model_alias: str = Field(default="champion", description="registry alias to serve")
    model_version: str | None = Field(
        default=None, description="pin a version instead of the alias"
    )
    mlflow_tracking_uri: str | None = Field(
        default=None,
        validation_alias=AliasChoices("MLFLOW_TRACKING_URI", "POLKU_MLFLOW_TRACKING_URI"),
        description="MLflow tracking and registry store; unset: sqlite:///<checkout>/mlruns/mlflow.db",
    )
    model_retry_seconds: float = Field(
        default=30.0, ge=0, description="retry a failed model load this often (0: only on reload)"
    )
    model_start_wait_seconds: float = Field(
        default=60.0,
        ge=0,
        description="at start, wait this long for the first model load before answering",
    )
    max_body_bytes: int = Field(
        default=262_144, ge=1024, description="larger request bodies get 413"
    )
    max_plan_body_bytes: int = Field(
        default=4_194_304,
        ge=1024,
        description="larger POST /v1/plans bodies get 413 (a plan carries many clients)",
    )
    audit_retention_days: int = Field(
        default=730,
        ge=MIN_RETENTION_DAYS,
        description="audit events, their decisions and plans older are purged",
    )
    db_busy_timeout_ms: int = Field(
        default=5000, ge=0, description="SQLite: wait this long for a lock"
    )
    db_connect_timeout_seconds: int = Field(
        default=5, ge=1, description="PostgreSQL connect timeout"
    )
    db_pool_size: int = Field(default=5, ge=1, description="PostgreSQL connections per worker")
    migrate_on_start: bool = Field(
        default=True, description="upgrade the database schema at start (else: polku db upgrade)"
    )
    allow_demo_keys: bool = Field(
        default=True, description="accept keys created with --demo; production requires false"
    )
    retry_after_seconds: int = Field(default=5, ge=1, description="Retry-After of 503 answers")
    console_idle_minutes: int = Field(
        default=15, ge=1, le=480, description="the console signs out after this long unused"
    )
    console_session_hours: int = Field(
        default=8, ge=1, le=24, description="the console signs out this long after sign-in"
    )
    log_level: str = Field(default="INFO", description="level of the polku and api loggers")
    key_rate_limit: float | None = Field(
        default=None,
        ge=0,
        description="requests per second per key, per worker (0: no limit); "
        f"unset: none in development, {PRODUCTION_KEY_RATE_LIMIT:g} in production",
    )
    auth_failure_limit: int | None = Field(
        default=None,
        ge=0,
        description="failed authentications per minute per client address, per worker "
        f"(0: no limit); unset: none in development, {PRODUCTION_AUTH_FAILURE_LIMIT} in production",
    )
    max_decisions_per_recommendation: int = Field(
        default=20, ge=1, description="decisions (corrections included) one recommendation takes"
    )
    max_header_bytes: int = Field(
        default=16_384,
        ge=1024,
        description="a request line and headers over this get 431 (or the connection closed)",
    )
    header_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="polku serve: a connection must send a whole request head within this",
    )
    idle_timeout_seconds: int = Field(
        default=5, ge=1, description="polku serve: close a kept-alive connection idle this long"
    )
    max_connections: int = Field(
        default=512, ge=1, description="polku serve: connections one worker holds at most"
    )
    audit_alert_per_minute: int = Field(
        default=600,
        ge=0,
        description="log a warning when a worker writes more audit events in a minute (0: never)",
    )

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'polku.db').as_posix()}"

    @property
    def key_requests_per_second(self) -> float:
        if self.key_rate_limit is not None:
            return self.key_rate_limit
        return PRODUCTION_KEY_RATE_LIMIT if self.env == "production" else 0.0

    @property
    def auth_failures_per_minute(self) -> int:
        if self.auth_failure_limit is not None:
            return self.auth_failure_limit
        return PRODUCTION_AUTH_FAILURE_LIMIT if self.env == "production" else 0

    @model_validator(mode="after")
    def _refuse_insecure_in_production(self) -> Settings:
        if self.env != "production":
            return self
        problems = production_problems(self)
        if problems:
            raise InsecureSettingsError("refusing to start in production: " + "; ".join(problems))
        return self


def production_problems(settings: Settings) -> list[str]:
    """What makes `settings` unsafe for production; empty when none."""
    problems: list[str] = []
    if settings.allow_demo_keys:
        problems.append("POLKU_ALLOW_DEMO_KEYS must be false (demo keys are printed in the clear)")
    url = make_url(settings.sqlalchemy_url)
    if url.get_backend_name() == "sqlite":
        database = sqlite_file(url.database or "")
        if database is None or "mode=memory" in str(url):
            problems.append("the database is in memory: decisions would be lost")
        elif _volatile(Path(database)):
            problems.append("the SQLite database is in a temporary folder: decisions would be lost")
    elif url.get_backend_name() == "postgresql":
        host = url.host or ""
        sslmode = url.query.get("sslmode")
        local = host in ("", "localhost", "127.0.0.1", "::1") or host.startswith("/")
        if not local and sslmode not in ("require", "verify-ca", "verify-full"):
            problems.append(
                "PostgreSQL over the network needs sslmode=require (or verify-full) in the URL"
            )
    else:
        problems.append(f"database backend {url.get_backend_name()!r} is not supported")
    if _volatile(settings.data_dir):
        problems.append("POLKU_DATA_DIR is a temporary folder")
    if settings.max_body_bytes > 4 * 1024 * 1024:
        problems.append("POLKU_MAX_BODY_BYTES above 4 MiB invites memory exhaustion")
    if settings.max_plan_body_bytes > 16 * 1024 * 1024:
        problems.append("POLKU_MAX_PLAN_BODY_BYTES above 16 MiB invites memory exhaustion")
    if settings.log_level.upper() == "DEBUG":
        problems.append("POLKU_LOG_LEVEL=DEBUG logs library internals (SQL parameters)")
    return problems


def sqlite_file(database: str) -> str | None:
    """The file of a SQLite URL's database part; None for a database in memory.

    A ``file:`` URI filename (``sqlite:///file:/srv/polku.db?uri=true``) is
    read as the path it names, ``file::memory:`` and an empty name as memory.
    """
    if database.startswith("file:"):
        path = unquote(database.removeprefix("file:").split("?", 1)[0].split("#", 1)[0])
        if path.startswith("//"):  # file://host/path: the authority is empty or localhost
            path = "/" + path[2:].split("/", 1)[-1] if "/" in path[2:] else ""
        database = path
    if database in ("", ":memory:"):
        return None
    return database


def _volatile(path: Path) -> bool:
    resolved = path.expanduser().resolve(strict=False).as_posix()
    return any(resolved == d or resolved.startswith(d + "/") for d in _VOLATILE_DIRS)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings from the environment, read once."""
    return Settings()
