"""The `polku` command line: train's summary, evaluate --json, promote, and errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from cli.app import app
from cli.tables import print_training_summary
from tests.support.trained_model import TrainedModel
from training.router_figures import EVALUATION_KEYS, SENSITIVITY_KEYS, UPLIFT_COLUMNS
from training.tables import read_tables, write_tables

runner = CliRunner()


def _no_traceback(output: str) -> None:
    assert "Traceback" not in output
    assert 'File "' not in output


# -- evaluate -----------------------------------------------------------------------------


def test_evaluate_json_prints_one_object_with_exactly_the_keys(trained_model: TrainedModel) -> None:
    result = runner.invoke(app, ["evaluate", "--data", str(trained_model.data_dir), "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)  # exactly one JSON document on standard output
    # the evaluation's keys first; the sensitivity analysis and the
    # per-service effects after them
    assert tuple(figures) == (*EVALUATION_KEYS, *SENSITIVITY_KEYS, "service_effects")
    effects = figures["service_effects"]
    assert effects and all(set(e) == set(UPLIFT_COLUMNS) for e in effects)
    assert "no_new_service" not in {e["service"] for e in effects}
    for e in effects:
        assert e["n_taken"] + e["n_reference"] <= e["n"]
        if e["dr_effect"] is None:  # withheld below the small-cell threshold
            assert min(e["n_taken"], e["n_reference"]) < 5
        else:
            assert e["dr_low"] <= e["dr_effect"] <= e["dr_high"]
        assert e["true_effect"] is not None  # the tiny world ships its truth
    lambdas = [b["lambda"] for b in figures["dr_sensitivity"]]
    assert lambdas[0] == 1.0 and lambdas == sorted(lambdas)
    for form in ("dr_sensitivity", "ipw_sensitivity"):
        for bound in figures[form]:
            assert set(bound) == {"lambda", "low", "high"}
            assert bound["low"] <= bound["high"]
    assert figures["break_even_lambda"] is None or figures["break_even_lambda"] >= 1.0
    assert figures["observed_rate"] == pytest.approx(
        trained_model.result.details[trained_model.result.chosen].extra["observed_rate"]
    )
    assert figures["model_version"] == trained_model.version  # the newest candidate
    assert figures["learner"] == trained_model.result.chosen
    # on its own training data only the held-out clients are scored: the training figures
    expected = trained_model.result.evaluation
    for key in ("v_hist", "v_rec", "v_oracle", "capture_ratio", "auc", "brier", "ece", "coverage"):
        assert figures[key] == pytest.approx(expected[key]), key


def test_evaluate_by_version_or_alias_and_with_an_explicit_truth(
    trained_model: TrainedModel, tmp_path: Path
) -> None:
    data = trained_model.data_dir
    by_version = runner.invoke(
        app, ["evaluate", "--data", str(data), "--version", trained_model.version, "--json"]
    )
    by_alias = runner.invoke(
        app, ["evaluate", "--data", str(data), "--alias", "champion", "--json"]
    )
    assert by_version.exit_code == by_alias.exit_code == 0
    assert json.loads(by_version.stdout) == json.loads(by_alias.stdout)
    # other data (here: the same world as Parquet, without its truth file) is scored
    # whole, without truth
    other = tmp_path / "other"
    write_tables(read_tables(data), other, fmt="parquet")
    plain = runner.invoke(app, ["evaluate", "--data", str(other), "--json"])
    assert plain.exit_code == 0, plain.output
    figures = json.loads(plain.stdout)
    assert figures["v_rec"] is None and figures["coverage"] is None
    assert figures["dr_value"] is not None
    with_truth = runner.invoke(
        app,
        [
            "evaluate",
            "--data",
            str(other),
            "--truth",
            str(data / "truth.csv"),
            "--plots",
            str(tmp_path / "plots"),
        ],
    )
    assert with_truth.exit_code == 0, with_truth.output
    assert "capture_ratio" in with_truth.stdout
    assert "Hidden confounding" in with_truth.stdout and "holds true V_rec" in with_truth.stdout
    assert (tmp_path / "plots" / "calibration.png").is_file()


def test_evaluate_of_a_missing_version_fails_in_one_line(trained_model: TrainedModel) -> None:
    result = runner.invoke(
        app, ["evaluate", "--data", str(trained_model.data_dir), "--version", "999"]
    )
    assert result.exit_code == 2
    assert re.fullmatch(
        r"error: model 'polku-router' has no version 999; registered versions: .*\n", result.stderr
    )
    _no_traceback(result.output)


# -- promote ------------------------------------------------------------------------------


def test_promote_points_an_alias_at_a_version(trained_model: TrainedModel) -> None:
    from training.registry.served import load_served

    result = runner.invoke(app, ["promote", trained_model.version, "--alias", "cli-test"])
    assert result.exit_code == 0, result.output
    assert f"version {trained_model.version} is now cli-test" in result.stdout
    served = load_served(trained_model.name, alias="cli-test")
    assert served.version == trained_model.version
    missing = runner.invoke(app, ["promote", "999"])
    assert missing.exit_code == 2 and missing.stderr.startswith("error: ")
    _no_traceback(missing.output)


# -- train ---------------------------------------------------------------------------------


def test_the_training_summary_shows_every_learner_and_the_version(
    trained_model: TrainedModel,
) -> None:
    from training.registry.versions import RegisteredVersion

    console = Console(record=True, width=100)
    registered = RegisteredVersion(
        trained_model.name,
        trained_model.version,
        trained_model.run_id,
        trained_model.model_uri,
        ("candidate",),
    )
    print_training_summary(trained_model.result, registered, console)
    text = console.export_text()
    chosen = trained_model.result.chosen
    assert f"{chosen} ★" in text
    for learner in trained_model.result.test:
        assert learner in text
    assert "capture ratio" in text and "95 % interval" in text
    assert f"Registered polku-router version {trained_model.version} (alias candidate)" in text
    assert "inferred no_new_service reviews were left out" in text
    assert "observed rate" in text  # the break-even sentence of the sensitivity analysis
    if chosen == "s_learner":
        rounds = trained_model.result.router.learner.booster_.current_iteration()
        assert f"{rounds} of " in text and "rounds, chosen on validation" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--data", "{missing}"], "error: data folder .* does not exist"),
        (["train", "--data", "{data}", "--catalogue", "{bad_catalogue}"], "error: bad.toml: "),
        (
            ["train", "--data", "{data}", "--config", "{bad_config}"],
            "error: learners: unknown learner",
        ),
        (["train", "--data", "{broken_data}"], "error: the input tables break the data contract"),
        (
            ["recommend", "--data", "{data}", "--as-of", "2024-01-01", "--out", "{out_txt}"],
            "must end in .csv or .parquet",
        ),
        (
            ["recommend", "--data", "{data}", "--as-of", "1.1.2024", "--out", "{out_csv}"],
            "not a date",
        ),
        (
            ["evaluate", "--data", "{missing}", "--alias", "champion"],
            "error: data folder .* does not exist",
        ),
    ],
)
def test_errors_exit_2_without_a_traceback(
    args: list[str], message: str, tmp_path: Path, tiny_world_dir: Path, trained_model: TrainedModel
) -> None:
    bad_catalogue = tmp_path / "bad.toml"
    bad_catalogue.write_text("version = 1\n[[service]]\ncode = 'Work Trial'\n", encoding="utf-8")
    bad_config = tmp_path / "run.toml"
    bad_config.write_text('learners = ["oracle"]\n', encoding="utf-8")
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("episodes.csv", "outcomes.csv"):
        (broken / name).write_text((tiny_world_dir / name).read_text())
    clients = (tiny_world_dir / "clients.csv").read_text().splitlines()
    clients[1] = clients[1].replace(",20", ",19", 1).replace("-", "/", 1)  # a date that is not ISO
    (broken / "clients.csv").write_text("\n".join(clients) + "\n")
    values = {
        "missing": str(tmp_path / "nowhere"),
        "data": str(tiny_world_dir),
        "bad_catalogue": str(bad_catalogue),
        "bad_config": str(bad_config),
        "broken_data": str(broken),
        "out_txt": str(tmp_path / "out.txt"),
        "out_csv": str(tmp_path / "out.csv"),
    }
    result = runner.invoke(app, [a.format(**values) for a in args])
    assert result.exit_code == 2, result.output
    assert re.search(message, result.output), result.output
    _no_traceback(result.output)
    if result.stderr.startswith("error:"):
        assert result.stderr.count("\n") == 1  # one line


def test_help_lists_the_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("simulate", "validate", "train", "evaluate", "promote", "recommend", "demo"):
        assert command in result.stdout
