"""The run's policy summary (training.pipeline.policy): fitted with every training
run, logged with it (artifact and metrics), in the model card and its page."""

from __future__ import annotations

import mlflow
import pytest

from tests.support.trained_model import TrainedModel
from training.registry.served import load_policy_summary
from training.reports.html import render_model_card_html


def test_every_run_has_a_policy_summary_with_few_rules(trained_model: TrainedModel) -> None:
    summary = trained_model.result.policy_summary
    assert summary is not None
    assert summary["max_depth"] == 3
    assert 1 <= len(summary["rules"]) <= 8
    assert sum(rule["share"] for rule in summary["rules"]) == pytest.approx(1.0)
    for rule in summary["rules"]:
        assert set(rule["text"]) == {"fi", "sv", "en"}
        assert "→" in rule["text"]["en"]
    assert summary["valued_on"] == "held-out clients"
    assert summary["truth"]["v_hist"] <= summary["truth"]["v_rec"]
    assert 0.0 <= summary["agreement"] <= 1.0


def test_the_summary_is_logged_and_in_the_model_card(trained_model: TrainedModel) -> None:
    logged = load_policy_summary(trained_model.run_id)
    assert logged is not None
    assert logged["rules"] == trained_model.result.policy_summary["rules"]
    run = mlflow.get_run(trained_model.run_id)
    assert "policy_tree.agreement" in run.data.metrics
    card = trained_model.result.model_card
    assert card["policy_summary"]["rules"] == logged["rules"]
    page = render_model_card_html(card, "en")
    assert "Summary of the recommendations" in page
    assert logged["rules"][0]["text"]["en"].split(" → ")[0] in page.replace("&#39;", "'")
