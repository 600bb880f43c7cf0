"""Readiness on SQLite says "not ready" while the database cannot be written.

`SELECT 1` never touches an SQLite file, and in WAL mode a writer that holds
the lock does not block readers, so a readiness check that only reads would
answer 200 while every recommendation and decision fails with 503. The fast,
in-process version of test_outage.py's SQLite case.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import Settings
from tests.support.trained_model import TrainedModel


def test_readiness_fails_while_another_connection_holds_the_write_lock(
    tmp_path: Path, trained_model: TrainedModel
) -> None:
    path = tmp_path / "polku.db"
    settings = Settings(
        env="development",
        data_dir=tmp_path,
        database_url=f"sqlite:///{path.as_posix()}",
        model_name=trained_model.name,
        model_version=trained_model.version,
        model_retry_seconds=0,
        db_busy_timeout_ms=300,
        mlflow_tracking_uri=trained_model.tracking_uri,
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        assert client.get("/health/ready").status_code == 200
        holder = sqlite3.connect(path, timeout=5, isolation_level=None)
        try:
            holder.execute("BEGIN EXCLUSIVE")
            locked = client.get("/health/ready")
            assert client.get("/health/live").status_code == 200
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert locked.status_code == 503
        assert locked.headers["retry-after"] == str(settings.retry_after_seconds)
        # Details need a key, which a locked database cannot check; the reason is logged.
        assert locked.json() == {"status": "not_ready"}
        assert str(tmp_path) not in locked.text
        assert client.get("/health/ready").status_code == 200
