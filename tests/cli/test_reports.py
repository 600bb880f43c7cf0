"""`polku report fairness`: rebuild a version's reports, with caseworkers' decisions read from the API's database.

The decisions database is a real SQLite file at the API's schema (Alembic
migrations); its audit events carry the features of held-out decision points
of the session's model, as the API writes them, and a known share of the
decisions overrides the recommendation.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from api.storage import migrate
from api.storage.audit import AuditEvent, insert_audit_event
from api.storage.decisions import DecisionRow, insert_decision
from api.storage.engine import make_engine, write_transaction
from cli.app import app
from model.vocab import NO_NEW_SERVICE
from tests.support.trained_model import TrainedModel

runner = CliRunner()
N_DECISIONS = 240
OVERRIDE_EVERY = 4  # every fourth decision overrides: 60 of 240


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if isinstance(value, float) and value != value:
        return None
    return value


def _decisions_db(path: Path, trained: TrainedModel, *, model_name: str) -> tuple[str, int]:
    """A migrated SQLite database with N_DECISIONS answered recommendations; returns (url, overrides)."""
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    result = trained.result
    frame = result.dp.frame
    rows = frame.loc[result.split.test].head(N_DECISIONS)
    assert len(rows) == N_DECISIONS, "the tiny world has too few held-out decision points"
    columns = [*result.router.encoder.columns_, "gender", "mother_tongue", "citizenship_region"]
    overrides = 0
    now = datetime.now(UTC)
    with write_transaction(engine) as connection:
        for i, (_, row) in enumerate(rows.iterrows()):
            request_id = str(uuid.uuid4())
            insert_audit_event(
                connection,
                event=AuditEvent(
                    request_id=request_id,
                    created_at=now,
                    client_id=str(row["client_id"]),
                    unit="test-unit",
                    role="caseworker",
                    key_id="k1",
                    model_name=model_name,
                    model_version=trained.version,
                    model_run_id=trained.run_id,
                    as_of=pd.Timestamp(row["decision_date"]).date(),
                    language="fi",
                    k=3,
                    input_hash="0" * 64,
                    features={c: _plain(row[c]) for c in columns if c in row.index},
                    output={},
                ),
            )
            overridden = i % OVERRIDE_EVERY == 0
            overrides += overridden
            insert_decision(
                connection,
                decision=DecisionRow(
                    decision_id=str(uuid.uuid4()),
                    request_id=request_id,
                    created_at=now,
                    unit="test-unit",
                    role="caseworker",
                    key_id="k1",
                    idempotency_key=f"key-{i}",
                    body_hash="0" * 64,
                    chosen_service=NO_NEW_SERVICE if overridden else "language_course",
                    recommended_service="language_course",
                    chosen_rank=None if overridden else 1,
                    reason_code="waiting_time" if overridden else None,
                    comment="not read by reports",
                    corrects=None,
                ),
            )
    engine.dispose()
    return url, overrides


@pytest.fixture(scope="module")
def decisions_url(
    trained_model: TrainedModel, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, int]:
    return _decisions_db(
        tmp_path_factory.mktemp("decisions") / "polku.db",
        trained_model,
        model_name=trained_model.name,
    )


def test_report_fairness_adds_override_figures_from_the_decisions_database(
    trained_model: TrainedModel, decisions_url: tuple[str, int], tmp_path: Path
) -> None:
    url, overrides = decisions_url
    out = tmp_path / "reports"
    result = runner.invoke(
        app,
        [
            "report",
            "fairness",
            "--version",
            trained_model.version,
            "--decisions-db",
            url,
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} == {
        "fairness.json",
        "fairness.html",
        "model_card.json",
        "model_card.html",
    }
    report = json.loads((out / "fairness.json").read_text("utf-8"))
    assert report["decisions_included"] is True
    overall = report["overall"]
    assert overall["decisions"] == N_DECISIONS
    assert overall["overrides"] == overrides
    assert overall["override_rate"] == pytest.approx(overrides / N_DECISIONS)
    # The training data were found again from the run (no --data given) and
    # only the held-out clients were scored.
    assert "held-out clients" in result.output
    card = json.loads((out / "model_card.json").read_text("utf-8"))
    assert card["model"]["version"] == trained_model.version
    assert card["fairness"] is not None
    html = (out / "fairness.html").read_text("utf-8")
    assert "Override rate" in html and "Reasons for overrides" in html
    assert "not read by reports" not in html  # no free text reaches a report


def test_report_fairness_without_decisions_matches_the_training_report(
    trained_model: TrainedModel, tmp_path: Path
) -> None:
    out = tmp_path / "plain"
    result = runner.invoke(
        app,
        [
            "report",
            "fairness",
            "--version",
            trained_model.version,
            "--data",
            str(trained_model.data_dir),
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    rebuilt = json.loads((out / "fairness.json").read_text("utf-8"))
    logged = trained_model.result.fairness_report
    assert rebuilt["decisions_included"] is False
    for key in ("clients", "decision_points", "base_rate", "ece", "auc", "v_hist", "v_rec"):
        assert rebuilt["overall"][key] == pytest.approx(logged["overall"][key]), key


def test_report_fairness_log_replaces_the_runs_reports_and_keeps_the_first(
    trained_model: TrainedModel, tmp_path: Path
) -> None:
    from training.registry.runs import log_training
    from training.registry.served import load_fairness_report

    name = "polku-report-test"
    registered = log_training(trained_model.result, name=name)
    url, overrides = _decisions_db(tmp_path / "polku.db", trained_model, model_name=name)
    result = runner.invoke(
        app,
        [
            "report",
            "fairness",
            "--model-name",
            name,
            "--version",
            registered.version,
            "--decisions-db",
            url,
            "--out",
            str(tmp_path / "out"),
            "--log",
        ],
    )
    assert result.exit_code == 0, result.output
    served = load_fairness_report(registered.run_id)
    assert served is not None and served["decisions_included"] is True
    assert served["overall"]["overrides"] == overrides
    # the trend over this model name's versions: the rebuilt one carries its new figures
    trend = {entry["version"]: entry for entry in served["trend"]}
    assert registered.version in trend
    assert trend[registered.version]["overall"]["override_rate"] == pytest.approx(
        served["overall"]["override_rate"]
    )
    assert list(trend) == sorted(trend, key=int)
    html = (tmp_path / "out" / "fairness.html").read_text("utf-8")
    assert 'id="trend"' in html


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sqlite:///{tmp}/empty.db", "no Polku"),
        ("sqlite:///{tmp}/missing.db", "there is no SQLite file"),
        ("mysql://nobody@localhost/x", "not a database URL"),
    ],
)
def test_report_fairness_names_what_is_wrong_with_the_decisions_database(
    trained_model: TrainedModel, tmp_path: Path, url: str, message: str
) -> None:
    (tmp_path / "empty.db").touch()  # a file that is not the API's database
    result = runner.invoke(
        app,
        [
            "report",
            "fairness",
            "--version",
            trained_model.version,
            "--decisions-db",
            url.format(tmp=tmp_path),
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "o").exists()  # nothing half-written
    assert not (tmp_path / "missing.db").exists()  # no empty database left behind
