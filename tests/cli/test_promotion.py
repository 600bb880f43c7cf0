"""`polku compare` and `polku promote` against the current champion."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cli.app import app
from tests.support.compared_versions import ComparedVersions, register_compared_versions
from tests.support.trained_model import TrainedModel
from training.registry.versions import alias_holder, promote, version_tags

MODEL = "polku-router-cli-compare-test"
runner = CliRunner()


@pytest.fixture(scope="module")
def versions(trained_model: TrainedModel) -> ComparedVersions:
    return register_compared_versions(trained_model, MODEL)


def test_compare_prints_both_versions_side_by_side(versions: ComparedVersions) -> None:
    args = ["compare", versions.champion, versions.worse, "--model-name", MODEL]
    shown = runner.invoke(app, args)
    assert shown.exit_code == 0, shown.output
    assert f"version {versions.champion}" in shown.stdout
    assert "dr_value" in shown.stdout and "capture_ratio" in shown.stdout
    words = " ".join(shown.stdout.split())
    assert f"version {versions.worse} is worse" in words
    assert "true policy value (simulator truth, shown only)" in words
    assert "held-out clients" in " ".join(shown.stderr.split())

    answer = runner.invoke(app, [*args, "--json"])
    assert answer.exit_code == 0, answer.output
    found = json.loads(answer.stdout)
    assert (found["first"], found["second"]) == (versions.champion, versions.worse)
    assert found["second_is_worse"] is True
    dr = found["dr_difference"]
    assert dr["low"] <= dr["value"] <= dr["high"] < 0
    figures = {row["figure"]: row for row in found["figures"]}
    assert figures["referee_value"]["difference"] == pytest.approx(dr["value"])


def test_compare_of_an_unknown_version_is_one_error_line(versions: ComparedVersions) -> None:
    result = runner.invoke(app, ["compare", versions.champion, "999", "--model-name", MODEL])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and "Traceback" not in result.output


def test_promote_refuses_a_worse_version_unless_forced(versions: ComparedVersions) -> None:
    promote(versions.champion, name=MODEL)
    refused = runner.invoke(app, ["promote", versions.worse, "--model-name", MODEL])
    assert refused.exit_code == 1, refused.output
    assert "refused:" in refused.stderr and "--force" in " ".join(refused.stderr.split())
    assert "dr_value" in refused.stdout  # the comparison is shown
    assert alias_holder("champion", name=MODEL) == versions.champion
    assert "polku.promotion.refused" in version_tags(versions.worse, name=MODEL)

    forced = runner.invoke(app, ["promote", versions.worse, "--model-name", MODEL, "--force"])
    assert forced.exit_code == 0, forced.output
    assert f"version {versions.worse} is now champion" in forced.stdout
    assert alias_holder("champion", name=MODEL) == versions.worse
    assert "polku.promotion.forced" in version_tags(versions.worse, name=MODEL)
    promote(versions.champion, name=MODEL)
