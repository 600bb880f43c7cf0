"""The service report of a real router on a simulated world
(training.reports.services): every figure the JSON has is the page's, in
Finnish, Swedish and English; groups are pooled, never hidden when large;
bad group fields and windows are refused; the page opens in headless
Chromium without console errors and draws (a screenshot is saved)."""

from __future__ import annotations

import json
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from matplotlib.image import imread

from model.fairness.suppression import MARK
from model.services.groups import GroupFieldError
from tests.support.chromium import console_messages, run_chromium
from tests.support.report_numbers import LANGUAGES, page_numbers, resolve
from tests.support.report_world import MODEL, build_world
from training.reports.html import format_value
from training.reports.services import (
    SERVICES_HTML,
    SERVICES_JSON,
    ServiceInputs,
    read_inputs,
    service_report_for,
    write_service_report,
)
from training.reports.services_page import render_services_html
from training.simulator import WorldParams, simulate
from training.tables import Tables, write_tables


@lru_cache(maxsize=1)
def inputs() -> ServiceInputs:
    world = build_world()
    history = simulate(WorldParams(n_clients=1500, truth_replicates=1), world.router.catalogue)
    return ServiceInputs(history.clients, history.episodes, history.outcomes, world.dp)


@lru_cache(maxsize=1)
def report() -> dict[str, Any]:
    return service_report_for(build_world().router, inputs(), model=MODEL, n_boot=50)


def test_every_number_on_the_page_is_the_json_number_in_three_languages() -> None:
    document = json.loads(json.dumps(report()))
    page = render_services_html(document, "sv")
    parsed = page_numbers(page)
    assert parsed.scripts == 0 and parsed.external == []
    assert len(parsed.found) > 500
    for entry in parsed.found:
        value = resolve(document, entry["key"])
        if entry["value"] == "suppressed":
            assert value is None, entry["key"]
            assert entry["plain"] == MARK
            continue
        assert value is not None, entry["key"]
        assert float(entry["value"]) == float(value), entry["key"]
        for lang in LANGUAGES:
            assert entry["text"][lang] == format_value(value, entry["kind"], lang), entry["key"]
    assert '<html lang="sv">' in page and 'id="lang-sv" checked' in page
    assert "Viktigaste resultat" in page and "Key findings" in page
    assert page.index('id="findings"') < page.index("<table")


def test_report_has_every_section_and_the_model_it_was_scored_with() -> None:
    document = report()
    assert document["model"]["version"] == MODEL["version"]
    assert document["window"]["since"] <= document["window"]["until"]
    assert document["language"]["available"]
    assert document["matching"]["available"]
    outcomes = document["outcomes"]
    assert set(outcomes) == set(build_world().router.actions)
    coaching = outcomes["job_search_coaching"]
    assert coaching["low"] <= coaching["effect"] <= coaching["high"]
    assert coaching["sensitivity"]["low"] <= coaching["low"]
    assert [g["name"] for g in document["groups"]] == [
        "residence_basis",
        "education_level",
        "finnish_level_band",
        "years_since_arrival_band",
    ]


def test_no_group_of_at_least_k_clients_is_hidden() -> None:
    k = report()["settings"]["k"]
    for section in report()["groups"]:
        names = [g["group"] for g in section["groups"]]
        assert len(names) == len(set(names))
        for group in section["groups"]:
            if group["clients"] is None:
                assert group["group"] == "other"
            else:
                assert group["clients"] >= k


def test_every_shown_count_is_zero_or_at_least_k() -> None:
    document = report()
    k = document["settings"]["k"]
    volumes = document["volumes"]
    counts = [*volumes["intakes"].values(), *volumes["clients_seen"].values()]
    for months in volumes["starts"].values():
        counts += list(months.values())
    shown = np.array([c for c in counts if c is not None])
    assert np.all((shown == 0) | (shown >= k))
    assert any(c is None for c in counts)  # the small world has small months


def test_a_window_and_other_group_fields_narrow_the_report() -> None:
    router = build_world().router
    narrow = service_report_for(
        router,
        inputs(),
        since=date(2021, 1, 1),
        until=date(2021, 12, 31),
        by=["gender", "age_band"],
        n_boot=20,
    )
    assert narrow["volumes"]["months"][0] == "2021-01" and len(narrow["volumes"]["months"]) == 12
    assert narrow["evaluated"]["decisions"] < report()["evaluated"]["decisions"]
    assert [g["name"] for g in narrow["groups"]] == ["gender", "age_band"]
    with pytest.raises(GroupFieldError, match="cannot group clients by 'months_unemployed'"):
        service_report_for(router, inputs(), by=["months_unemployed"], n_boot=0)
    with pytest.raises(ValueError, match="window starts"):
        service_report_for(router, inputs(), since=date(2022, 1, 1), until=date(2021, 1, 1))


def test_without_matches_education_the_section_says_the_data_lacks_it(tmp_path: Path) -> None:
    data = inputs()
    folder = tmp_path / "data"
    write_tables(
        Tables(data.clients, data.episodes, data.outcomes.drop(columns="matches_education")),
        folder,
    )
    read = read_inputs(build_world().router, folder)
    document = service_report_for(build_world().router, read, n_boot=0)
    assert document["matching"]["available"] is False
    page = render_services_html(document, "en")
    assert "The data does not record whether work matches" in page


def test_a_bad_matches_education_value_is_a_contract_problem(tmp_path: Path) -> None:
    from model.errors import DataContractError

    data = inputs()
    outcomes = data.outcomes.astype({"matches_education": object}).copy()
    outcomes.loc[0, "matches_education"] = "perhaps"
    folder = tmp_path / "bad"
    write_tables(Tables(data.clients, data.episodes, outcomes), folder)
    with pytest.raises(DataContractError, match="matches_education"):
        read_inputs(build_world().router, folder)


@pytest.mark.browser
def test_the_page_renders_in_chromium_and_draws(tmp_path: Path) -> None:
    folder = tmp_path / "report"
    paths = write_service_report(folder, report())
    assert set(paths) == {SERVICES_JSON, SERVICES_HTML}
    page = paths[SERVICES_HTML]
    shot = folder / "services.png"
    done = run_chromium(
        ["--window-size=1280,1600", "--hide-scrollbars", f"--screenshot={shot}", page.as_uri()],
        tmp_path / "profile-shot",
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert console_messages(done.stderr) == []
    pixels = imread(shot)
    header = pixels[20:60, 20:400, :3].reshape(-1, 3).mean(axis=0)
    assert header[2] > header[0] + 0.2, f"no header colour at the top, mean {header}"
    assert np.unique(pixels[:, :, :3].reshape(-1, 3), axis=0).shape[0] > 50
    dumped = run_chromium(
        ["--virtual-time-budget=5000", "--dump-dom", page.as_uri()], tmp_path / "profile-dom"
    )
    assert dumped.returncode == 0
    assert console_messages(dumped.stderr) == []
    assert "Tärkeimmät havainnot" in dumped.stdout
    print(f"screenshot: {shot}")


def test_the_policy_summary_is_on_the_page_with_its_share_of_the_gain() -> None:
    from model.services.policy_tree import PolicyTree, imitation_weights, policy_summary
    from training.reports.services import outcome_rows

    world = build_world()
    router = world.router
    rows = outcome_rows(inputs())
    frame = world.dp.frame.loc[rows]
    eligible = world.dp.eligibility()[rows]
    batch = router.score(frame, eligible=eligible, intervals=False)
    tree = PolicyTree(max_depth=2).fit(
        frame,
        batch.recommended,
        imitation_weights(batch.p, eligible, batch.recommended),
        router.actions,
    )
    names = report()["service_names"]
    taken = np.array([router.actions.index(a) for a in frame["action"]])
    summary = policy_summary(
        tree,
        frame,
        eligible=eligible,
        y=frame["label"].to_numpy(dtype=float),
        taken=taken,
        mu=batch.p,
        propensity=batch.support,
        recommended=batch.recommended,
        service_names=names,
    )
    document = json.loads(
        json.dumps(service_report_for(router, inputs(), policy=summary, n_boot=20))
    )
    page = render_services_html(document, "en")
    assert 'id="policy"' in page
    for rule in summary["rules"]:
        assert rule["text"]["en"].split(" → ")[0].replace("'", "&#39;") in page
    shown = [e for e in page_numbers(page).found if e["key"] == ["policy", "share_of_gain"]]
    assert shown and float(shown[0]["value"]) == summary["share_of_gain"]


def test_an_effect_that_rounds_to_zero_is_never_written_negative() -> None:
    for lang in LANGUAGES:
        assert format_value(-0.00001, "pp", lang) == format_value(0.0, "pp", lang)
        assert "−" not in format_value(-0.0004, "pp", lang) and "-" not in format_value(
            -0.0004, "pp", lang
        )
        assert format_value(-0.0006, "pp", lang).startswith(("−", "-"))


def test_effects_are_scored_by_models_that_never_saw_the_client(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Cross-fitting: each fold's decisions are scored by models fitted on the other
    folds' clients only, and every scored decision belongs to exactly one fold."""
    from training.reports import crossfit

    fitted_on: list[set[str]] = []
    real_fit = crossfit.fit_models

    def recording_fit(dp: Any, split: Any, rows: Any, config: Any, **kwargs: Any) -> Any:
        fitted_on.append(set(dp.frame.loc[split.train, "client_id"].astype(str)))
        return real_fit(dp, split, rows, config, **kwargs)

    monkeypatch.setattr(crossfit, "fit_models", recording_fit)
    router = build_world().router
    data = inputs()
    frame = data.dp.frame
    folds = crossfit.report_folds(data.dp, router.config.seed)
    clients = frame["client_id"].astype(str).to_numpy()
    for fold in range(crossfit.FOLDS):
        assert len(set(clients[folds == fold])) > 0
        assert not set(clients[folds == fold]) & set(clients[folds != fold])
    document = service_report_for(router, data, model=MODEL, n_boot=20)
    assert document["model"]["effect_models"] == "cross_fitted"
    assert len(fitted_on) == crossfit.FOLDS
    for fold, seen in enumerate(fitted_on):
        assert seen and not seen & set(clients[folds == fold])
    assert "cross-fitted" in render_services_html(document, "en")


def test_too_few_decisions_to_fit_again_use_the_version_s_models(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from training.reports import crossfit

    router = build_world().router
    asked = service_report_for(router, inputs(), model=MODEL, n_boot=20, nuisance="version")
    assert asked["model"]["effect_models"] == "version"
    assert "too few decisions to fit them again" in render_services_html(asked, "en")
    monkeypatch.setattr(crossfit, "MIN_ROWS_PER_FOLD", 10**9)
    fallback = service_report_for(router, inputs(), model=MODEL, n_boot=20)
    assert fallback["model"]["effect_models"] == "version"
