"""`polku plan`: a month planned from the tables with the champion, and bad input refused whole."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from cli.app import app
from model.catalogue import load_catalogue
from model.planning.month import PLAN_COLUMNS
from tests.support.trained_model import TrainedModel

runner = CliRunner()
MONTH = "2025-03"


def _plan(trained_model: TrainedModel, *extra: str) -> object:
    return runner.invoke(
        app, ["plan", "--data", str(trained_model.data_dir), "--month", MONTH, *extra]
    )


def test_a_month_is_planned_within_the_seats_and_every_planned_service_is_eligible(
    trained_model: TrainedModel, tmp_path: Path
) -> None:
    capacity = tmp_path / "capacity.csv"
    capacity.write_text("service,month,seats\njob_search_coaching,2025-03,2\n", "utf-8")
    out = tmp_path / "plan.csv"
    result = _plan(trained_model, "--capacity", str(capacity), "--out", str(out))
    assert result.exit_code == 0, result.output
    plan = pd.read_csv(out)
    assert tuple(plan.columns) == PLAN_COLUMNS
    assert plan["client_id"].is_unique
    assert (plan["planned_service"] == "job_search_coaching").sum() <= 2
    seats = {s.code: s.monthly_capacity for s in load_catalogue()}
    for service, count in plan["planned_service"].value_counts().items():
        if seats.get(service) is not None:
            assert count <= seats[service]
    assert (plan["uplift_given_up"] >= -1e-9).all()
    starts = plan[plan["status"] == "start"]
    assert starts["start_date"].str.startswith(MONTH).all()
    assert (starts["expected_wait_days"] >= 0).all()
    waiting = plan[plan["status"] == "waiting"]
    assert (waiting["planned_service"] == "no_new_service").all()
    assert (waiting["own_best"] != "no_new_service").all()
    assert "planned" in result.output and "job_search_coaching: " in result.output


def test_an_unknown_service_in_the_capacity_table_is_named_and_nothing_is_written(
    trained_model: TrainedModel, tmp_path: Path
) -> None:
    capacity = tmp_path / "capacity.csv"
    capacity.write_text("service,month,seats\nsauna_course,2025-03,2\n", "utf-8")
    out = tmp_path / "plan.csv"
    result = _plan(trained_model, "--capacity", str(capacity), "--out", str(out))
    assert result.exit_code == 2
    assert "capacity.csv, row 1, column service: unknown service 'sauna_course'" in result.output
    assert "Traceback" not in result.output
    assert not out.exists() and list(tmp_path.iterdir()) == [capacity]


def test_a_client_listed_twice_is_named_by_row_and_nothing_is_written(
    trained_model: TrainedModel, tmp_path: Path
) -> None:
    clients = pd.read_csv(trained_model.data_dir / "clients.csv", dtype=str)["client_id"]
    listed = tmp_path / "clients.csv"
    listed.write_text(f"client_id\n{clients[0]}\n{clients[1]}\n{clients[0]}\n", "utf-8")
    out = tmp_path / "plan.csv"
    result = _plan(trained_model, "--clients", str(listed), "--out", str(out))
    assert result.exit_code == 2
    assert "clients.csv, row 3, column client_id: the client is listed twice (first on row 1)" in (
        " ".join(result.output.split())
    )
    assert str(clients[0]) not in result.output
    assert not out.exists()


def test_a_month_not_written_yyyy_mm_is_refused(trained_model: TrainedModel) -> None:
    result = runner.invoke(
        app, ["plan", "--data", str(trained_model.data_dir), "--month", "3/2025"]
    )
    assert result.exit_code == 2
    assert "YYYY-MM" in result.output


def test_with_a_horizon_clients_may_wait_for_a_later_seat_and_the_seats_still_hold(
    trained_model: TrainedModel, tmp_path: Path
) -> None:
    capacity = tmp_path / "capacity.csv"
    capacity.write_text(
        "service,month,seats\njob_search_coaching,2025-03,1\njob_search_coaching,2025-04,5\n",
        "utf-8",
    )
    out = tmp_path / "plan.parquet"
    result = _plan(trained_model, "--capacity", str(capacity), "--horizon", "2", "--out", str(out))
    assert result.exit_code == 0, result.output
    plan = pd.read_parquet(out)
    assert (plan["planned_service"] == "job_search_coaching").sum() <= 1
    assert set(plan["status"]) <= {"start", "waiting", "continue"}
