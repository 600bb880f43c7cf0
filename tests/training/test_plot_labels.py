"""Plot labels in Finnish, Swedish and English, from one table, on every figure.

What a figure says is read back from its PNG's Description (the words
matplotlib drew), on the report pages as served and on the training run's
files.
"""

from __future__ import annotations

import base64
import io
import re
import string
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from model.evaluation.calibration import calibration_table
from model.followup import followup_report
from tests.support.followup_rows import synthetic_rows
from tests.support.report_world import MODEL, build_world, held_out_report
from training.plot_labels import PLOT_LABELS, plot_label
from training.plots import calibration_plot, policy_value_plot, uplift_by_service_plot
from training.reports.build import model_card_for
from training.reports.followup import render_followup_html
from training.reports.html import render_fairness_html, render_model_card_html

LANGUAGES = ("fi", "sv", "en")
IMAGE = re.compile(
    r'<img class="plot (\w\w)" lang="(\w\w)" alt="([^"]*)" src="data:image/png;base64,([^"]+)">'
)


def words_of(png: bytes) -> str:
    with Image.open(io.BytesIO(png)) as image:
        return str(image.text["Description"])


def figures(page: str) -> dict[str, list[tuple[str, str]]]:
    """(alt text, words drawn) of each embedded figure, by the language it is shown in."""
    found: dict[str, list[tuple[str, str]]] = {language: [] for language in LANGUAGES}
    for shown, lang, alt, data in IMAGE.findall(page):
        assert shown == lang
        found[shown].append((alt, words_of(base64.b64decode(data))))
    return found


def others(key: str, language: str) -> set[str]:
    """The label in the other languages, where it differs from this one's."""
    own = PLOT_LABELS[key][language]
    return {text for lang, text in PLOT_LABELS[key].items() if lang != language and text != own}


def test_every_label_is_in_every_language_with_the_same_fields() -> None:
    for key, texts in PLOT_LABELS.items():
        assert set(texts) == set(LANGUAGES), key
        assert all(text.strip() for text in texts.values()), key
        fields = {
            lang: {name for _, name, _, _ in string.Formatter().parse(text) if name}
            for lang, text in texts.items()
        }
        assert fields["fi"] == fields["sv"] == fields["en"], key
    with pytest.raises(ValueError, match="not 'de'"):
        plot_label("history", "de")


@pytest.fixture(scope="module")
def pages() -> dict[str, str]:
    """The fairness report, the model card and the follow-up report, as Swedish pages."""
    world = build_world()
    report = held_out_report()
    card = model_card_for(
        world.router,
        fairness=report,
        model=MODEL,
        evaluation={"v_hist": 0.22, "v_rec": 0.27, "v_oracle": 0.4, "auc": 0.8, "ece": 0.03},
        has_truth=True,
    )
    rows, reference = synthetic_rows(n=3000, seed=1, shift=0.5)
    return {
        "fairness": render_fairness_html(report, "sv"),
        "card": render_model_card_html(card, "sv"),
        "followup": render_followup_html(followup_report(rows, reference, k=5, model=MODEL), "sv"),
    }


@pytest.mark.parametrize(
    ("page", "keys"),
    [
        ("fairness", ["history", "gap_between_groups", "expected_good_outcome"]),
        ("card", ["history", "good_outcome", "best"]),
        ("followup", ["predicted_percent", "observed_percent"]),
    ],
)
def test_a_swedish_reports_plots_carry_swedish_labels(
    pages: dict[str, str], page: str, keys: list[str]
) -> None:
    text = pages[page]
    assert '<html lang="sv">' in text and 'id="lang-sv" checked' in text
    drawn = figures(text)
    assert drawn["sv"], "the page has no Swedish figure"
    assert [len(drawn[lang]) for lang in LANGUAGES] == [len(drawn["sv"])] * 3
    for language in LANGUAGES:
        every_word = "\n".join(words for _, words in drawn[language])
        for key in keys:
            assert PLOT_LABELS[key][language] in every_word, (language, key)
            for other in others(key, language):
                assert other not in every_word.splitlines(), (language, key, other)
    swedish_alts = [alt for alt, _ in drawn["sv"]]
    assert all(" / " not in alt for alt in swedish_alts)
    if page == "fairness":
        assert "Skillnader mellan grupper: historik och Polku" in swedish_alts
        swedish_words = "\n".join(words for _, words in drawn["sv"])
        assert "Åldersgrupp" in swedish_words and "Ikäryhmä" not in swedish_words


def test_the_training_runs_figures_take_the_language(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    p = rng.uniform(size=400)
    table = calibration_table(rng.binomial(1, p), p, n_bins=10)
    values = {"t_learner": {"v_hist": 0.41, "v_rec": 0.47, "v_oracle": 0.55, "capture_ratio": 0.5}}
    uplift = pd.DataFrame(
        {
            "service": ["work_trial", "integration_training"],
            "mean_uplift": [0.02, 0.05],
            "low": [0.0, 0.01],
            "high": [0.04, 0.09],
            "dr_effect": [0.01, 0.04],
            "dr_low": [-0.02, 0.0],
            "dr_high": [0.04, 0.08],
            "true_effect": [0.015, 0.045],
        }
    )
    for language in LANGUAGES:
        drawn = {
            "calibration": calibration_plot(
                table, tmp_path / f"cal-{language}.png", language=language
            ),
            "policy": policy_value_plot(values, tmp_path / f"pv-{language}.png", language=language),
            "uplift": uplift_by_service_plot(
                uplift, tmp_path / f"up-{language}.png", language=language
            ),
        }
        expected: dict[str, list[str]] = {
            "calibration": ["calibration_title", "observed_rate", "predicted_probability"],
            "policy": ["policy_value_title", "v_hist", "v_rec", "v_oracle", "share_good"],
            "uplift": ["uplift_title", "uplift_axis", "uplift_model", "uplift_dr", "uplift_true"],
        }
        for figure, path in drawn.items():
            words = words_of(path.read_bytes()).splitlines()
            for key in expected[figure]:
                assert PLOT_LABELS[key][language] in words, (language, figure, key)
                assert not others(key, language) & set(words), (language, figure, key)


def test_the_shap_figures_are_labelled_in_swedish(tmp_path: Path) -> None:
    from training.shap_plots import write_shap_plots

    world = build_world()
    paths = write_shap_plots(
        world.router, world.dp.frame.loc[world.holdout], tmp_path, sample=150, language="sv"
    )
    beeswarm, importance = (words_of(path.read_bytes()) for path in paths)
    for words, axis in ((beeswarm, "shap_value"), (importance, "shap_mean")):
        assert plot_label(axis, "sv") in words
        assert "för den rekommenderade tjänsten, 150 beslutspunkter" in words
        assert "Sum of" not in words and "SHAP value" not in words
        assert re.search(r"summan av \d+ andra egenskaper", words)
    assert all(plot_label(key, "sv") in beeswarm for key in ("feature_value", "low", "high"))
    assert "Feature value" not in beeswarm
