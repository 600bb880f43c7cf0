"""The service catalogue: services, their names and eligibility.

The catalogue is a TOML data file that a municipality can edit without
touching code. Loading it checks every field and parses every eligibility
rule; a bad file is refused with the service and the reason.
"""

from __future__ import annotations

import keyword
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from model.errors import CatalogueError, UnknownServiceError
from model.features import NONE_YET, FeatureKind, completed_feature, feature_catalogue
from model.rules.rule import Rule, parse_rule
from model.vocab import LANGUAGES, NO_NEW_SERVICE, REVIEW

DEFAULT_CATALOGUE = "catalogue.toml"
CATALOGUE_VERSION = 1

# Codes that mean something else in the data: the "continue" action, plan
# reviews in the episodes table, and `last_service` before any service.
RESERVED_CODES = frozenset({NO_NEW_SERVICE, REVIEW, NONE_YET})
_CODE = re.compile(r"[a-z][a-z0-9_]*")
_LANGUAGE_NAMES = {"fi": "Finnish", "sv": "Swedish", "en": "English"}


@dataclass(frozen=True, slots=True)
class Service:
    code: str
    name: Mapping[str, str]
    description: Mapping[str, str]
    eligibility: Rule
    typical_duration_days: int | None = None
    monthly_capacity: int | None = None
    # Why a client is not offered the service, in the catalogue's own words;
    # without it Polku writes the reason from the rule (model.reasons).
    eligibility_text: Mapping[str, str] | None = None
    expected_wait_days: int | None = None

    def localised_name(self, language: str) -> str:
        return self.name[language]


@dataclass(frozen=True)
class Catalogue:
    """Services in catalogue order; `no_new_service` is always the last action."""

    services: tuple[Service, ...]
    no_new_service: Service
    source: str = "default"
    extras: Mapping[str, FeatureKind] = field(default_factory=dict)
    text: str = ""

    @property
    def service_codes(self) -> tuple[str, ...]:
        return tuple(s.code for s in self.services)

    @property
    def actions(self) -> tuple[str, ...]:
        """Every candidate action: the services, then `no_new_service`."""
        return (*self.service_codes, NO_NEW_SERVICE)

    def __iter__(self) -> Iterator[Service]:
        return iter(self.services)

    def __contains__(self, code: object) -> bool:
        return code == NO_NEW_SERVICE or any(s.code == code for s in self.services)

    def get(self, code: str) -> Service:
        if code == NO_NEW_SERVICE:
            return self.no_new_service
        for service in self.services:
            if service.code == code:
                return service
        raise UnknownServiceError(
            f"unknown service {code!r}; the catalogue has {', '.join(self.actions)}"
        )

    def eligibility(self, columns: Mapping[str, np.ndarray], n_rows: int) -> np.ndarray:
        """(n_rows, n_actions) boolean matrix; `no_new_service` is always eligible."""
        out = np.ones((n_rows, len(self.actions)), dtype=bool)
        if n_rows == 0:
            return out
        cache: dict[str, Any] = {}
        for j, service in enumerate(self.services):
            out[:, j] = service.eligibility.evaluate(columns, n_rows, cache)
        return out


def load_catalogue(
    path: str | Path | None = None,
    *,
    extras: Mapping[str, FeatureKind] | None = None,
) -> Catalogue:
    """Load and check a catalogue; the packaged default when `path` is None."""
    if path is None:
        text = resources.files("model.data").joinpath(DEFAULT_CATALOGUE).read_text("utf-8")
        source = "default"
    else:
        p = Path(path)
        try:
            text = p.read_text("utf-8")
        except OSError as exc:
            raise CatalogueError(f"cannot read catalogue {str(p)!r}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise CatalogueError(
                f"{p.name}: the catalogue is not UTF-8 text; save it as UTF-8"
            ) from None
        source = p.name
    return parse_catalogue(text, source=source, extras=extras)


def parse_catalogue(
    text: str, *, source: str = "catalogue", extras: Mapping[str, FeatureKind] | None = None
) -> Catalogue:
    """Check a catalogue given as TOML text; `source` names it in error messages."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogueError(f"{source}: not valid TOML: {exc}") from None
    unknown = sorted(set(raw) - _ALLOWED_TOP_KEYS)
    if unknown:
        raise CatalogueError(
            f"{source}: unknown top-level key(s) {unknown}; "
            f"a catalogue has {', '.join(sorted(_ALLOWED_TOP_KEYS))}"
        )
    version = raw.get("version", CATALOGUE_VERSION)
    if version != CATALOGUE_VERSION or isinstance(version, bool):
        raise CatalogueError(
            f"{source}: catalogue version {version!r} is not supported; "
            f"this Polku reads version {CATALOGUE_VERSION}"
        )
    entries = raw.get("service")
    if not isinstance(entries, list) or not entries:
        raise CatalogueError(f"{source}: no [[service]] entries")
    codes: list[str] = []
    for i, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            raise CatalogueError(f"{source}: service #{i} is not a [[service]] table")
        code = entry.get("code")
        if not isinstance(code, str) or not _CODE.fullmatch(code) or keyword.iskeyword(code):
            raise CatalogueError(
                f"{source}: service #{i}: 'code' must be lower-case letters a-z, digits and _, "
                f"starting with a letter (e.g. work_trial), got {code!r}"
            )
        if code in RESERVED_CODES:
            raise CatalogueError(
                f"{source}: service #{i}: the code {code!r} is reserved; choose another code"
            )
        if code in codes:
            raise CatalogueError(f"{source}: service {code!r} appears twice")
        codes.append(code)
    features = feature_catalogue(codes, extras)
    kinds: dict[str, FeatureKind] = {}
    for feature in features:
        if feature.name in kinds:
            raise CatalogueError(
                f"{source}: the extra feature {feature.name!r} has the same name as a "
                "built-in feature; rename it in the run configuration"
            )
        kinds[feature.name] = feature.kind
    services = tuple(_service(entry, kinds, source) for entry in entries)
    return Catalogue(
        services,
        _no_new_service(raw.get(NO_NEW_SERVICE, {}), kinds, source),
        source=source,
        extras=dict(extras or {}),
        text=text,
    )


def _no_new_service(raw: object, kinds: Mapping[str, FeatureKind], source: str) -> Service:
    if not isinstance(raw, dict):
        raise CatalogueError(
            f"{source}: [{NO_NEW_SERVICE}] must be a table with name and description"
        )
    unknown = sorted(set(raw) - {"name", "description"})
    if unknown:
        why = (
            "; it is always a candidate and takes no eligibility rule"
            if "eligibility" in unknown
            else ""
        )
        raise CatalogueError(
            f"{source}: [{NO_NEW_SERVICE}]: unknown field(s) {unknown}{why}; "
            "allowed: name, description"
        )
    return Service(
        code=NO_NEW_SERVICE,
        name=_localised(raw.get("name", _DEFAULT_NNS_NAME), NO_NEW_SERVICE, "name", source),
        description=_localised(
            raw.get("description", _DEFAULT_NNS_DESCRIPTION), NO_NEW_SERVICE, "description", source
        ),
        eligibility=parse_rule("", kinds, service=NO_NEW_SERVICE),
    )


_DEFAULT_NNS_NAME = {
    "fi": "Ei uutta palvelua",
    "sv": "Ingen ny tjänst",
    "en": "No new service",
}
_DEFAULT_NNS_DESCRIPTION = {
    "fi": "Asiakas jatkaa nykyisen suunnitelmansa mukaisesti, eikä uutta palvelua aloiteta.",
    "sv": "Kunden fortsätter enligt sin nuvarande plan och ingen ny tjänst inleds.",
    "en": "The client continues with the current plan; no new service is started.",
}

_ALLOWED_TOP_KEYS = frozenset({"version", "service", NO_NEW_SERVICE})

_ALLOWED_KEYS = {
    "code",
    "name",
    "description",
    "eligibility",
    "typical_duration_days",
    "monthly_capacity",
    "eligibility_text",
    "expected_wait_days",
}


def _service(entry: dict[str, Any], kinds: Mapping[str, FeatureKind], source: str) -> Service:
    code = entry["code"]
    unknown = set(entry) - _ALLOWED_KEYS
    if unknown:
        raise CatalogueError(
            f"{source}: service {code!r}: unknown field(s) {sorted(unknown)}; "
            f"allowed: {', '.join(sorted(_ALLOWED_KEYS))}"
        )
    rule_text = entry.get("eligibility", "")
    if not isinstance(rule_text, str):
        raise CatalogueError(f"{source}: service {code!r}: 'eligibility' must be a string")
    duration = entry.get("typical_duration_days")
    capacity = entry.get("monthly_capacity")
    wait = entry.get("expected_wait_days")
    for key, value in (
        ("typical_duration_days", duration),
        ("monthly_capacity", capacity),
        ("expected_wait_days", wait),
    ):
        least = 0 if key == "expected_wait_days" else 1  # no wait is a known wait
        if value is not None and (
            not isinstance(value, int) or isinstance(value, bool) or value < least
        ):
            whole = "a whole number of 0 or more" if least == 0 else "a positive whole number"
            raise CatalogueError(f"{source}: service {code!r}: {key!r} must be {whole}")
    try:
        rule = parse_rule(rule_text, kinds, service=code)
    except CatalogueError as exc:
        raise CatalogueError(f"{source}: {exc}") from None
    return Service(
        code=code,
        name=_localised(entry.get("name"), code, "name", source),
        description=_localised(entry.get("description"), code, "description", source),
        eligibility=rule,
        typical_duration_days=duration,
        monthly_capacity=capacity,
        eligibility_text=(
            _localised(entry["eligibility_text"], code, "eligibility_text", source)
            if "eligibility_text" in entry
            else None
        ),
        expected_wait_days=wait,
    )


def _localised(value: object, code: str, key: str, source: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise CatalogueError(
            f"{source}: service {code!r}: {key!r} needs Finnish, Swedish and English texts "
            f"({key}.fi, {key}.sv, {key}.en)"
        )
    other = sorted(set(value) - set(LANGUAGES))
    if other:
        raise CatalogueError(
            f"{source}: service {code!r}: {key!r} has text(s) in {other}; "
            f"the languages are {', '.join(LANGUAGES)}"
        )
    missing = [
        lang
        for lang in LANGUAGES
        if not isinstance(value.get(lang), str) or not value[lang].strip()
    ]
    if missing:
        wanted = [f"{_LANGUAGE_NAMES[lang]} ({key}.{lang})" for lang in missing]
        texts = " and ".join(wanted) + (" texts" if len(wanted) > 1 else " text")
        raise CatalogueError(f"{source}: service {code!r}: {key!r} lacks the {texts}")
    return {lang: value[lang].strip() for lang in LANGUAGES}


def completed_columns(catalogue: Catalogue) -> tuple[str, ...]:
    return tuple(completed_feature(code) for code in catalogue.service_codes)
