"""The words for category values, in Finnish, Swedish and English: one list for every text.

The explanations, the fairness report's groups and the services report's
groups all name the same values (an education level, a residence basis, a
region); they take their words from here so that a value reads the same in
each.
"""

from __future__ import annotations

from typing import Final

from model.vocab import UNKNOWN

# Category values in the caseworker's language (codes stay as they are when
# a value has no entry here, e.g. ISO language codes).
VALUE_LABELS: Final[dict[str, dict[str, dict[str, str]]]] = {
    "residence_basis": {
        "work": {"fi": "työ", "sv": "arbete", "en": "work"},
        "family": {"fi": "perhe", "sv": "familj", "en": "family"},
        "humanitarian": {"fi": "humanitaarinen", "sv": "humanitär", "en": "humanitarian"},
        "study": {"fi": "opiskelu", "sv": "studier", "en": "study"},
        "eu": {"fi": "EU-rekisteröinti", "sv": "EU-registrering", "en": "EU registration"},
        "temporary_protection": {
            "fi": "tilapäinen suojelu",
            "sv": "tillfälligt skydd",
            "en": "temporary protection",
        },
        "other": {"fi": "muu", "sv": "annan", "en": "other"},
    },
    "education_level": {
        "none": {"fi": "ei koulutusta", "sv": "ingen utbildning", "en": "no education"},
        "primary": {"fi": "perusaste", "sv": "grundnivå", "en": "primary"},
        "secondary": {"fi": "toinen aste", "sv": "andra stadiet", "en": "secondary"},
        "vocational": {"fi": "ammatillinen", "sv": "yrkesutbildning", "en": "vocational"},
        "bachelor": {
            "fi": "alempi korkeakoulututkinto",
            "sv": "lägre högskoleexamen",
            "en": "bachelor's degree",
        },
        "master_or_higher": {
            "fi": "ylempi korkeakoulututkinto",
            "sv": "högre högskoleexamen",
            "en": "master's or higher",
        },
    },
    "gender": {
        "female": {"fi": "nainen", "sv": "kvinna", "en": "female"},
        "male": {"fi": "mies", "sv": "man", "en": "male"},
        "other": {"fi": "muu", "sv": "annat", "en": "other"},
    },
    "citizenship_region": {
        "eu_efta": {"fi": "EU/ETA", "sv": "EU/EES", "en": "EU/EFTA"},
        "europe_other": {"fi": "muu Eurooppa", "sv": "övriga Europa", "en": "other Europe"},
        "middle_east": {"fi": "Lähi-itä", "sv": "Mellanöstern", "en": "Middle East"},
        "africa": {"fi": "Afrikka", "sv": "Afrika", "en": "Africa"},
        "asia": {"fi": "Aasia", "sv": "Asien", "en": "Asia"},
        "americas": {"fi": "Amerikka", "sv": "Amerika", "en": "Americas"},
    },
    "last_service_status": {
        "completed": {"fi": "suoritettu", "sv": "slutförd", "en": "completed"},
        "interrupted": {"fi": "keskeytynyt", "sv": "avbruten", "en": "interrupted"},
        "ongoing": {"fi": "käynnissä", "sv": "pågående", "en": "ongoing"},
        "none": {
            "fi": "ei aiempaa palvelua",
            "sv": "ingen tidigare tjänst",
            "en": "no service yet",
        },
    },
}

# Words of groups that are not one field's value.
_GENERIC: Final[dict[str, dict[str, str]]] = {
    "other": {"fi": "muu", "sv": "annan", "en": "other"},
    UNKNOWN: {"fi": "ei tiedossa", "sv": "okänd", "en": "unknown"},
    "yes": {"fi": "kyllä", "sv": "ja", "en": "yes"},
    "no": {"fi": "ei", "sv": "nej", "en": "no"},
}


def group_words() -> dict[str, dict[str, str]]:
    """Every category value's words, whatever its field, for reports that group clients."""
    words: dict[str, dict[str, str]] = {}
    for values in VALUE_LABELS.values():
        for value, labels in values.items():
            words.setdefault(value, dict(labels))
    words.update({value: dict(labels) for value, labels in _GENERIC.items()})
    return words
