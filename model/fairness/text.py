"""The words of the fairness report, in Finnish, Swedish and English.

The report is read by evaluators in Finnish and Swedish (the municipalities
are bilingual) and English, so every name it shows is a
``{"fi": ..., "sv": ..., "en": ...}`` dict: the attributes (`ATTRIBUTE_LABELS`), their
groups (`group_label`) and the one-sentence headline per attribute
(`headline_text`), which says whether following Polku would narrow or widen
the gap between groups. Figures stay numbers in the JSON; only the headline
writes them out, as percentage points (`model.locale_numbers.format_points`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Final

from model.category_labels import group_words
from model.fairness.groups import CROSS, INTERSECTION, OTHER, PLUS, POOLED
from model.locale_numbers import Unit, format_points
from model.vocab import UNKNOWN

ATTRIBUTE_LABELS: Final[dict[str, dict[str, str]]] = {
    "gender": {"fi": "Sukupuoli", "sv": "Kön", "en": "Gender"},
    "age_band": {"fi": "Ikäryhmä", "sv": "Åldersgrupp", "en": "Age band"},
    "mother_tongue": {"fi": "Äidinkieli", "sv": "Modersmål", "en": "Mother tongue"},
    "citizenship_region": {
        "fi": "Kansalaisuuden alue",
        "sv": "Medborgarskapets region",
        "en": "Region of citizenship",
    },
    "residence_basis": {
        "fi": "Oleskeluperuste",
        "sv": "Uppehållsgrund",
        "en": "Basis of residence",
    },
    "education_level": {"fi": "Koulutustaso", "sv": "Utbildningsnivå", "en": "Education"},
    "health_limitation": {
        "fi": "Terveydellinen rajoite",
        "sv": "Hälsobegränsning",
        "en": "Health limitation",
    },
    INTERSECTION: {
        "fi": "Sukupuoli × oleskeluperuste",
        "sv": "Kön × uppehållsgrund",
        "en": "Gender × basis of residence",
    },
}

GROUP_LABELS: Final[dict[str, dict[str, str]]] = {
    **group_words(),
    POOLED: {"fi": "muu tai ei tiedossa", "sv": "annan eller okänd", "en": "other or unknown"},
}

LANGUAGES: Final = ("fi", "sv", "en")

# What the headline says for each verdict.
_VERDICT_WORDS: Final[dict[str, dict[str, str]]] = {
    "narrows": {
        "fi": "Polku kaventaisi eroa",
        "sv": "Polku skulle minska skillnaden",
        "en": "Polku would narrow the gap",
    },
    "widens": {
        "fi": "Polku leventäisi eroa",
        "sv": "Polku skulle öka skillnaden",
        "en": "Polku would widen the gap",
    },
    "no_clear_change": {
        "fi": "ei selvää muutosta",
        "sv": "ingen tydlig förändring",
        "en": "no clear change",
    },
}


def group_label(name: str, group: str) -> dict[str, str]:
    """The name of `group` of attribute `name` in every language of `LANGUAGES`.

    Intersection groups join their two labels; a group that had to absorb the
    pool of small groups joins its own label and the pool's; a mother tongue
    is shown as its code; a value without a translation is shown as it is.
    """
    if name == INTERSECTION and CROSS in group:
        first, second = group.split(CROSS, 1)
        gender = group_label("gender", first)
        basis = group_label("residence_basis", second)
        return {lang: f"{gender[lang]}{CROSS}{basis[lang]}" for lang in LANGUAGES}
    if PLUS in group:
        own, pool = group.split(PLUS, 1)
        first_label, pool_label = group_label(name, own), group_label(name, pool)
        joiner = {"fi": " tai ", "sv": " eller ", "en": " or "}
        return {lang: first_label[lang] + joiner[lang] + pool_label[lang] for lang in LANGUAGES}
    if name == "mother_tongue" and group not in (OTHER, UNKNOWN, POOLED):
        return {lang: group for lang in LANGUAGES}
    if name == "health_limitation" and group in ("yes", "no"):
        return GROUP_LABELS[group]
    return GROUP_LABELS.get(group, {lang: group for lang in LANGUAGES})


def headline_text(
    name: str,
    verdict: str,
    gap_hist: float | None,
    gap_rec: float | None,
    low: float | None,
    high: float | None,
    lowest: Mapping[str, str] | None,
    highest: Mapping[str, str] | None,
) -> dict[str, str]:
    """The headline sentence of attribute `name` in Finnish, Swedish and English.

    It names the verdict, the gap between groups under history and under
    Polku, the interval of the change when there is one, and the groups
    lowest and highest in history (`lowest`, `highest`: their labels).
    """
    label = ATTRIBUTE_LABELS[name]
    if verdict == "not_enough_groups" or gap_hist is None or gap_rec is None:
        return {
            "fi": f"{label['fi']}: liian vähän julkaistavia ryhmiä vertailuun.",
            "sv": f"{label['sv']}: för få publicerbara grupper att jämföra.",
            "en": f"{label['en']}: too few publishable groups to compare.",
        }
    verb = _VERDICT_WORDS[verdict]
    interval = {lang: "" for lang in LANGUAGES}
    if low is not None and high is not None and math.isfinite(low) and math.isfinite(high):
        lo = {lang: format_points(low, lang, signed=True) for lang in LANGUAGES}
        hi = {lang: format_points(high, lang, signed=True) for lang in LANGUAGES}
        interval = {
            "fi": f" (muutoksen 95 %:n väli {lo['fi']}…{hi['fi']})",
            "sv": f" (förändringens 95 %-intervall {lo['sv']} till {hi['sv']})",
            "en": f" (95% interval of the change {lo['en']} to {hi['en']})",
        }
    who = {lang: "" for lang in LANGUAGES}
    if lowest is not None and highest is not None:
        who = {
            "fi": f" Historiassa heikoin: {lowest['fi']}, vahvin: {highest['fi']}.",
            "sv": f" Lägst i historien: {lowest['sv']}; högst: {highest['sv']}.",
            "en": f" Lowest in history: {lowest['en']}; highest: {highest['en']}.",
        }
    units: dict[str, Unit] = {"fi": "short", "sv": "long", "en": "long"}
    return {
        lang: (
            f"{label[lang]}: {verb[lang]}, {format_points(abs(gap_hist), lang)} → "
            f"{format_points(abs(gap_rec), lang, unit=units[lang])}{interval[lang]}.{who[lang]}"
        )
        for lang in LANGUAGES
    }
