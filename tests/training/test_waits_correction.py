"""How much of the waits' measured readiness the ranking takes (`correct_with_waits`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from model.config import RunConfig, load_config
from model.errors import ConfigError
from model.negative_control import WaitSelection
from training.pipeline.units import UnitStep
from training.pipeline.waits import WaitStep, combined_adjustment, waits_limitation

ACTIONS = ("language_course", "job_coaching", "work_trial", "no_new_service")


def _step(mode: str) -> WaitStep:
    # z = ratio / error: 3.0 (clear), 1.0 (within the noise), unmeasured, reference
    selection = WaitSelection(
        ACTIONS,
        np.array([0.6, 0.2, np.nan, np.nan]),
        np.array([0.2, 0.2, np.nan, np.nan]),
        np.array([200.0, 150.0, 10.0, 0.0]),
        np.array([40.0, 20.0, 1.0, 0.0]),
        0.3,
    )
    adjustment = np.array([0.08, 0.02, 0.0, 0.0])
    error = np.array([0.02, 0.02, np.inf, np.inf])
    return WaitStep(adjustment, selection, "measured", error).with_mode(mode)  # type: ignore[arg-type]


def test_half_where_clear_serves_half_of_the_clear_corrections_only() -> None:
    step = _step("half_where_clear")
    assert step.applied is not None
    np.testing.assert_allclose(step.applied, np.array([0.04, 0.0, 0.0, 0.0]))
    served = combined_adjustment(UnitStep(None, None, "no units declared"), step)
    assert served is not None
    np.testing.assert_allclose(served, np.array([0.04, 0.0, 0.0, 0.0]))
    record = step.record()
    assert record is not None and record["used"] and record["mode"] == "half_where_clear"
    assert record["services"]["language_course"]["applied"] == pytest.approx(0.04)
    assert record["services"]["job_coaching"]["applied"] == 0.0
    card = waits_limitation(record)
    assert "Half of the selection" in card["en"] and "language_course" in card["en"]
    assert "within the noise" in card["en"] and "job_coaching" in card["en"]
    assert "Puolet" in card["fi"] and "Hälften" in card["sv"] and "0,0" not in card["sv"]


def test_full_and_off() -> None:
    full = _step("full")
    assert full.applied is not None
    np.testing.assert_allclose(full.applied, np.array([0.08, 0.02, 0.0, 0.0]))
    off = _step("off")
    assert off.applied is None and "reported only" in off.note
    no_units = UnitStep(None, None, "no units declared")
    assert combined_adjustment(no_units, off) is None
    record = off.record()
    assert record is not None and not record["used"]
    assert 'correct_with_waits = "off"' in waits_limitation(record)["en"]


def test_the_configuration_reads_true_and_false_as_the_two_ends(tmp_path: Path) -> None:
    assert RunConfig().correct_with_waits == "half_where_clear"
    assert RunConfig(correct_with_waits=True).correct_with_waits == "full"  # type: ignore[arg-type]
    assert RunConfig(correct_with_waits=False).correct_with_waits == "off"  # type: ignore[arg-type]
    path = tmp_path / "run.toml"
    path.write_text('correct_with_waits = "half"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"run\.toml: correct_with_waits"):
        load_config(path)
