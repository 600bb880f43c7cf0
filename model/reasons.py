"""Why a client is not offered a service, in words: Finnish, Swedish or English.

The catalogue may say it in its own words (`eligibility_text.fi/sv/en` of a
service). Otherwise the reason is written from the conditions of the rule
that the client does not meet (`model.rules.unmet`), never the whole rule
and never its code: "Suomen kielen taso vähintään B1 — asiakkaalla A2".
Labels and values are those of the explanations (`model.explain`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from model.explain import field_label, format_value
from model.locale_numbers import format_number
from model.rules.columns import CEFR_FEATURES
from model.rules.unmet import Alternatives, Clause, Reason, Unmet
from model.vocab import CEFR_LEVELS, UNKNOWN

_DASH: Final = " — "

# "<condition> — <the client's value>"
_CLIENT_HAS: Final = {"fi": "asiakkaalla {}", "sv": "kunden har {}", "en": "the client has {}"}
_CLIENT_IS: Final = {"fi": "asiakkaalla: {}", "sv": "för kunden: {}", "en": "for the client: {}"}
_NOT_KNOWN: Final = {
    "fi": "tieto puuttuu",
    "sv": "uppgiften saknas",
    "en": "not known for the client",
}
_COMPARISONS: Final = {
    ">=": {"fi": "vähintään {}", "sv": "minst {}", "en": "at least {}"},
    "<=": {"fi": "enintään {}", "sv": "högst {}", "en": "at most {}"},
    ">": {"fi": "yli {}", "sv": "över {}", "en": "more than {}"},
    "<": {"fi": "alle {}", "sv": "under {}", "en": "less than {}"},
    "==": {"fi": "{}", "sv": "{}", "en": "{}"},
    "!=": {"fi": "muu kuin {}", "sv": "annat än {}", "en": "other than {}"},
    "in": {"fi": "jokin näistä: {}", "sv": "något av: {}", "en": "one of: {}"},
    "not in": {"fi": "ei mikään näistä: {}", "sv": "inget av: {}", "en": "none of: {}"},
}
_KNOWN: Final = {
    "missing": {"fi": "{} ei tiedossa", "sv": "{} okänd", "en": "{} not known"},
    "present": {"fi": "{} tiedossa", "sv": "{} känd", "en": "{} known"},
}
_NEVER: Final = {
    "fi": "Palvelu ei ole kenenkään saatavilla",
    "sv": "Tjänsten är inte tillgänglig för någon",
    "en": "The service is not open to anyone",
}
# Counts of completed services, as rules use them: done first, or only once.
_DONE_FIRST: Final = {
    "fi": "{} suoritettu ensin — asiakas ei ole suorittanut sitä",
    "sv": "{} genomförd först — kunden har inte genomfört den",
    "en": "{} completed first — the client has not completed it",
}
_ONLY_ONCE: Final = {
    "fi": "{} vain kerran — asiakas on jo suorittanut sen",
    "sv": "{} bara en gång — kunden har redan genomfört den",
    "en": "{} only once — the client has already completed it",
}
_ANY_OF: Final = {
    "fi": "jokin näistä riittää: {}",
    "sv": "något av detta räcker: {}",
    "en": "any one of these: {}",
}
_OR: Final = {"fi": " tai ", "sv": " eller ", "en": " or "}
_YES_NO: Final = {"fi": ("kyllä", "ei"), "sv": ("ja", "nej"), "en": ("yes", "no")}
_COMPLETED: Final = "completed_"


def ineligibility_reason(
    reasons: Sequence[Reason],
    language: str,
    features: Mapping[str, Any],
    *,
    service_names: Mapping[str, str] | None = None,
    catalogue_text: Mapping[str, str] | None = None,
) -> str:
    """The reason a service is not offered, in `language` (fi, sv or en).

    `reasons` are what the client lacks (`model.rules.unmet.unmet_conditions`),
    `features` the client's decision-point features; `catalogue_text` is the
    service's own `eligibility_text`, used as it is when the catalogue has it.
    """
    if catalogue_text:
        return catalogue_text.get(language) or catalogue_text["en"]
    language = language if language in _YES_NO else "en"
    parts = [_reason(reason, language, features, service_names or {}) for reason in reasons]
    text = "; ".join(parts)
    return text[:1].upper() + text[1:]


def _reason(
    reason: Reason, language: str, features: Mapping[str, Any], names: Mapping[str, str]
) -> str:
    if isinstance(reason, Alternatives):
        options = [
            ", ".join(_reason(part, language, features, names) for part in option)
            for option in reason.options
        ]
        return _ANY_OF[language].format(_OR[language].join(options))
    return _unmet(reason, language, features, names)


def _unmet(
    reason: Unmet, language: str, features: Mapping[str, Any], names: Mapping[str, str]
) -> str:
    clause = reason.clause
    if clause.operator in ("never", "always"):
        return _NEVER[language]
    name = clause.feature
    label = field_label(name, language, names)
    if name.startswith(_COMPLETED) and reason.known:
        service = names.get(name.removeprefix(_COMPLETED), label)
        count = _count(clause)
        if count == "first":
            return _DONE_FIRST[language].format(service)
        if count == "once":
            return _ONLY_ONCE[language].format(service)
    client = _client_value(reason, language, features, names)
    if clause.operator in _KNOWN:
        return f"{_KNOWN[clause.operator][language].format(label)}{_DASH}{client}"
    if clause.kind == "boolean":
        yes, no = _YES_NO[language]
        wanted = yes if clause.values[0] else no
        return f"{label}: {wanted}{_DASH}{client}"
    values = ", ".join(_rule_value(name, value, language, names) for value in clause.values)
    condition = _COMPARISONS[clause.operator][language].format(values)
    separator = ": " if clause.operator == "==" else " "
    return f"{label}{separator}{condition}{_DASH}{client}"


def _count(clause: Clause) -> str | None:
    """'first' for a count that must be at least one, 'once' for one that must be zero."""
    if len(clause.values) != 1 or not isinstance(clause.values[0], float | int):
        return None
    rule = (clause.operator, float(clause.values[0]))
    if rule in ((">=", 1.0), (">", 0.0)):
        return "first"
    if rule in (("==", 0.0), ("<", 1.0), ("<=", 0.0)):
        return "once"
    return None


def _client_value(
    reason: Unmet, language: str, features: Mapping[str, Any], names: Mapping[str, str]
) -> str:
    if not reason.known:
        return _NOT_KNOWN[language]
    clause = reason.clause
    value = features.get(clause.feature)
    shown = format_value(clause.feature, value, language, names)
    if clause.kind == "boolean":
        return _CLIENT_IS[language].format(shown)
    return _CLIENT_HAS[language].format(shown)


def _rule_value(name: str, value: Any, language: str, names: Mapping[str, str]) -> str:
    """A value as the rule states it: a CEFR level, a plain number, a category in words."""
    if value == UNKNOWN:
        return format_value(name, None, language)
    if name in CEFR_FEATURES and isinstance(value, float | int) and not isinstance(value, bool):
        rank = round(float(value))
        return CEFR_LEVELS[rank] if 0 <= rank < len(CEFR_LEVELS) else str(value)
    if isinstance(value, float):
        return format_number(value, language, 2, trim=True)
    return format_value(name, value, language, names)
