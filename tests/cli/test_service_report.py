"""`polku report services`: the service report of the session's model on its
training data, written to a folder and logged with a run; bad options are
refused with a message naming them, and nothing is written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.app import app
from tests.support.trained_model import TrainedModel

runner = CliRunner()


def test_report_services_writes_json_and_html_and_logs_them(
    trained_model: TrainedModel, tmp_path: Path
) -> None:
    from training.registry.runs import log_training
    from training.registry.served import load_run_report, load_run_report_html

    name = "polku-services-test"
    registered = log_training(trained_model.result, name=name)
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        [
            "report",
            "services",
            "--model-name",
            name,
            "--version",
            registered.version,
            "--since",
            "2019-01-01",
            "--by",
            "education_level,gender",
            "--out",
            str(out),
            "--log",
        ],
    )
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} == {"services.json", "services.html"}
    report = json.loads((out / "services.json").read_text("utf-8"))
    assert report["window"]["since"] == "2019-01-01"
    assert report["model"]["version"] == registered.version
    assert [g["name"] for g in report["groups"]] == ["education_level", "gender"]
    assert report["outcomes"]["no_new_service"]["observed_rate"] is not None
    assert report["policy"]["rules"] == trained_model.result.policy_summary["rules"]
    logged = load_run_report(registered.run_id, "services")
    assert logged == report
    page = load_run_report_html(registered.run_id, "services")
    assert page is not None and "Polku – palveluraportti" in page


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--by", "months_unemployed"], "cannot group clients by 'months_unemployed'"),
        (["--since", "1.1.2020"], "is not a date written YYYY-MM-DD"),
        (["--since", "2022-01-01", "--until", "2021-01-01"], "is after --until"),
        (["--data", "/nonexistent/folder"], "does not exist"),
    ],
)
def test_report_services_names_what_is_wrong(
    trained_model: TrainedModel, tmp_path: Path, options: list[str], message: str
) -> None:
    out = tmp_path / "o"
    result = runner.invoke(
        app,
        ["report", "services", "--version", trained_model.version, "--out", str(out), *options],
    )
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output
    assert not out.exists()
