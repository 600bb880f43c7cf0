"""The service catalogue file and the run configuration file.

Both are edited by people outside the development team (a municipality's
planner, a data scientist), so a bad file must be refused with a message that
names the place and the reason.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from model.catalogue import (
    Catalogue,
    completed_columns,
    load_catalogue,
    parse_catalogue,
)
from model.config import TARGETS, RunConfig, load_config
from model.errors import CatalogueError, ConfigError, UnknownServiceError
from model.features import PROTECTED_BY_DEFAULT, completed_feature, feature_catalogue
from model.rules.columns import CEFR_FEATURES
from model.rules.rule import parse_rule
from model.vocab import LANGUAGES, NO_NEW_SERVICE

DEFAULT_CODES = (
    "initial_assessment",
    "integration_plan",
    "literacy_training",
    "integration_training",
    "advanced_finnish",
    "self_motivated_study",
    "competence_centre",
    "vocational_training",
    "degree_recognition",
    "higher_education_bridging",
    "job_search_coaching",
    "work_trial",
    "pay_subsidy",
    "rehabilitation_support",
)


@pytest.fixture(scope="module")
def default() -> Catalogue:
    return load_catalogue()


# -- the default catalogue ----------------------------------------------------------


def test_default_catalogue_has_the_fourteen_services_and_no_new_service(
    default: Catalogue,
) -> None:
    assert default.source == "default"
    assert default.service_codes == DEFAULT_CODES
    assert default.actions == (*DEFAULT_CODES, NO_NEW_SERVICE)
    assert NO_NEW_SERVICE in default
    assert "work_trial" in default
    assert "review" not in default
    assert completed_columns(default) == tuple(f"completed_{c}" for c in DEFAULT_CODES)


def test_default_catalogue_has_finnish_swedish_and_english_texts(default: Catalogue) -> None:
    for service in (*default, default.no_new_service):
        assert set(service.name) == set(LANGUAGES) == set(service.description)
        for lang in LANGUAGES:
            assert service.name[lang].strip() == service.name[lang] != ""
            assert service.description[lang].strip() == service.description[lang] != ""
            assert service.localised_name(lang) == service.name[lang]
    # The established Finnish and Swedish terms of integration and TE services.
    names = {s.code: (s.name["fi"], s.name["sv"]) for s in default}
    assert names["initial_assessment"] == ("Alkukartoitus", "Inledande kartläggning")
    assert names["integration_training"] == ("Kotoutumiskoulutus", "Integrationsutbildning")
    assert names["vocational_training"] == ("Työvoimakoulutus", "Arbetskraftsutbildning")
    assert names["work_trial"] == ("Työkokeilu", "Arbetsprövning")
    assert names["pay_subsidy"] == ("Palkkatuki", "Lönesubvention")


def test_default_services_have_a_duration_and_no_new_service_is_always_eligible(
    default: Catalogue,
) -> None:
    assert all(s.typical_duration_days and s.typical_duration_days > 0 for s in default)
    assert default.get(NO_NEW_SERVICE).eligibility.features == frozenset()
    assert default.get("pay_subsidy").monthly_capacity == 60


def _client_columns(default: Catalogue, rows: list[dict[str, object]]) -> dict:
    """Feature columns for hand-made clients: every feature, missing unless given."""
    columns: dict[str, np.ndarray] = {}
    for feature in feature_catalogue(default.service_codes):
        values = [
            row.get(feature.name, 0.0 if "completed_" in feature.name else None) for row in rows
        ]
        if feature.kind == "categorical":
            columns[feature.name] = np.array(values, dtype=object)
        else:
            columns[feature.name] = np.array(
                [np.nan if v is None else v for v in values], dtype=float
            )
    return columns


def test_default_eligibility_matches_a_hand_computation(default: Catalogue) -> None:
    clients = [
        # A: new, illiterate, no Finnish
        {
            "finnish_level": 0,
            "literacy_needs": 1,
            "education_level": "none",
            "prior_work_years": 0,
            "months_unemployed": 1,
            "health_limitation": 0,
        },
        # B: an engineer at B1 who has done the first steps; health unknown
        {
            "finnish_level": 3,
            "literacy_needs": 0,
            "education_level": "master_or_higher",
            "prior_work_years": 8,
            "months_unemployed": 6,
            completed_feature("initial_assessment"): 1,
            completed_feature("integration_plan"): 1,
            completed_feature("integration_training"): 1,
        },
        # C: nothing known apart from no completed services
        {},
        # D: A2, secondary education, health limitation, many services done
        {
            "finnish_level": 2,
            "literacy_needs": 0,
            "education_level": "secondary",
            "prior_work_years": 1,
            "months_unemployed": 3,
            "health_limitation": 1,
            completed_feature("initial_assessment"): 1,
            completed_feature("integration_plan"): 2,
            completed_feature("literacy_training"): 1,
            completed_feature("self_motivated_study"): 1,
            completed_feature("competence_centre"): 1,
            completed_feature("vocational_training"): 1,
        },
    ]
    # Worked out from the rules in catalogue.toml, service by service. A and C
    # have no initial assessment or plan yet, so only the assessment is open.
    expected = {
        #                           A  B  C  D
        "initial_assessment":        [1, 0, 1, 0],
        "integration_plan":          [0, 0, 0, 0],
        "literacy_training":         [0, 0, 0, 0],
        "integration_training":      [0, 0, 0, 1],
        "advanced_finnish":          [0, 1, 0, 1],
        "self_motivated_study":      [0, 1, 0, 0],
        "competence_centre":         [0, 1, 0, 0],
        "vocational_training":       [0, 1, 0, 0],
        "degree_recognition":        [0, 1, 0, 0],
        "higher_education_bridging": [0, 1, 0, 0],
        "job_search_coaching":       [0, 1, 0, 1],
        "work_trial":                [0, 1, 0, 1],
        "pay_subsidy":               [0, 1, 0, 1],
        "rehabilitation_support":    [0, 0, 0, 1],
        NO_NEW_SERVICE:              [1, 1, 1, 1],
    }  # fmt: skip
    matrix = default.eligibility(_client_columns(default, clients), len(clients))
    assert matrix.shape == (4, 15)
    assert matrix.dtype == bool
    got = {action: matrix[:, j].astype(int).tolist() for j, action in enumerate(default.actions)}
    assert got == expected


def test_eligibility_of_no_rows(default: Catalogue) -> None:
    assert default.eligibility({}, 0).shape == (0, len(default.actions))


def test_get(default: Catalogue) -> None:
    assert default.get("work_trial").code == "work_trial"
    with pytest.raises(UnknownServiceError, match="unknown service 'sauna'") as caught:
        default.get("sauna")
    assert isinstance(caught.value, KeyError)


def test_a_service_may_give_its_reason_in_words_and_its_expected_wait() -> None:
    text = _one_service(
        extra='eligibility_text.fi = "Vain työkykyisille"\n'
        'eligibility_text.sv = "Bara för arbetsföra"\n'
        'eligibility_text.en = "Only for clients able to work"\n'
        "expected_wait_days = 0"
    )
    service = parse_catalogue(text).get("work_trial")
    assert service.eligibility_text == {
        "fi": "Vain työkykyisille",
        "sv": "Bara för arbetsföra",
        "en": "Only for clients able to work",
    }
    assert service.expected_wait_days == 0
    assert parse_catalogue(_one_service()).get("work_trial").eligibility_text is None
    with pytest.raises(CatalogueError, match=r"'eligibility_text' lacks the Swedish"):
        parse_catalogue(_one_service(extra='eligibility_text.fi = "a"\neligibility_text.en = "b"'))
    with pytest.raises(CatalogueError, match="'expected_wait_days' must be a whole number of 0"):
        parse_catalogue(_one_service(extra="expected_wait_days = -1"))


# -- a replacement catalogue (`--catalogue FILE`) ------------------------------------

CUSTOM = """\
version = 1

[no_new_service]
name.fi = "Jatketaan"
name.sv = "Vi fortsätter"
name.en = "Carry on"
description.fi = "Ei muutoksia."
description.sv = "Inga ändringar."
description.en = "No changes."

[[service]]
code = "sauna_course"
name.fi = "Saunakurssi"
name.sv = "Bastukurs"
name.en = "Sauna course"
description.fi = "Opitaan saunomaan."
description.sv = "Man lär sig basta."
description.en = "Learning to take a sauna."
eligibility = \"\"\"
    A1 <= finnish_level <= B2       # some Finnish
    and completed_sauna_course == 0 # only once
\"\"\"
typical_duration_days = 5

[[service]]
code = "mentoring"
name.fi = "Mentorointi"
name.sv = "Mentorskap"
name.en = "Mentoring"
description.fi = "Mentori työelämästä."
description.sv = "En mentor från arbetslivet."
description.en = "A mentor from working life."
monthly_capacity = 10
"""


def test_a_replacement_catalogue_file_is_loaded(tmp_path: Path) -> None:
    path = tmp_path / "espoo-2025.toml"
    path.write_text(CUSTOM, encoding="utf-8")
    catalogue = load_catalogue(path)
    assert catalogue.source == "espoo-2025.toml"
    assert catalogue.text == CUSTOM
    assert catalogue.actions == ("sauna_course", "mentoring", NO_NEW_SERVICE)
    sauna, mentoring = catalogue
    assert sauna.name["sv"] == "Bastukurs"
    assert sauna.typical_duration_days == 5 and sauna.monthly_capacity is None
    assert sauna.eligibility.features == {"finnish_level", "completed_sauna_course"}
    assert mentoring.eligibility.source == ""  # no rule: everyone
    assert mentoring.monthly_capacity == 10 and mentoring.typical_duration_days is None
    assert catalogue.no_new_service.name["en"] == "Carry on"
    columns = {
        "finnish_level": np.array([0.0, 1.0, 4.0, 5.0, np.nan]),
        "completed_sauna_course": np.array([0.0, 0.0, 0.0, 0.0, 0.0]),
    }
    assert catalogue.eligibility(columns, 5).astype(int).tolist() == [
        [0, 1, 1],
        [1, 1, 1],
        [1, 1, 1],
        [0, 1, 1],
        [0, 1, 1],
    ]


def test_no_new_service_texts_default_when_left_out() -> None:
    text = CUSTOM.split("[[service]]", 1)[1]
    catalogue = parse_catalogue("[[service]]" + text)
    assert catalogue.no_new_service.name == {
        "fi": "Ei uutta palvelua",
        "sv": "Ingen ny tjänst",
        "en": "No new service",
    }
    assert all(catalogue.no_new_service.description.values())


def test_extra_features_from_the_run_configuration_can_be_used_in_rules() -> None:
    text = _one_service(eligibility="driving_licence and commute_minutes <= 45")
    with pytest.raises(CatalogueError, match="unknown feature 'driving_licence'"):
        parse_catalogue(text)
    catalogue = parse_catalogue(
        text, extras={"driving_licence": "boolean", "commute_minutes": "numeric"}
    )
    assert catalogue.extras == {"driving_licence": "boolean", "commute_minutes": "numeric"}
    columns = {
        "driving_licence": np.array([1.0, 1.0, 0.0]),
        "commute_minutes": np.array([30.0, 60.0, 10.0]),
    }
    assert catalogue.eligibility(columns, 3)[:, 0].tolist() == [True, False, False]


def test_an_extra_feature_named_like_a_built_in_one_is_refused() -> None:
    with pytest.raises(CatalogueError, match="'years_since_arrival' has the same name"):
        parse_catalogue(_one_service(), extras={"years_since_arrival": "numeric"})


def test_an_unreadable_catalogue_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="cannot read catalogue"):
        load_catalogue(tmp_path / "missing.toml")
    latin1 = tmp_path / "latin1.toml"
    latin1.write_bytes(_one_service(name_fi="Työkokeilu").encode("latin-1"))
    with pytest.raises(CatalogueError, match=r"latin1\.toml: the catalogue is not UTF-8"):
        load_catalogue(latin1)


# -- bad catalogues -----------------------------------------------------------------


def _one_service(
    *,
    code: str = "work_trial",
    name_fi: str = "Työkokeilu",
    eligibility: str = "finnish_level >= A1",
    extra: str = "",
) -> str:
    return f"""\
[[service]]
code = "{code}"
name.fi = "{name_fi}"
name.sv = "Arbetsprövning"
name.en = "Work trial"
description.fi = "Kokeillaan työtä."
description.sv = "Man prövar på arbete."
description.en = "Trying out work."
eligibility = '{eligibility}'
{extra}
"""


def _refused(text: str) -> str:
    with pytest.raises(CatalogueError) as caught:
        parse_catalogue(text, source="mine.toml")
    message = str(caught.value)
    assert message.startswith("mine.toml: ")
    return message


@pytest.mark.parametrize(
    ("eligibility", "reason"),
    [
        ("finnish_level >=", "not a valid rule"),
        ("finish_level >= A2", "unknown feature 'finish_level' (did you mean 'finnish_level'?)"),
        ("finnish_level >= A7", "'A7' is not a CEFR level"),
        ("len(mother_tongue) > 2", "calling a function is not allowed"),
        ("x.__class__", "attribute access"),
        ("mother_tongue[0] == a", "indexing"),
        ("(lambda: True)()", "not allowed"),
        ("lambda: True", "lambda is not allowed"),
        ("education_level < bachelor", "'education_level' is a category"),
        ("age >= young", "'age' is a number; 'young' is not"),
    ],
)
def test_a_bad_rule_is_refused_at_load_naming_the_service(eligibility: str, reason: str) -> None:
    message = _refused(_one_service(eligibility=eligibility))
    assert "service 'work_trial': eligibility rule" in message
    assert reason in message


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (_one_service() + _one_service(), "service 'work_trial' appears twice"),
        (
            _one_service().replace('name.sv = "Arbetsprövning"\n', ""),
            "service 'work_trial': 'name' lacks the Swedish (name.sv) text",
        ),
        (
            _one_service().replace('name.sv = "Arbetsprövning"', 'name.sv = "  "'),
            "lacks the Swedish (name.sv) text",
        ),
        (
            _one_service().replace('description.fi = "Kokeillaan työtä."\n', ""),
            "'description' lacks the Finnish (description.fi) text",
        ),
        (
            _one_service().replace('name.sv = "Arbetsprövning"', 'name.se = "Arbetsprövning"'),
            "'name' has text(s) in ['se']",
        ),
        (
            _one_service()
            .replace('name.fi = "Työkokeilu"', 'name = "Työkokeilu"')
            .replace('name.sv = "Arbetsprövning"\nname.en = "Work trial"\n', ""),
            "'name' needs Finnish, Swedish and English texts",
        ),
        (_one_service(code="review"), "service #1: the code 'review' is reserved"),
        (_one_service(code="no_new_service"), "the code 'no_new_service' is reserved"),
        (_one_service(code="none"), "the code 'none' is reserved"),
        (_one_service(code="Work_Trial"), "'code' must be lower-case letters"),
        (_one_service(code="2nd_trial"), "'code' must be lower-case"),
        (_one_service(code="work-trial"), "'code' must be lower-case"),
        (_one_service(code="työkokeilu"), "'code' must be lower-case"),
        (_one_service(code="if"), "'code' must be lower-case"),
        (_one_service().replace('code = "work_trial"\n', ""), "service #1: 'code'"),
        (
            _one_service(extra="eligibilty = 'age > 18'"),
            "service 'work_trial': unknown field(s) ['eligibilty']; allowed: code,",
        ),
        (
            _one_service(extra="typical_duration_days = 0"),
            "'typical_duration_days' must be a positive whole number",
        ),
        (
            _one_service(extra="typical_duration_days = -30"),
            "'typical_duration_days' must be a positive whole number",
        ),
        (
            _one_service(extra="typical_duration_days = 30.5"),
            "'typical_duration_days' must be a positive whole number",
        ),
        (
            _one_service(extra="typical_duration_days = true"),
            "'typical_duration_days' must be a positive whole number",
        ),
        (
            _one_service(extra="monthly_capacity = 0"),
            "'monthly_capacity' must be a positive whole number",
        ),
        (
            _one_service().replace("eligibility = 'finnish_level >= A1'", "eligibility = 3"),
            "'eligibility' must be a string",
        ),
        ("", "no [[service]] entries"),
        ("version = 1\n", "no [[service]] entries"),
        ("service = 3\n", "no [[service]] entries"),
        ("service = [1, 2]\n", "service #1 is not a [[service]] table"),
        ("[[service]\ncode = 'x'\n", "not valid TOML"),
        ("version = 2\n" + _one_service(), "catalogue version 2 is not supported"),
        ("[[services]]\ncode = 'x'\n" + _one_service(), "unknown top-level key(s) ['services']"),
        (
            _one_service() + "[no_new_service]\neligibility = 'age > 3'\n",
            "takes no eligibility rule",
        ),
        ("no_new_service = 'x'\n" + _one_service(), "[no_new_service] must be a table"),
        (
            _one_service() + "[no_new_service]\nname.fi = 'Ei uutta'\n",
            "service 'no_new_service': 'name' lacks the Swedish (name.sv) and English (name.en) texts",
        ),
    ],
)
def test_a_bad_catalogue_is_refused_with_the_reason(text: str, reason: str) -> None:
    assert reason in _refused(text)


# -- the run configuration (model/config.py) ---------------------------------------------


def test_configuration_defaults() -> None:
    config = RunConfig()
    assert config.target == "employment_or_education"
    assert config.target_statuses == ("employed", "education")
    assert config.horizon_days == 365
    assert config.review_window_days == 30
    assert config.extract_date is None
    assert config.extra_features == {}
    assert config.protected_attributes == PROTECTED_BY_DEFAULT
    assert config.min_cell_size == 5
    assert config.holdout_fraction == 0.2
    assert config.seed == 0
    assert load_config(None) == config


def test_every_named_target_has_statuses() -> None:
    for target, statuses in TARGETS.items():
        assert RunConfig(target=target).target_statuses == statuses


def test_an_empty_configuration_file_means_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "run.toml"
    path.write_text("", encoding="utf-8")
    assert load_config(path) == RunConfig()


def test_a_configuration_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "run.toml"
    path.write_text(
        'target = "employment"\nhorizon_days = 730\nextract_date = 2024-12-31\nseed = 7\n'
        '[extra_features]\ndriving_licence = "boolean"\n',
        encoding="utf-8",
    )
    config = load_config(path)
    assert config.target_statuses == ("employed",)
    assert config.horizon_days == 730
    assert config.extract_date == date(2024, 12, 31)
    assert config.extra_features == {"driving_licence": "boolean"}
    assert config.seed == 7


def test_a_bad_target_is_refused() -> None:
    with pytest.raises(ValidationError, match="unknown target 'happiness'; choose one of"):
        RunConfig(target="happiness")


@pytest.mark.parametrize("clash", ["finnish_level", "health_limitation", "client_id"])
def test_an_extra_feature_clashing_with_a_contract_column_is_refused(clash: str) -> None:
    with pytest.raises(
        ValidationError, match=f"extra feature.*'{clash}'.*already contract columns"
    ):
        RunConfig(extra_features={clash: "numeric"})


def test_an_extra_feature_must_be_an_identifier_of_a_known_kind() -> None:
    with pytest.raises(ValidationError, match="not an identifier"):
        RunConfig(extra_features={"driving licence": "boolean"})
    with pytest.raises(ValidationError):
        RunConfig(extra_features={"driving_licence": "yes/no"})  # type: ignore[dict-item]


def test_the_configuration_is_frozen() -> None:
    with pytest.raises(ValidationError):
        RunConfig().seed = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("target = \n", "run.toml: not valid TOML"),
        ("[extra_features\n", "run.toml: not valid TOML"),
        ('target = "happiness"\n', "run.toml: target: Value error, unknown target 'happiness'"),
        ("horizon_days = 10\n", "run.toml: horizon_days: "),
        ("holdout_fraction = 1.5\n", "run.toml: holdout_fraction: "),
        ("min_cell_size = 1\n", "run.toml: min_cell_size: "),
        ("horizon = 365\n", "run.toml: horizon: Extra inputs are not permitted"),
        ('[extra_features]\nfinnish_level = "numeric"\n', "already contract columns"),
    ],
)
def test_a_bad_configuration_file_is_a_config_error(tmp_path: Path, text: str, reason: str) -> None:
    path = tmp_path / "run.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert reason in str(caught.value)


def test_a_missing_configuration_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"cannot read configuration nowhere\.toml"):
        load_config(tmp_path / "nowhere.toml")


# -- docs/catalogue.md stays true ----------------------------------------------------

DOC = Path(__file__).resolve().parents[2] / "docs" / "catalogue.md"
_PLAIN_KIND = {"numeric": "number", "categorical": "category", "boolean": "yes/no"}


def _doc_section(title: str) -> str:
    text = DOC.read_text("utf-8")
    start = text.index(title)
    end = text.find("\n#", start + len(title))
    return text[start : end if end > 0 else None]


def test_the_feature_table_in_the_docs_matches_the_code(default: Catalogue) -> None:
    table = _doc_section("## 6. The information a rule can use")
    documented = re.findall(r"^\| `(\w+)` \|", table, flags=re.MULTILINE)
    features = feature_catalogue(default.service_codes)
    assert documented == [f.name for f in features]
    for f in features:
        kind = "CEFR level" if f.name in CEFR_FEATURES else _PLAIN_KIND[f.kind]
        assert f"| `{f.name}` | {kind} | {f.description} |" in table


def test_every_rule_shown_in_the_docs_is_accepted(default: Catalogue) -> None:
    text = DOC.read_text("utf-8")
    rules = re.findall(r'^eligibility = "(?!"")(.*?)"\s*(?:#.*)?$', text, flags=re.MULTILINE)
    rules += re.findall(r'^eligibility = """(.*?)"""', text, flags=re.MULTILINE | re.DOTALL)
    examples = _doc_section("### 5.9 More examples")
    rules += re.findall(r"^\| [^|]+ \| `([^`]+)` \|$", examples, flags=re.MULTILINE)
    signs = _doc_section("### 5.1 Comparing")
    rules += re.findall(r"^\| `[^`]+` \| [^|]+ \| `([^`]+)` \|$", signs, flags=re.MULTILINE)
    assert len(rules) > 35
    kinds = {f.name: f.kind for f in feature_catalogue(default.service_codes)}
    for source in rules:
        parse_rule(source, kinds, service="docs")
    kinds["driving_licence"] = "boolean"
    parse_rule("driving_licence and finnish_level >= A2", kinds, service="docs")


def test_the_error_messages_shown_in_the_docs_are_the_real_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = DOC.read_text("utf-8")
    prefix = "espoo.toml: service 'work_trial': "
    for eligibility, extra in [
        ("finish_level >= A1", ""),
        ("finnish_level >= A7", ""),
        ("education_level >= bachelor", ""),
        ("age >= adult", ""),
        ("finnish_level >= A1 and", ""),
        ("age = 30", ""),
        ("len(mother_tongue) > 3", ""),
        ("finnish_level >= A1", "typical_duration_days = 0"),
        ("finnish_level >= A1", "capacity = 3"),
    ]:
        with pytest.raises(CatalogueError) as caught:
            parse_catalogue(_one_service(eligibility=eligibility, extra=extra), source="espoo.toml")
        message = str(caught.value)
        assert message.startswith(prefix)
        assert f"`{message.removeprefix(prefix)}`" in text
    no_sv = _one_service().replace('name.sv = "Arbetsprövning"\n', "")
    three = _one_service(code="a") + _one_service(code="b")
    file_level = [
        _one_service() + _one_service(),
        three + _one_service(code="Work trial"),
        three + _one_service(code="review"),
        _one_service().replace('name.fi = "Työkokeilu"', 'name.fi = "Työkokeilu'),
    ]
    messages = []
    for bad in [no_sv, *file_level]:
        with pytest.raises(CatalogueError) as caught:
            parse_catalogue(bad, source="espoo.toml")
        messages.append(str(caught.value))
    assert f"`{messages[0].removeprefix(prefix)}`" in text
    monkeypatch.chdir(tmp_path)
    Path("espoo.toml").write_bytes("name = 'Työ'".encode("latin-1"))
    for path in ("espoo.toml", "missing.toml"):
        with pytest.raises(CatalogueError) as caught:
            load_catalogue(path)
        messages.append(str(caught.value).replace("missing.toml", "espoo.toml"))
    for message in messages[1:]:
        assert f"`{message}`" in text


# -- docs/configuration.md stays true --------------------------------------------------

CONFIG_DOC = DOC.with_name("configuration.md")


def test_every_configuration_field_is_documented_with_its_default() -> None:
    text = CONFIG_DOC.read_text("utf-8")
    fields = text[text.index("## Fields") : text.index("### Named targets")]
    rows = dict(re.findall(r"^\| `(\w+)` \| ([^|]+) \|", fields, flags=re.MULTILINE))
    defaults = RunConfig().model_dump()
    for name, value in defaults.items():
        assert name in rows, name
        shown = rows[name].strip()
        if isinstance(value, str):
            assert shown == f'`"{value}"`'
        elif isinstance(value, bool):  # TOML spells booleans in lower case
            assert shown == f"`{str(value).lower()}`"
        elif isinstance(value, int | float):
            assert shown == f"`{value}`"
        elif isinstance(value, tuple):
            assert shown == "`[" + ", ".join(f'"{v}"' for v in value) + "]`"
    for target, statuses in TARGETS.items():
        assert f"`{target}`" in text
        assert ", ".join(f"`{s}`" for s in statuses) in text


def test_the_configuration_examples_and_errors_in_the_docs_are_real(tmp_path: Path) -> None:
    text = CONFIG_DOC.read_text("utf-8")
    example = re.search(r"```toml\n(# run\.toml.*?)```", text, flags=re.DOTALL)
    assert example is not None
    path = tmp_path / "run.toml"
    path.write_text(example.group(1), encoding="utf-8")
    config = load_config(path)
    assert config.target == "employment" and config.horizon_days == 730
    assert config.extra_features == {"driving_licence": "boolean"}
    for bad in [
        'target = "happiness"\n',
        "horizon_days = 10\n",
        "horizon = 365\n",
        '[extra_features]\nfinnish_level = "numeric"\n',
        "target yes\n",
    ]:
        path.write_text(bad, encoding="utf-8")
        with pytest.raises(ConfigError) as caught:
            load_config(path)
        assert f"error: {caught.value}\n" in text
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "nowhere" / "run.toml")
    assert f"error: {caught.value}\n" in text
