"""Reading a capacity table file."""

from __future__ import annotations

from pathlib import Path

import pytest

from model.catalogue import load_catalogue
from model.errors import CapacityError
from training.contract.capacity import load_capacity

CATALOGUE = load_catalogue()


def test_load_capacity_reads_a_file_and_refuses_one_that_is_not_csv(tmp_path: Path) -> None:
    good = tmp_path / "capacity.csv"
    good.write_text("service,month,seats\nwork_trial,2025-03,3\n", "utf-8")
    assert load_capacity(good, catalogue=CATALOGUE).seats("2025-03")["work_trial"] == 3
    assert load_capacity(None, catalogue=CATALOGUE).seats("2025-03")["work_trial"] is None
    with pytest.raises(CapacityError, match=r"capacity\.xlsx"):
        load_capacity(tmp_path / "capacity.xlsx", catalogue=CATALOGUE)
    with pytest.raises(CapacityError, match="cannot read"):
        load_capacity(tmp_path / "missing.csv", catalogue=CATALOGUE)
