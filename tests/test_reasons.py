"""Why a service is not offered, in plain words: the condition that failed, never rule code."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model.catalogue import Catalogue, load_catalogue
from model.features import feature_catalogue
from model.reasons import ineligibility_reason
from model.rules.rule import parse_rule
from model.rules.unmet import Alternatives, Unmet, clause_tree, unmet_conditions
from model.vocab import LANGUAGES

CATALOGUE = load_catalogue()
KINDS = {f.name: f.kind for f in feature_catalogue(CATALOGUE.service_codes)}


def names(language: str) -> dict[str, str]:
    return {code: CATALOGUE.get(code).name[language] for code in CATALOGUE.actions}


def reason(code: str, features: dict[str, Any], language: str) -> str:
    service = CATALOGUE.get(code)
    lacks = unmet_conditions(clause_tree(service.eligibility), features)
    return ineligibility_reason(lacks, language, features, service_names=names(language))


def client(**changes: Any) -> dict[str, Any]:
    features: dict[str, Any] = {name: 0 for name in KINDS}
    features.update(
        completed_initial_assessment=1,
        completed_integration_plan=1,
        finnish_level=2.0,
        education_level="secondary",
        literacy_needs=False,
        health_limitation=False,
        prior_work_years=1.0,
    )
    features.update(changes)
    return features


def test_the_reason_names_the_failing_condition_and_the_clients_value() -> None:
    features = client()
    assert reason("higher_education_bridging", features, "fi") == (
        "Suomen kielen taso vähintään B1 — asiakkaalla A2"
    )
    assert reason("higher_education_bridging", features, "sv") == (
        "Kunskaper i finska minst B1 — kunden har A2"
    )
    assert reason("higher_education_bridging", features, "en") == (
        "Finnish level at least B1 — the client has A2"
    )


def test_counts_of_completed_services_read_as_first_or_only_once() -> None:
    assert reason("integration_plan", client(), "fi") == (
        "Kotoutumissuunnitelma vain kerran — asiakas on jo suorittanut sen"
    )
    assert reason("work_trial", client(completed_integration_plan=0), "en") == (
        "Integration plan completed first — the client has not completed it"
    )


def test_categories_and_missing_values_are_in_words() -> None:
    assert reason("degree_recognition", client(), "fi") == (
        "Koulutustaso jokin näistä: alempi korkeakoulututkinto, ylempi korkeakoulututkinto"
        " — asiakkaalla toinen aste"
    )
    assert reason("rehabilitation_support", client(health_limitation=None), "sv") == (
        "Hälsobegränsning: ja — uppgiften saknas"
    )


def test_alternatives_are_named_when_none_of_them_holds() -> None:
    text = reason("job_search_coaching", client(finnish_level=0.0, prior_work_years=0.5), "en")
    assert text == (
        "Any one of these: Finnish level at least A1 — the client has A0 or "
        "Prior work experience (years) at least 2 — the client has 0.5"
    )


def test_not_is_read_as_the_opposite_condition() -> None:
    kinds = {"finnish_level": "numeric", "literacy_needs": "boolean"}
    rule = parse_rule("not (finnish_level >= B1 or literacy_needs)", kinds, service="x")
    lacks = unmet_conditions(clause_tree(rule), {"finnish_level": 4.0, "literacy_needs": True})
    assert [(u.clause.feature, u.clause.operator, u.clause.values) for u in lacks] == [
        ("finnish_level", "<", (3.0,)),
        ("literacy_needs", "==", (False,)),
    ]
    text = ineligibility_reason(lacks, "fi", {"finnish_level": 4.0, "literacy_needs": True})
    assert text == (
        "Suomen kielen taso alle B1 — asiakkaalla B2; "
        "Luku- ja kirjoitustaidon tarve: ei — asiakkaalla: kyllä"
    )


def test_the_catalogues_own_words_come_first() -> None:
    own = {"fi": "Vain työkykyisille", "sv": "Bara för arbetsföra", "en": "Only able to work"}
    lacks = unmet_conditions(clause_tree(CATALOGUE.get("work_trial").eligibility), client())
    for language in LANGUAGES:
        assert ineligibility_reason(lacks, language, {}, catalogue_text=own) == own[language]


_VALUES = {
    "numeric": st.none() | st.sampled_from([0, 1, 2, 0.5, 3.0, 6.0]),
    "boolean": st.none() | st.booleans(),
    "categorical": st.sampled_from(["secondary", "bachelor", "unknown", "", "primary"]),
}


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_a_client_lacks_nothing_exactly_when_the_rule_admits_it(data: st.DataObject) -> None:
    """The reasons agree with the rule itself on every service, missing values included."""
    catalogue: Catalogue = CATALOGUE
    for service in catalogue.services:
        rule = service.eligibility
        features = {name: data.draw(_VALUES[KINDS[name]], label=name) for name in rule.features}
        columns = {
            name: np.asarray([v], dtype=object if v is None or isinstance(v, str) else None)
            for name, v in features.items()
        }
        admitted = bool(rule.evaluate(columns, 1)[0])
        lacks = unmet_conditions(clause_tree(rule), features)
        assert admitted == (not lacks), (service.code, features, lacks)
        for language in LANGUAGES:
            text = ineligibility_reason(lacks, language, features, service_names=names(language))
            assert admitted or text
            for code_word in (">=", "<=", "==", " and ", "completed_", "_level"):
                assert code_word not in text, (service.code, language, text)


@pytest.mark.parametrize(
    "source",
    ["true", "false", "not false", "education_level == unknown", "education_level != unknown"],
)
def test_constants_and_unknown_have_words(source: str) -> None:
    rule = parse_rule(source, KINDS, service="x")
    lacks = unmet_conditions(clause_tree(rule), {"education_level": "secondary"})
    for item in lacks:
        assert isinstance(item, Unmet | Alternatives)
        assert ineligibility_reason(lacks, "fi", {"education_level": "secondary"})
