"""The model card of one model version, as a JSON-ready dict.

Pure: every input is a plain value, dict or list, so the training pipeline
(which has the run's figures) and `polku report` (which reads them back from
the registry) build the same card. `training.reports` renders it as HTML; the
API serves it with `GET /v1/model`.

The card follows "Model Cards for Model Reporting" (Mitchell et al. 2019):
intended use and users, uses out of scope, data, features, evaluation,
fairness, limitations and risks, and the human oversight around it (how to
override a recommendation, how to stop the service). Text is in Finnish,
Swedish and English (`{"fi": ..., "sv": ..., "en": ...}`, fixed texts in
`model.model_card_texts`); figures are numbers. No personal data:
counts, dates, settings and figures only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from model.evaluation.figures import EVALUATION_FIGURES
from model.json_values import json_value
from model.locale_numbers import format_number
from model.model_card_texts import (
    HUMAN_OVERSIGHT,
    INTENDED_USE,
    INTENDED_USERS,
    LIMITATIONS,
    OUT_OF_SCOPE,
    SELECTION_TEXT,
)

CARD_KIND: Final = "polku.model_card"
SCHEMA_VERSION: Final = 1


def _figures(values: Mapping[str, Any] | None) -> dict[str, Any]:
    values = dict(values or {})
    out: dict[str, Any] = {
        key: json_value(values.get(key)) for key in EVALUATION_FIGURES if key in values
    }
    return out


def with_model_identity(
    document: Mapping[str, Any], *, name: str, version: str | None, run_id: str | None
) -> dict[str, Any]:
    """A copy of a report or card whose ``model`` names the registered version it describes.

    Reports are built before the version is registered; whoever knows the
    version (the registry when logging or loading it, `polku report`) stamps
    it here so that every page and JSON says which model, version and run
    its figures are about.
    """
    model = dict(document.get("model") or {})
    model.update(
        name=name,
        version=None if version is None else str(version),
        run_id=None if run_id is None else str(run_id),
    )
    return {**document, "model": model}


def fairness_summary(report: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The card's fairness part: the headline and the flagged gaps of a fairness report."""
    if not report:
        return None
    headline = [
        {
            key: item.get(key)
            for key in (
                "attribute",
                "verdict",
                "gap_history",
                "gap_recommended",
                "change",
                "change_low",
                "change_high",
                "text",
            )
        }
        for item in report.get("headline", [])
    ]
    verdicts: dict[str, int] = {}
    for item in headline:
        verdicts[str(item["verdict"])] = verdicts.get(str(item["verdict"]), 0) + 1
    return {
        "method": report.get("method"),
        "headline": headline,
        "verdicts": verdicts,
        "flagged_gaps": len(report.get("flags", [])),
        "flags": [dict(f) for f in report.get("flags", [])],
        "attributes_used": dict(report.get("attributes_used", {})),
        "min_cell_size": (report.get("suppression") or {}).get("k"),
        "overall": {
            key: (report.get("overall") or {}).get(key)
            for key in (
                "v_hist",
                "v_rec",
                "expected_gain",
                "gain_low",
                "gain_high",
                "override_rate",
            )
        },
    }


def build_model_card(
    *,
    model: Mapping[str, Any],
    data: Mapping[str, Any],
    features_used: Sequence[str],
    protected_attributes: Sequence[str],
    learners: Mapping[str, Mapping[str, Any]],
    chosen: str,
    selection_metric: str,
    evaluation: Mapping[str, Any],
    validation: Mapping[str, Mapping[str, Any]] | None = None,
    fairness: Mapping[str, Any] | None = None,
    min_cell_size: int = 5,
    has_truth: bool = False,
    extra_limitations: Sequence[Mapping[str, str]] = (),
) -> dict[str, Any]:
    """The model card for one version.

    - `model`: name, version (None before registration), learner, target,
      horizon_days, catalogue, trained_at, polku_version, ...
    - `data`: fingerprint (sha256), rows per table, date_window,
      training_window, split summary, ... (as the pipeline has them).
    - `features_used`: the model's encoded feature columns
      (`router.encoder.columns_`); `protected_attributes`: the configured
      audit-only attributes (`RunConfig.protected_attributes`).
    - `learners`: held-out figures per learner compared; `chosen` the served
      one; `selection_metric` what chose it (`v_rec` with truth, `dr_value`
      without); `validation`: the validation figures it was chosen on.
    - `evaluation`: held-out figures of the served learner.
    - `fairness`: the fairness report (its headline and flags are summarised).
    """
    used = list(features_used)
    protected = list(protected_attributes)
    validation_values = {
        name: json_value((figures or {}).get(selection_metric))
        for name, figures in (validation or {}).items()
    }
    card: dict[str, Any] = {
        "kind": CARD_KIND,
        "schema_version": SCHEMA_VERSION,
        "model": json_value(dict(model)),
        "intended_use": dict(INTENDED_USE),
        "intended_users": [dict(u) for u in INTENDED_USERS],
        "out_of_scope": [dict(u) for u in OUT_OF_SCOPE],
        "data": json_value(dict(data)),
        "features": {
            "used": used,
            "protected_excluded": [a for a in protected if a not in used],
            "protected_used": [a for a in protected if a in used],
            "note": {
                "fi": (
                    "Suojatut ominaisuudet (oletuksena sukupuoli, äidinkieli ja kansalaisuuden alue) "
                    "eivät ole mallin syötteitä; niitä käytetään vain yhdenvertaisuuden arviointiin. "
                    "Muut profiilitiedot voivat silti korreloida niiden kanssa."
                ),
                "en": (
                    "Protected attributes (by default gender, mother tongue and region of citizenship) "
                    "are not model inputs; they are used for the fairness audit only. Other profile "
                    "fields may still correlate with them."
                ),
            },
        },
        "learners": {
            "compared": {name: _figures(figures) for name, figures in learners.items()},
            "chosen": chosen,
            "selection_metric": selection_metric,
            "validation": validation_values,
            "why": dict(
                SELECTION_TEXT.get(
                    "single" if len(learners) == 1 else selection_metric,
                    {
                        "fi": f"Valittu validointiasiakkaiden mittarilla {selection_metric}.",
                        "en": f"Chosen by {selection_metric} on the validation clients.",
                    },
                )
            ),
        },
        "evaluation": _figures(evaluation),
        "evaluation_basis": "truth" if has_truth else "observed",
        "fairness": fairness_summary(fairness),
        "limitations": [dict(item) for item in (*LIMITATIONS, *extra_limitations)],
        "human_oversight": {key: dict(value) for key, value in HUMAN_OVERSIGHT.items()},
        "privacy": {
            "min_cell_size": int(min_cell_size),
            "fi": (
                f"Raporteissa ei ole henkilötietoja; alle {min_cell_size} asiakkaan solut ja niistä "
                "laskettavat osuudet piilotetaan, myös toissijaisesti."
            ),
            "en": (
                f"The reports hold no personal data; cells of fewer than {min_cell_size} clients and "
                "rates computed from them are hidden, with secondary suppression."
            ),
        },
    }
    return card


# -- sensitivity to hidden confounding ------------------------------------------------

SENSITIVITY_METHOD: Final = (
    "marginal sensitivity model (Tan 2006): bounds of the self-normalised doubly robust "
    "estimate when the true propensity odds may differ from the estimated ones by a factor "
    "in [1/lambda, lambda]; 95% percentile bootstrap of the extrema (Zhao, Small & "
    "Bhattacharya 2019)"
)


def sensitivity_card(
    extra: Mapping[str, Any], evaluation: Mapping[str, Any]
) -> dict[str, Any] | None:
    """The card's words and figures on hidden confounding, from an evaluation.

    `extra` holds the sensitivity analysis of the served learner on the
    held-out clients (`dr_sensitivity`: a list of {lambda, low, high},
    `break_even_lambda`, `observed_rate`, and the Hájek `ipw_*` versions);
    `evaluation` its figures (`dr_value`, `dr_low`, `dr_high`). None when
    there is no analysis.
    """
    bounds = [dict(b) for b in (extra.get("dr_sensitivity") or [])]
    if not bounds:
        return None
    observed = json_value(extra.get("observed_rate"))
    even = json_value(extra.get("break_even_lambda"))
    dr_low, dr_high = json_value(evaluation.get("dr_low")), json_value(evaluation.get("dr_high"))
    shown = [b for b in bounds if b.get("lambda") != 1.0]
    texts: dict[str, str] = {}
    for language in ("fi", "sv", "en"):
        ranges = "; ".join(
            f"Λ = {format_number(b['lambda'], language, 3, trim=True)}: "
            f"{format_number(b.get('low'), language, 3)}–{format_number(b.get('high'), language, 3)}"
            for b in shown
        )
        observed_text = format_number(observed, language, 3)
        if language == "fi":
            head = (
                f"Kaksoisrobusti 95 %:n väli ({format_number(dr_low, 'fi', 3)}–{format_number(dr_high, 'fi', 3)}) olettaa, "
                "ettei datasta puutu tekijää, joka vaikutti sekä asiantuntijoiden valintoihin että "
                "tulokseen. Jos tällaiset piilevät tekijät voivat muuttaa suositellun palvelun "
                "saamisen vetosuhdetta enintään kertoimella Λ, suositusten seuraamisen arvo on "
                f"herkkyysvälillä {ranges}."
            )
            if even is None:
                tail = (
                    f" Parannus nykykäytäntöön (havaittu onnistumisosuus {observed_text}) säilyy "
                    "kaikilla tutkituilla Λ:n arvoilla."
                )
            elif even <= 1.0:
                tail = (
                    " Väli ei erota suositusten arvoa nykykäytännöstä (havaittu onnistumisosuus "
                    f"{observed_text}) edes ilman piileviä tekijöitä."
                )
            else:
                tail = (
                    f" Parannus nykykäytäntöön (havaittu onnistumisosuus {observed_text}) säilyy, "
                    f"kunnes Λ = {format_number(even, 'fi', 2)}; sitä voimakkaampi piilevä valikoituminen "
                    "voisi selittää sen kokonaan."
                )
        elif language == "sv":
            head = (
                f"Det dubbelt robusta 95 %-intervallet ({format_number(dr_low, 'sv', 3)}–{format_number(dr_high, 'sv', 3)}) "
                "förutsätter att inget som påverkade både handläggarnas val och utfallet saknas i "
                "data. Om sådana dolda faktorer kan ändra oddsen att få den rekommenderade tjänsten "
                "med högst en faktor Λ, ligger värdet av att följa rekommendationerna i "
                f"känslighetsintervallet {ranges}."
            )
            if even is None:
                tail = (
                    f" Förbättringen jämfört med nuvarande praxis (observerad andel {observed_text}) "
                    "består för alla undersökta värden på Λ."
                )
            elif even <= 1.0:
                tail = (
                    " Inte ens utan dolda faktorer skiljer intervallet rekommendationernas värde "
                    f"från nuvarande praxis (observerad andel {observed_text})."
                )
            else:
                tail = (
                    f" Förbättringen jämfört med nuvarande praxis (observerad andel {observed_text}) "
                    f"består upp till Λ = {format_number(even, 'sv', 2)}; ett starkare dolt urval "
                    "skulle kunna förklara hela den."
                )
        else:
            head = (
                f"The doubly robust 95% interval ({format_number(dr_low, 'en', 3)}–{format_number(dr_high, 'en', 3)}) "
                "assumes that nothing that swayed both caseworkers' choices and the outcome is "
                "missing from the data. If such hidden factors could change the odds of receiving "
                "the recommended service by up to a factor Λ, the value of following the "
                f"recommendations lies in the sensitivity interval {ranges}."
            )
            if even is None:
                tail = (
                    f" The gain over current practice (observed rate {observed_text}) survives "
                    "every Λ examined."
                )
            elif even <= 1.0:
                tail = (
                    " Even without hidden factors the interval does not tell the recommendations' "
                    f"value apart from current practice (observed rate {observed_text})."
                )
            else:
                tail = (
                    f" The gain over current practice (observed rate {observed_text}) survives "
                    f"up to Λ = {format_number(even, 'en', 2)}; stronger hidden selection could explain all "
                    "of it."
                )
        texts[language] = head + tail
    return {
        "method": SENSITIVITY_METHOD,
        "dr_value": json_value(evaluation.get("dr_value")),
        "dr_low": dr_low,
        "dr_high": dr_high,
        "observed_rate": observed,
        "bounds": json_value(bounds),
        "break_even_lambda": even,
        "ipw_bounds": json_value(list(extra.get("ipw_sensitivity") or [])),
        "ipw_break_even_lambda": json_value(extra.get("ipw_break_even_lambda")),
        **texts,
    }


def sensitivity_limitation(section: Mapping[str, Any]) -> dict[str, str]:
    """A limitation entry carrying the sensitivity section's words (rendered with the others)."""
    return {
        "id": "hidden_confounding_sensitivity",
        "fi": str(section["fi"]),
        "sv": str(section.get("sv") or section["en"]),
        "en": str(section["en"]),
    }
