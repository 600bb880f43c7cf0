"""`polku tune` on the command line: the table, the written file, and errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.app import app
from model.config import load_config
from tests.support.trained_model import TrainedModel

runner = CliRunner()


@pytest.mark.slow
def test_tune_writes_a_configuration_polku_train_takes(
    trained_model: TrainedModel, tmp_path: Path
) -> None:
    out = tmp_path / "tuned.toml"
    result = runner.invoke(
        app,
        [
            "tune",
            "--data",
            str(trained_model.data_dir),
            "--trials",
            "2",
            "--config",
            str(trained_model.config_path),
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    words = " ".join(result.stdout.split())
    assert "num_leaves" in words and f"Wrote {out}" in words
    assert "polku train" in words and "--config" in words
    config = load_config(out)
    assert "min_child_samples" in config.learner_params["s_learner"]


def test_tune_refuses_an_unknown_learner_in_one_line(
    trained_model: TrainedModel, tmp_path: Path
) -> None:
    out = tmp_path / "tuned.toml"
    result = runner.invoke(
        app,
        [
            "tune",
            "--data",
            str(trained_model.data_dir),
            "--learner",
            "x_learner",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and "x_learner" in result.stderr
    assert "Traceback" not in result.output and not out.exists()
