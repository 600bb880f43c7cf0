"""The files around `polku plan`: the client list, the months ahead, the plan written whole."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from model.errors import PlanningError
from training.planning import later_month, read_client_list, write_plan


@pytest.mark.parametrize(
    ("month", "k", "expected"),
    [
        ("2025-03", 1, "2025-04"),
        ("2025-12", 1, "2026-01"),
        ("2025-01", -1, "2024-12"),
        ("2025-05", 12, "2026-05"),
    ],
)
def test_later_month_counts_across_years(month: str, k: int, expected: str) -> None:
    assert later_month(month, k) == expected


def test_a_client_list_refuses_an_empty_id_and_a_client_twice_by_row(tmp_path: Path) -> None:
    path = tmp_path / "clients.csv"
    path.write_text("client_id\nA\n \n", "utf-8")
    with pytest.raises(
        PlanningError, match=r"clients\.csv, row 2, column client_id: the id is empty"
    ):
        read_client_list(path)
    path.write_text("client_id\nA\nB\nA\n", "utf-8")
    with pytest.raises(PlanningError, match=r"row 3, column client_id: the client is listed twice"):
        read_client_list(path)
    path.write_text("client_id\nA\nB\n", "utf-8")
    assert read_client_list(path) == ["A", "B"]


def test_a_plan_that_cannot_be_written_leaves_no_file_behind(tmp_path: Path) -> None:
    frame = pd.DataFrame({"client_id": ["a"], "planned_service": ["work_trial"]})
    with pytest.raises(PlanningError):
        write_plan(frame, tmp_path / "plan.xlsx")
    bad = pd.DataFrame({"client_id": [object()]})  # Parquet cannot hold it
    with pytest.raises(Exception):  # noqa: B017 - pyarrow's own error
        write_plan(bad, tmp_path / "plan.parquet")
    assert list(tmp_path.iterdir()) == []
    assert write_plan(frame, tmp_path / "plan.csv").read_text("utf-8").startswith("client_id,")
