"""Settings: POLKU_ environment variables, MLflow's own variable, production refusals."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from api.settings import Settings, get_settings, production_problems

SAFE_PRODUCTION: dict[str, Any] = {
    "env": "production",
    "allow_demo_keys": False,
    "data_dir": Path("/srv/polku"),
    "database_url": "postgresql+psycopg://polku:secret-pw@127.0.0.1:5432/polku",
}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("POLKU_") or name == "MLFLOW_TRACKING_URI":
            monkeypatch.delenv(name)
    get_settings.cache_clear()


def test_defaults() -> None:
    settings = Settings()
    assert settings.env == "development"
    assert settings.sqlalchemy_url == "sqlite:///data/polku.db"
    assert (settings.model_name, settings.model_alias, settings.model_version) == (
        "polku-router",
        "champion",
        None,
    )
    assert settings.mlflow_tracking_uri is None  # training.registry's default store
    assert settings.audit_retention_days >= 183


def test_environment_variables(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("POLKU_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("POLKU_MODEL_NAME", "other-router")
    monkeypatch.setenv("POLKU_MODEL_ALIAS", "candidate")
    monkeypatch.setenv("POLKU_MAX_BODY_BYTES", "4096")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow.internal:5000")
    settings = get_settings()
    assert settings.sqlalchemy_url == f"sqlite:///{tmp_path.as_posix()}/polku.db"
    assert (settings.model_name, settings.model_alias) == ("other-router", "candidate")
    assert settings.max_body_bytes == 4096
    assert settings.mlflow_tracking_uri == "http://mlflow.internal:5000"
    assert get_settings() is settings  # read once
    monkeypatch.setenv("POLKU_DATABASE_URL", "postgresql+psycopg://u@db/polku")
    assert Settings().sqlalchemy_url == "postgresql+psycopg://u@db/polku"


def test_retention_is_at_least_six_months() -> None:
    with pytest.raises(ValidationError):
        Settings(audit_retention_days=182)
    assert Settings(audit_retention_days=183).audit_retention_days == 183


def test_production_accepts_safe_settings() -> None:
    assert Settings(**SAFE_PRODUCTION).env == "production"
    assert (
        Settings(**{**SAFE_PRODUCTION, "database_url": "sqlite:////srv/polku/polku.db"}).env
        == "production"
    )
    remote = "postgresql+psycopg://polku@db.internal/polku?sslmode=verify-full"
    assert Settings(**{**SAFE_PRODUCTION, "database_url": remote}).env == "production"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"allow_demo_keys": True}, "POLKU_ALLOW_DEMO_KEYS"),
        ({"database_url": "sqlite:////tmp/polku.db"}, "temporary folder"),
        ({"database_url": "sqlite://"}, "in memory"),
        ({"database_url": "postgresql+psycopg://polku@db.internal/polku"}, "sslmode"),
        ({"data_dir": Path("/tmp/polku")}, "POLKU_DATA_DIR"),
        ({"max_body_bytes": 64 * 1024 * 1024}, "POLKU_MAX_BODY_BYTES"),
        ({"log_level": "debug"}, "DEBUG"),
        ({"database_url": "mysql://x@db/polku"}, "not supported"),
    ],
)
def test_production_refuses_insecure_settings(change: dict[str, Any], reason: str) -> None:
    with pytest.raises(ValidationError, match=reason) as caught:
        Settings(**{**SAFE_PRODUCTION, **change})
    assert "secret-pw" not in str(caught.value)
    development = Settings(**{**SAFE_PRODUCTION, **change, "env": "development"})
    assert any(reason.lower() in p.lower() for p in production_problems(development))


def test_importing_the_app_does_no_work(tmp_path: Path) -> None:
    """No engine, model, settings or MLflow at import time."""
    code = (
        "import sys, api.main, cli.operations, cli.app; "
        "assert 'mlflow' not in sys.modules, 'mlflow imported'; "
        "assert not __import__('pathlib').Path('data').exists(), 'data folder created'"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_readme_and_docs_list_every_setting() -> None:
    root = Path(__file__).resolve().parents[2]
    readme = (root / "README.md").read_text("utf-8")
    docs = (root / "docs" / "api.md").read_text("utf-8")
    for name in Settings.model_fields:
        variable = (
            "MLFLOW_TRACKING_URI" if name == "mlflow_tracking_uri" else f"POLKU_{name.upper()}"
        )
        assert f"`{variable}`" in readme, variable
        assert f"`{variable}`" in docs, variable
