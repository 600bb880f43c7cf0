"""Reports as files (training.reports): the fairness report of a real router,
its HTML against its JSON number for number, the model card, and the files."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from model.evaluation import policy_values
from model.fairness.suppression import MARK
from tests.support.report_numbers import page_numbers, resolve
from tests.support.report_world import MODEL, SETTINGS, World, build_world, held_out_report
from training.reports.build import (
    FAIRNESS_HTML,
    FAIRNESS_JSON,
    MODEL_CARD_HTML,
    MODEL_CARD_JSON,
    build_reports,
    fairness_report_for,
    model_card_for,
    write_reports,
)
from training.reports.html import format_value, render_fairness_html, render_model_card_html

# -- a tiny real world and router (tests/support/report_world.py) -----------------


@pytest.fixture(scope="module")
def world() -> World:
    return build_world()


@pytest.fixture(scope="module")
def report(world: World) -> dict[str, Any]:
    return held_out_report()


@pytest.fixture(scope="module")
def pages(report: dict[str, Any]) -> dict[str, str]:
    """The page rendered once per default language (JSON round trip first, as served)."""
    document = json.loads(json.dumps(report))
    return {lang: render_fairness_html(document, lang) for lang in ("fi", "sv", "en")}


# -- reading the page ---------------------------------------------------------------------


def check_numbers(page: str, document: dict[str, Any]) -> int:
    """Assert that every number on the page is the JSON's, formatted as documented."""
    numbers = page_numbers(page).found
    assert numbers
    for entry in numbers:
        value = resolve(document, entry["key"])
        if entry["value"] == "suppressed":
            assert value is None, entry["key"]
            assert entry["plain"] == MARK
            continue
        if value is None:
            assert entry["value"] == "null"
        else:
            assert float(entry["value"]) == pytest.approx(float(value), abs=0, rel=0), entry["key"]
        for lang in ("fi", "sv", "en"):
            assert entry["text"][lang] == format_value(value, entry["kind"], lang), entry["key"]
    return len(numbers)


# -- the fairness report of a real router ------------------------------------------------------


def test_report_covers_the_evaluable_held_out_rows(world: World, report: dict[str, Any]) -> None:
    frame = world.dp.frame
    position = {a: i for i, a in enumerate(world.router.actions)}
    taken = np.array([position.get(a, -1) if isinstance(a, str) else -1 for a in frame["action"]])
    usable = (
        world.holdout
        & frame["action_known"].to_numpy(bool)
        & ~frame["censored"].to_numpy(bool)
        & (taken >= 0)
    )
    assert report["overall"]["decision_points"] == int(usable.sum())
    assert report["overall"]["clients"] == frame.loc[usable, "client_id"].nunique()
    assert report["method"] == "truth"
    # the overall values are the evaluation's policy values on the same rows
    from training.truth import align_truth

    truth = align_truth(frame.loc[usable], world.truth, world.router.actions)
    scores = world.router.score(
        frame.loc[usable], eligible=world.dp.eligibility()[usable], intervals=False
    )
    values = policy_values(
        truth=truth,
        eligible=world.dp.eligibility()[usable],
        taken=taken[usable],
        recommended=scores.recommended,
    )
    assert report["overall"]["v_hist"] == pytest.approx(values.v_hist, abs=1e-6)
    assert report["overall"]["v_rec"] == pytest.approx(values.v_rec, abs=1e-6)
    assert report["model"]["version"] == "7" and report["model"]["learner"] == "s_learner"
    assert report["service_names"]["no_new_service"]["fi"]


def test_truth_as_matrix_or_table_gives_the_same_report(
    world: World, report: dict[str, Any]
) -> None:
    from training.truth import align_truth

    matrix = align_truth(world.dp.frame, world.truth, world.router.actions)
    again = fairness_report_for(
        world.router, world.dp, world.holdout, matrix, settings=SETTINGS, model=MODEL
    )
    assert again["overall"] == report["overall"]
    assert again["headline"] == report["headline"]


def test_protected_attributes_are_reported_as_audit_only(report: dict[str, Any]) -> None:
    used = report["attributes_used"]
    assert set(used["audit_only"]) >= {"gender", "mother_tongue", "citizenship_region"}
    assert "residence_basis" in used["model_features"]
    assert used["protected_used_as_features"] == []


def test_html_numbers_are_the_json_numbers(report: dict[str, Any], pages: dict[str, str]) -> None:
    document = json.loads(json.dumps(report))
    page = pages["fi"]
    count = check_numbers(page, document)
    assert count > 300
    # and every published group figure of the JSON is on the page
    keys = {json.dumps(e["key"]) for e in page_numbers(page).found}
    for attribute in document["attributes"]:
        for g in attribute["groups"]:
            for name in (
                "clients",
                "base_rate",
                "mean_p_outcome",
                "v_hist",
                "v_rec",
                "expected_gain",
                "auc",
                "ece",
            ):
                if name in g:
                    assert (
                        json.dumps(["attributes", attribute["name"], "groups", g["group"], name])
                        in keys
                    )


def test_suppressed_values_are_marked(report: dict[str, Any], pages: dict[str, str]) -> None:
    page = pages["en"]
    hidden = [e for e in page_numbers(page).found if e["value"] == "suppressed"]
    assert hidden, "the simulated world has small groups"
    assert report["suppression"]["cells_hidden"] > 0


def test_page_is_self_contained(pages: dict[str, str]) -> None:
    page = pages["fi"]
    parsed = page_numbers(page)
    assert parsed.scripts == 0
    assert parsed.external == []
    assert len(parsed.images) >= 2
    for src in parsed.images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"


def test_headline_comes_first_in_every_language(
    report: dict[str, Any], pages: dict[str, str]
) -> None:
    page = pages["en"]
    assert '<html lang="en">' in page
    assert 'id="lang-en" checked' in page
    first_table = page.index("<table")
    findings = page.index('id="findings"')
    assert findings < first_table
    for line in report["headline"]:
        assert line["text"]["fi"].split(":")[0] in page
        assert line["text"]["en"].split(":")[0] in page
        assert line["text"]["sv"].split(":")[0] in page
    assert 'id="lang-sv" checked' in pages["sv"] and '<html lang="sv">' in pages["sv"]
    with pytest.raises(ValueError, match="language"):
        render_fairness_html(report, "de")
    with pytest.raises(ValueError, match="not a fairness report"):
        render_fairness_html({"headline": []}, "fi")


# -- the model card -----------------------------------------------------------------------------


def test_first_screen_names_the_model_and_the_period(
    report: dict[str, Any], pages: dict[str, str]
) -> None:
    page = pages["en"]
    first_table = page.index("<table")
    period = report["period"]
    for span in ("clients", "decision_points"):
        assert period[span]["from"] and period[span]["from"] <= period[span]["to"]
        assert f"{period[span]['from']} – {period[span]['to']}" in page[:first_table]
    assert page.index('id="period"') < first_table
    header = page[: page.index("<main>")]
    assert f"version {report['model']['version']}" in header
    # every figure has a plain definition, in every language
    definitions = page[page.index('id="definitions"') :]
    for term in (
        "AUC",
        "ECE",
        "Override rate",
        "95% interval",
        "Förväntat: Polku",
        "Kalibrointivirhe",
    ):
        assert term in definitions


def test_print_keeps_every_column_on_the_page(pages: dict[str, str]) -> None:
    css = pages["fi"][pages["fi"].index("@media print") :]
    assert ".scroll { overflow: visible; }" in css
    assert "thead { display: table-header-group; }" in css
    assert "@page { size: A4 landscape" in pages["fi"]


def test_a_card_of_one_learner_says_there_was_nothing_to_compare(
    world: World, report: dict[str, Any]
) -> None:
    card = model_card_for(
        world.router,
        fairness=report,
        model=MODEL,
        evaluation={"v_hist": 0.3, "v_rec": 0.36},
        learners={"s_learner": {"v_hist": 0.3, "v_rec": 0.36}},
        validation={"s_learner": {"referee_value": 0.35}},
        data={"fingerprint": "abc123"},
    )
    why = card["learners"]["why"]
    assert "only learner" in why["en"] and "Ainoa" in why["fi"] and "enda" in why["sv"]
    html = render_model_card_html(card, language="en")
    assert "The learner" in html and "Learners compared" not in html


def test_model_card_says_what_a_card_must(world: World, report: dict[str, Any]) -> None:
    card = model_card_for(
        world.router,
        fairness=report,
        model=MODEL,
        evaluation={"v_hist": 0.3, "v_rec": 0.36, "v_oracle": 0.5, "auc": 0.8, "ece": 0.02},
        learners={
            "s_learner": {"v_hist": 0.3, "v_rec": 0.36, "v_oracle": 0.5},
            "dr_learner": {"v_hist": 0.3, "v_rec": 0.33, "v_oracle": 0.5},
        },
        validation={"s_learner": {"dr_value": 0.35}, "dr_learner": {"dr_value": 0.32}},
        data={"fingerprint": "abc123", "date_window": {"from": "2018-01-01", "to": "2025-12-31"}},
        has_truth=True,
    )
    assert card["kind"] == "polku.model_card"
    assert card["features"]["used"] == list(world.router.encoder.columns_)
    assert set(card["features"]["protected_excluded"]) == {
        "gender",
        "mother_tongue",
        "citizenship_region",
    }
    assert card["learners"]["chosen"] == "s_learner"
    assert card["learners"]["selection_metric"] == "dr_value"
    assert card["learners"]["validation"] == {"s_learner": 0.35, "dr_learner": 0.32}
    assert {item["id"] for item in card["limitations"]} >= {
        "automation_bias",
        "feedback_loop",
        "unobserved_confounding",
        "reverse_causation",
    }
    assert card["human_oversight"]["override"]["endpoint"] == "POST /v1/decisions"
    assert card["human_oversight"]["stop"]["endpoint"] == "POST /v1/admin/pause"
    assert [h["attribute"] for h in card["fairness"]["headline"]] == [
        h["attribute"] for h in report["headline"]
    ]
    assert card["data"]["training_window"] == {"from": "2018-01-01", "to": "2023-12-31"}
    json.dumps(card, allow_nan=False)
    page = render_model_card_html(card, "fi")
    check_numbers(page, card)
    assert "POST /v1/decisions" in page and "POST /v1/admin/pause" in page
    assert page_numbers(page).external == [] and page_numbers(page).scripts == 0


# -- files and the command-line entry point -------------------------------------------------------


def _store(world: World) -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = world.dp.frame.loc[world.holdout].head(600).reset_index(drop=True)
    features = frame[
        [
            "gender",
            "age",
            "mother_tongue",
            "citizenship_region",
            "residence_basis",
            "education_level",
            "health_limitation",
        ]
    ]
    audit = pd.DataFrame(
        {
            "request_id": [f"req-{i}" for i in range(len(frame))],
            "client_id": frame["client_id"].astype(str),
            "model_version": "7",
            "as_of": frame["decision_date"].dt.strftime("%Y-%m-%d"),
            "features": [
                json.dumps(r)
                for r in features.astype(object).where(features.notna(), None).to_dict("records")
            ],
        }
    )
    rng = np.random.default_rng(0)
    recommended = np.where(
        rng.random(len(frame)) < 0.5, "job_search_coaching", "integration_training"
    )
    overridden = rng.random(len(frame)) < 0.3
    decisions = pd.DataFrame(
        {
            "decision_id": [f"dec-{i}" for i in range(len(frame))],
            "request_id": audit["request_id"],
            "chosen_service": np.where(overridden, "work_trial", recommended),
            "recommended_service": recommended,
            "reason_code": np.where(overridden, "waiting_time", None),
        }
    )
    return decisions, audit


def test_build_reports_writes_the_four_files(world: World, tmp_path: Path) -> None:
    decisions, audit = _store(world)
    result = build_reports(
        router=world.router,
        decision_points=world.dp,
        rows_mask=world.holdout,
        out_dir=tmp_path,
        truth=world.truth,
        decisions=decisions,
        audit=audit,
        settings=SETTINGS,
        model=MODEL,
    )
    assert set(result.paths) == {FAIRNESS_JSON, FAIRNESS_HTML, MODEL_CARD_JSON, MODEL_CARD_HTML}
    fairness = json.loads((tmp_path / FAIRNESS_JSON).read_text("utf-8"))
    assert fairness["decisions_included"]
    assert fairness["overall"]["decisions"] == 600
    assert fairness["overall"]["override_rate"] is not None
    check_numbers((tmp_path / FAIRNESS_HTML).read_text("utf-8"), fairness)
    card = json.loads((tmp_path / MODEL_CARD_JSON).read_text("utf-8"))
    assert card["model"]["version"] == "7"
    assert card["fairness"]["overall"]["override_rate"] == fairness["overall"]["override_rate"]
    assert "<!doctype html>" in (tmp_path / MODEL_CARD_HTML).read_text("utf-8")


def test_write_reports_creates_the_folder(tmp_path: Path, world: World) -> None:
    small = {
        "kind": "polku.fairness_report",
        "headline": [],
        "attributes": [],
        "flags": [],
        "overall": {},
        "settings": {"max_difference": 0.05, "min_ratio": 0.8, "n_boot": 0},
        "suppression": {"k": 5, "cells_hidden": 0},
        "attributes_used": {},
    }
    card = model_card_for(world.router)
    paths = write_reports(tmp_path / "new" / "folder", small, card)
    assert all(path.is_file() for path in paths.values())
    assert json.loads(paths[FAIRNESS_JSON].read_text("utf-8"))["kind"] == "polku.fairness_report"
    assert card["fairness"] is None
