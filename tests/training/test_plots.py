"""The report figures: each writes a real, non-empty PNG; matplotlib stays in one module."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from model.evaluation.calibration import calibration_table
from model.evaluation.policy_value import PolicyValues
from training.plots import calibration_plot, policy_value_plot, uplift_by_service_plot

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ROOT = Path(__file__).resolve().parents[2]


def assert_png(path: Path) -> None:
    assert path.is_file()
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    assert len(data) > 2_000  # more than an empty canvas


def test_calibration_plot_writes_a_png(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    p = rng.uniform(size=500)
    y = rng.binomial(1, p)
    path = calibration_plot(calibration_table(y, p, n_bins=10), tmp_path / "figs" / "cal.png")
    assert path == tmp_path / "figs" / "cal.png"
    assert_png(path)


def test_calibration_plot_of_an_empty_table_still_writes(tmp_path: Path) -> None:
    assert_png(calibration_plot(calibration_table([], []), tmp_path / "empty.png"))


def test_policy_value_plot_takes_dataclasses_and_dicts(tmp_path: Path) -> None:
    values = {
        "t_learner": PolicyValues(0.41, 0.47, 0.55, 0.43, n=1000),
        "x_learner": {"v_hist": 0.41, "v_rec": 0.49, "v_oracle": 0.55, "capture_ratio": 0.57},
        "no_capture": {"v_hist": 0.5, "v_rec": 0.5, "v_oracle": 0.5, "capture_ratio": np.nan},
    }
    assert_png(policy_value_plot(values, str(tmp_path / "policy.png")))


def test_policy_value_plot_refuses_incomplete_values(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="v_oracle"):
        policy_value_plot({"t": {"v_hist": 0.4, "v_rec": 0.5}}, tmp_path / "x.png")
    with pytest.raises(ValueError, match="empty"):
        policy_value_plot({}, tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


def test_uplift_by_service_plot_writes_a_png(tmp_path: Path) -> None:
    uplift = pd.DataFrame(
        {
            "service": ["integration_training", "work_trial", "job_search_coaching"],
            "mean_uplift": [0.06, -0.01, 0.02],
            "low": [0.03, -0.04, 0.0],
            "high": [0.09, 0.02, 0.04],
        }
    )
    assert_png(uplift_by_service_plot(uplift, tmp_path / "uplift.png"))
    # with the doubly-robust effect (withheld for one service) and the truth
    full = uplift.assign(
        dr_effect=[0.05, float("nan"), 0.03],
        dr_low=[0.01, float("nan"), -0.02],
        dr_high=[0.09, float("nan"), 0.08],
        true_effect=[0.04, -0.02, 0.01],
    )
    assert_png(uplift_by_service_plot(full, tmp_path / "uplift_full.png"))
    with pytest.raises(ValueError, match="low"):
        uplift_by_service_plot(uplift.drop(columns="low"), tmp_path / "bad.png")


def test_only_the_plots_modules_import_matplotlib() -> None:
    # training/shap_plots.py too: the shap library draws on pyplot's current figure.
    plotting = {ROOT / "training" / "plots.py", ROOT / "training" / "shap_plots.py"}
    offenders = []
    for package in ("model", "training", "api"):
        for source in (ROOT / package).rglob("*.py"):
            if source in plotting:
                continue
            for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom):
                    names = [node.module or ""]
                else:
                    continue
                if any(name.split(".")[0] == "matplotlib" for name in names):
                    offenders.append(str(source.relative_to(ROOT)))
    assert offenders == []
