"""Every word the figures draw, in Finnish, Swedish and English: the one place plots take them from.

`plot_label(key, language)` is one label; `plot_texts(key)` the same in
every language (the report pages' image descriptions). A ``{name}`` in a
label is filled from the keyword arguments; a field given per language (a
mapping such as an attribute's label) is filled in each language's own
words.

The report pages (`training.reports.plots`) draw each figure once per
language and show the one of the language chosen; the training run's
figures (`training.plots`, `training.shap_plots`) take a language too, and
are written in English for the data scientists who read the run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from model.vocab import LANGUAGES

PLOT_LABELS: Final[Mapping[str, Mapping[str, str]]] = {
    # -- the report pages: legends and axes
    "history": {"fi": "historia", "sv": "historik", "en": "history"},
    "polku": {"fi": "Polku", "sv": "Polku", "en": "Polku"},
    "best": {"fi": "paras", "sv": "bästa", "en": "best"},
    "gap_between_groups": {
        "fi": "ero ryhmien välillä, %-yks.",
        "sv": "skillnad mellan grupper, procentenheter",
        "en": "gap between groups, pp",
    },
    "expected_good_outcome": {
        "fi": "odotettu hyvä tulos, %",
        "sv": "förväntat gott utfall, %",
        "en": "expected good outcome, %",
    },
    "good_outcome": {"fi": "hyvä tulos, %", "sv": "gott utfall, %", "en": "good outcome, %"},
    "predicted_percent": {"fi": "ennuste, %", "sv": "prognos, %", "en": "predicted, %"},
    "observed_percent": {"fi": "toteutunut, %", "sv": "observerat, %", "en": "observed, %"},
    # -- the report pages: what each image shows (its alt text)
    "alt_headline": {
        "fi": "Ryhmien väliset erot: historia ja Polku",
        "sv": "Skillnader mellan grupper: historik och Polku",
        "en": "Gaps between groups: history and Polku",
    },
    "alt_groups": {
        "fi": "{attribute}: odotettu tulos ryhmittäin",
        "sv": "{attribute}: förväntat utfall per grupp",
        "en": "{attribute}: expected outcome by group",
    },
    "alt_learners": {
        "fi": "Politiikan arvo oppijoittain",
        "sv": "Policyvärde per inlärare",
        "en": "Policy value by learner",
    },
    "alt_calibration": {
        "fi": "Ennuste ja toteutunut",
        "sv": "Prognos och observerat utfall",
        "en": "Predicted and observed",
    },
    # -- the training run: calibration
    "calibration_title": {
        "fi": "Tulosmallin kalibrointi",
        "sv": "Utfallsmodellens kalibrering",
        "en": "Calibration of the outcome model",
    },
    "perfect": {"fi": "täydellinen", "sv": "perfekt", "en": "perfect"},
    "model": {"fi": "malli", "sv": "modell", "en": "model"},
    "observed_rate": {
        "fi": "hyvien tulosten toteutunut osuus",
        "sv": "observerad andel goda utfall",
        "en": "observed rate of good outcomes",
    },
    "predicted_probability": {
        "fi": "ennustettu todennäköisyys",
        "sv": "förutsagd sannolikhet",
        "en": "predicted probability",
    },
    "rows": {"fi": "rivejä", "sv": "rader", "en": "rows"},
    # -- the training run: policy value by learner
    "policy_value_title": {
        "fi": "Politiikan arvo (V_rec-pylvään luku: tavoitettu osuus)",
        "sv": "Policyvärde (talet vid V_rec: fångad andel)",
        "en": "Policy value (label on V_rec: capture ratio)",
    },
    "v_hist": {
        "fi": "V_hist (ohjaajat)",
        "sv": "V_hist (handledarna)",
        "en": "V_hist (caseworkers)",
    },
    "v_rec": {
        "fi": "V_rec (ensimmäinen ehdotus)",
        "sv": "V_rec (första förslaget)",
        "en": "V_rec (follow rank 1)",
    },
    "v_oracle": {
        "fi": "V_oracle (paras sallittu)",
        "sv": "V_oracle (bästa tillåtna)",
        "en": "V_oracle (best eligible)",
    },
    "share_good": {
        "fi": "hyvien tulosten osuus",
        "sv": "andel goda utfall",
        "en": "share of good outcomes",
    },
    # -- the training run: uplift by service
    "uplift_title": {
        "fi": "Vaikutus palveluittain (95 %:n välit)",
        "sv": "Effekt per tjänst (95 %-intervall)",
        "en": "Uplift by service (95 % intervals)",
    },
    "uplift_axis": {
        "fi": "muutos P(hyvä tulos):ssa verrattuna: ei uutta palvelua",
        "sv": "förändring i P(gott utfall) jämfört med ingen ny tjänst",
        "en": "change in P(good outcome) against no new service",
    },
    "uplift_model": {
        "fi": "malli: ennustettu vaikutus keskimäärin",
        "sv": "modell: genomsnittlig förutsagd effekt",
        "en": "model: mean predicted uplift",
    },
    "uplift_dr": {
        "fi": "kaksoisrobusti, tuloksista",
        "sv": "dubbelt robust, från utfallen",
        "en": "doubly robust, from outcomes",
    },
    "uplift_true": {
        "fi": "tosi (totuustaulu)",
        "sv": "sann (sanningstabell)",
        "en": "true (truth table)",
    },
    # -- the training run: SHAP
    "shap_title": {
        "fi": "{learner}: SHAP ({scale}) suositellulle palvelulle, {n} päätöskohtaa",
        "sv": "{learner}: SHAP ({scale}) för den rekommenderade tjänsten, {n} beslutspunkter",
        "en": "{learner}: SHAP ({scale}) of the recommended service, {n} decision points",
    },
    "scale_logit": {"fi": "logit", "sv": "logit", "en": "logit"},
    "scale_points": {
        "fi": "todennäköisyysyksiköt",
        "sv": "sannolikhetsenheter",
        "en": "probability points",
    },
    "shap_value": {
        "fi": "SHAP-arvo (vaikutus mallin tulokseen)",
        "sv": "SHAP-värde (inverkan på modellens utdata)",
        "en": "SHAP value (impact on model output)",
    },
    "shap_mean": {
        "fi": "|SHAP-arvo| keskimäärin",
        "sv": "medelvärdet av |SHAP-värde|",
        "en": "mean(|SHAP value|)",
    },
    "feature_value": {"fi": "ominaisuuden arvo", "sv": "egenskapens värde", "en": "Feature value"},
    "low": {"fi": "pieni", "sv": "lågt", "en": "Low"},
    "high": {"fi": "suuri", "sv": "högt", "en": "High"},
    "other_features": {
        "fi": "{n} muun ominaisuuden summa",
        "sv": "summan av {n} andra egenskaper",
        "en": "Sum of {n} other features",
    },
}


def plot_label(key: str, language: str, **fields: Any) -> str:
    """The label `key` in `language`, its ``{name}`` fields filled in."""
    if language not in LANGUAGES:
        raise ValueError(f"plot labels are in {', '.join(LANGUAGES)}, not {language!r}")
    text = PLOT_LABELS[key][language]
    if not fields:
        return text
    return text.format(
        **{
            name: value[language] if isinstance(value, Mapping) else value
            for name, value in fields.items()
        }
    )


def plot_texts(key: str, **fields: Any) -> dict[str, str]:
    """The label `key` in every language."""
    return {language: plot_label(key, language, **fields) for language in LANGUAGES}
