"""The words of the fairness report, in Finnish and English.

The report is read by evaluators in both languages, so every name it shows is
a ``{"fi": ..., "en": ...}`` pair: the attributes (`ATTRIBUTE_LABELS`), their
groups (`group_label`) and the one-sentence headline per attribute
(`headline_text`), which says whether following Polku would narrow or widen
the gap between groups. Figures stay numbers in the JSON; only the headline
writes them out, as percentage points (`model.locale_numbers.format_points`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Final

from model.fairness.groups import CROSS, INTERSECTION, OTHER
from model.locale_numbers import format_points
from model.vocab import UNKNOWN

ATTRIBUTE_LABELS: Final[dict[str, dict[str, str]]] = {
    "gender": {"fi": "Sukupuoli", "en": "Gender"},
    "age_band": {"fi": "Ikäryhmä", "en": "Age band"},
    "mother_tongue": {"fi": "Äidinkieli", "en": "Mother tongue"},
    "citizenship_region": {"fi": "Kansalaisuuden alue", "en": "Region of citizenship"},
    "residence_basis": {"fi": "Oleskeluperuste", "en": "Basis of residence"},
    "education_level": {"fi": "Koulutustaso", "en": "Education"},
    "health_limitation": {"fi": "Terveydellinen rajoite", "en": "Health limitation"},
    INTERSECTION: {"fi": "Sukupuoli × oleskeluperuste", "en": "Gender × basis of residence"},
}

GROUP_LABELS: Final[dict[str, dict[str, str]]] = {
    "female": {"fi": "nainen", "en": "female"},
    "male": {"fi": "mies", "en": "male"},
    "other": {"fi": "muu", "en": "other"},
    UNKNOWN: {"fi": "ei tiedossa", "en": "unknown"},
    "work": {"fi": "työ", "en": "work"},
    "family": {"fi": "perhe", "en": "family"},
    "humanitarian": {"fi": "humanitaarinen", "en": "humanitarian"},
    "study": {"fi": "opiskelu", "en": "study"},
    "eu": {"fi": "EU-rekisteröinti", "en": "EU registration"},
    "temporary_protection": {"fi": "tilapäinen suojelu", "en": "temporary protection"},
    "none": {"fi": "ei koulutusta", "en": "no schooling"},
    "primary": {"fi": "perusaste", "en": "primary"},
    "secondary": {"fi": "toinen aste", "en": "secondary"},
    "vocational": {"fi": "ammatillinen", "en": "vocational"},
    "bachelor": {"fi": "alempi korkeakoulu", "en": "bachelor's"},
    "master_or_higher": {"fi": "ylempi korkeakoulu tai enemmän", "en": "master's or higher"},
    "yes": {"fi": "kyllä", "en": "yes"},
    "no": {"fi": "ei", "en": "no"},
    "eu_efta": {"fi": "EU/EFTA", "en": "EU/EFTA"},
    "europe_other": {"fi": "muu Eurooppa", "en": "other Europe"},
    "middle_east": {"fi": "Lähi-itä", "en": "Middle East"},
    "africa": {"fi": "Afrikka", "en": "Africa"},
    "asia": {"fi": "Aasia", "en": "Asia"},
    "americas": {"fi": "Amerikka", "en": "the Americas"},
}

# What the headline says for each verdict, in Finnish and English.
_VERDICT_WORDS: Final[dict[str, tuple[str, str]]] = {
    "narrows": ("Polku kaventaisi eroa", "Polku would narrow the gap"),
    "widens": ("Polku leventäisi eroa", "Polku would widen the gap"),
    "no_clear_change": ("ei selvää muutosta", "no clear change"),
}


def group_label(name: str, group: str) -> dict[str, str]:
    """The name of `group` of attribute `name` in Finnish and English.

    Intersection groups join their two labels; a mother tongue is shown as
    its code; a value without a translation is shown as it is.
    """
    if name == INTERSECTION and CROSS in group:
        first, second = group.split(CROSS, 1)
        gender = group_label("gender", first)
        basis = group_label("residence_basis", second)
        return {lang: f"{gender[lang]}{CROSS}{basis[lang]}" for lang in ("fi", "en")}
    if name == "mother_tongue" and group not in (OTHER, UNKNOWN):
        return {"fi": group, "en": group}
    if name == "health_limitation" and group in ("yes", "no"):
        return GROUP_LABELS[group]
    return GROUP_LABELS.get(group, {"fi": group, "en": group})


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
    """The headline sentence of attribute `name` in Finnish and English.

    It names the verdict, the gap between groups under history and under
    Polku, the interval of the change when there is one, and the groups
    lowest and highest in history (`lowest`, `highest`: their labels).
    """
    label = ATTRIBUTE_LABELS[name]
    if verdict == "not_enough_groups" or gap_hist is None or gap_rec is None:
        return {
            "fi": f"{label['fi']}: liian vähän julkaistavia ryhmiä vertailuun.",
            "en": f"{label['en']}: too few publishable groups to compare.",
        }
    verb_fi, verb_en = _VERDICT_WORDS[verdict]
    interval_fi = interval_en = ""
    if low is not None and high is not None and math.isfinite(low) and math.isfinite(high):
        interval_fi = (
            f" (muutoksen 95 %:n väli {format_points(low, 'fi', signed=True)}"
            f"…{format_points(high, 'fi', signed=True)})"
        )
        interval_en = (
            f" (95% interval of the change {format_points(low, 'en', signed=True)}"
            f" to {format_points(high, 'en', signed=True)})"
        )
    who_fi = who_en = ""
    if lowest is not None and highest is not None:
        who_fi = f" Historiassa heikoin: {lowest['fi']}, vahvin: {highest['fi']}."
        who_en = f" Lowest in history: {lowest['en']}; highest: {highest['en']}."
    return {
        "fi": (
            f"{label['fi']}: {verb_fi}, {format_points(abs(gap_hist), 'fi')} → "
            f"{format_points(abs(gap_rec), 'fi', unit='short')}{interval_fi}.{who_fi}"
        ),
        "en": (
            f"{label['en']}: {verb_en}, {format_points(abs(gap_hist), 'en')} → "
            f"{format_points(abs(gap_rec), 'en', unit='long')}{interval_en}.{who_en}"
        ),
    }
