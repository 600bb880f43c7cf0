"""The model card of one model version, as a JSON-ready dict.

Pure: every input is a plain value, dict or list, so the training pipeline
(which has the run's figures) and `polku report` (which reads them back from
the registry) build the same card. `training.reports` renders it as HTML; the
API serves it with `GET /v1/model`.

The card follows "Model Cards for Model Reporting" (Mitchell et al. 2019):
intended use and users, uses out of scope, data, features, evaluation,
fairness, limitations and risks, and the human oversight around it (how to
override a recommendation, how to stop the service). Text is in Finnish and
English (`{"fi": ..., "en": ...}`); figures are numbers. No personal data:
counts, dates, settings and figures only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from model.evaluation.figures import EVALUATION_FIGURES
from model.json_values import json_value
from model.locale_numbers import format_number

CARD_KIND: Final = "polku.model_card"
SCHEMA_VERSION: Final = 1

FIGURE_LABELS: Final[dict[str, dict[str, str]]] = {
    "v_hist": {
        "fi": "Toteutunut käytäntö (V_hist)",
        "sv": "Faktisk praxis (V_hist)",
        "en": "Historical practice (V_hist)",
    },
    "v_rec": {
        "fi": "Suosituksen seuraaminen (V_rec)",
        "sv": "Att följa förslaget (V_rec)",
        "en": "Following rank 1 (V_rec)",
    },
    "v_oracle": {
        "fi": "Paras mahdollinen (V_oracle)",
        "sv": "Bästa möjliga (V_oracle)",
        "en": "Best possible (V_oracle)",
    },
    "capture_ratio": {
        "fi": "Saavutettu osuus parannusvarasta",
        "sv": "Uppnådd andel av förbättringsutrymmet",
        "en": "Capture ratio",
    },
    "dr_value": {
        "fi": "V_rec, kaksoisrobusti arvio",
        "sv": "V_rec, dubbelt robust skattning",
        "en": "V_rec, doubly robust estimate",
    },
    "dr_low": {
        "fi": "… 95 %:n välin alaraja",
        "sv": "… 95 %-intervall, nedre",
        "en": "… 95% interval, low",
    },
    "dr_high": {
        "fi": "… 95 %:n välin yläraja",
        "sv": "… 95 %-intervall, övre",
        "en": "… 95% interval, high",
    },
    "agreement_at_1": {
        "fi": "Sama kuin asiantuntijan valinta (1. sija)",
        "sv": "Samma som handledarens val (plats 1)",
        "en": "Agreement with caseworkers at rank 1",
    },
    "agreement_at_3": {
        "fi": "Asiantuntijan valinta kolmen joukossa",
        "sv": "Handledarens val bland de tre första",
        "en": "Agreement with caseworkers in the top 3",
    },
    "auc": {"fi": "ROC AUC", "sv": "ROC AUC", "en": "ROC AUC"},
    "brier": {"fi": "Brier-pistemäärä", "sv": "Brier-poäng", "en": "Brier score"},
    "ece": {
        "fi": "Kalibrointivirhe (ECE)",
        "sv": "Kalibreringsfel (ECE)",
        "en": "Expected calibration error",
    },
    "coverage": {
        "fi": "Välien kattavuus",
        "sv": "Intervallens täckning",
        "en": "Interval coverage",
    },
}

INTENDED_USE: Final = {
    "fi": (
        "Päätöksenteon tuki kotoutumispalveluiden asiantuntijoille: Polku järjestää asiakkaalle "
        "seuraavaksi sopivat palvelut sen mukaan, kuinka todennäköisesti ne johtavat työhön tai "
        "koulutukseen vuoden kuluessa, ja perustelee järjestyksen. Asiantuntija päättää, ja hän "
        "voi aina valita toisin."
    ),
    "sv": "Beslutsstöd för handledare inom integrationstjänster: Polku rangordnar nästa lämpliga tjänster för en klient efter hur sannolikt var och en leder till arbete eller utbildning inom ett år och motiverar ordningen. Handledaren beslutar och kan alltid välja annorlunda.",
    "en": (
        "Decision support for integration-service caseworkers: Polku ranks the next services for "
        "one client by how likely each is to lead to work or education within a year, and explains "
        "the ranking. The caseworker decides and can always choose otherwise."
    ),
}

INTENDED_USERS: Final = (
    {
        "fi": "Kotoutumisen asiantuntijat kunnan asiakastietojärjestelmässä (suositukset ja perustelut).",
        "sv": "Integrationshandledare i kommunens klientdatasystem (förslag och motiveringar).",
        "en": "Integration caseworkers, inside the municipality's case system (recommendations and reasons).",
    },
    {
        "fi": "Data-analyytikot (uudelleenkoulutus, arviointi, version käyttöönotto).",
        "sv": "Dataanalytiker (omträning, utvärdering, införande av en version).",
        "en": "Data scientists (retraining, evaluation, promoting a version).",
    },
    {
        "fi": "Arvioijat ja tarkastajat (yhdenvertaisuusraportti, mallikortti, auditointiloki).",
        "sv": "Utvärderare och granskare (rapport om likabehandling, modellkort, granskningslogg).",
        "en": "Evaluators and auditors (fairness report, model card, audit log).",
    },
)

OUT_OF_SCOPE: Final = (
    {
        "fi": "Automaattinen päätöksenteko ilman ihmistä: suositus ei ole päätös.",
        "sv": "Automatiska beslut utan en människa: ett förslag är inte ett beslut.",
        "en": "Automated decisions without a person: a recommendation is not a decision.",
    },
    {
        "fi": "Etuuksien, oleskeluluvan tai sanktioiden harkinta tai asiakkaan luokittelu 'työllistyviin' ja 'ei-työllistyviin'.",
        "sv": "Prövning av förmåner, uppehållstillstånd eller sanktioner, eller att dela in klienter i 'anställningsbara' och 'icke anställningsbara'.",
        "en": "Deciding benefits, residence or sanctions, or sorting clients into 'employable' and 'not employable'.",
    },
    {
        "fi": "Palvelujen resurssien leikkaaminen ryhmiltä, joiden ennuste on heikko.",
        "sv": "Att skära ned tjänster för grupper vars prognos är svag.",
        "en": "Cutting services for groups whose predicted chances are low.",
    },
    {
        "fi": "Käyttö muilla asiakasryhmillä, palveluvalikoimalla tai alueilla kuin joiden datalla malli on koulutettu ilman uutta arviointia.",
        "sv": "Användning på andra klientgrupper, tjänsteutbud eller regioner än de modellen tränats på, utan ny utvärdering.",
        "en": "Use on client groups, service catalogues or regions other than those it was trained on, without a new evaluation.",
    },
    {
        "fi": "Yksittäisen asiakkaan tulevaisuuden ennustaminen tai syy-seuraussuhteiden väittäminen yksilötasolla.",
        "sv": "Att förutsäga en enskild persons framtid eller påstå orsakssamband på individnivå.",
        "en": "Predicting one person's future, or claiming individual-level causal effects.",
    },
)

LIMITATIONS: Final = (
    {
        "id": "automation_bias",
        "fi": (
            "Automaatiovinouma: asiantuntija voi luottaa suositukseen liikaa. Suositus näytetään "
            "epävarmuusvälin ja perustelujen kanssa, jokainen suositus ja päätös kirjataan, ja "
            "poikkeamisprosenttia seurataan ryhmittäin yhdenvertaisuusraportissa. Hyvin pieni "
            "poikkeamisosuus on varoitusmerkki, ei onnistuminen."
        ),
        "sv": "Automationsbias: handledaren kan lita för mycket på förslaget. Förslaget visas med sitt osäkerhetsintervall och sina motiveringar, varje förslag och beslut loggas, och avvikelseandelen följs per grupp i rapporten om likabehandling. En mycket låg avvikelseandel är en varningssignal, inte en framgång.",
        "en": (
            "Automation bias: caseworkers may defer to the recommendation too readily. It is shown "
            "with its uncertainty interval and reasons, every recommendation and decision is logged, "
            "and the override rate is followed per group in the fairness report. A very low "
            "override rate is a warning sign, not a success."
        ),
    },
    {
        "id": "feedback_loop",
        "fi": (
            "Palautesilmukka: kun mallia koulutetaan uudelleen päätöksillä, joihin se itse vaikutti, "
            "historiallinen käytäntö kapenee kohti mallin suosituksia eikä muista palveluista kerry "
            "vertailutietoa. Tukiarvio (kuinka usein vastaavat asiakkaat saivat palvelun) varoittaa "
            "ohuesta tuesta; uudelleenkoulutuksessa on tarkistettava, että vaihtoehtoja yhä käytetään, "
            "ja merkittävä, mitkä päätökset tehtiin suosituksen nähneenä (auditointiloki)."
        ),
        "sv": "Återkopplingsslinga: när modellen tränas om på beslut som den själv påverkat smalnar den historiska praxisen av mot modellens förslag, och jämförelsedata om andra tjänster slutar samlas. Stödskattningen (hur ofta liknande klienter fick tjänsten) varnar för tunt stöd; före omträning ska man kontrollera att alternativen fortfarande används och märka vilka beslut som fattades efter att förslaget setts (granskningsloggen).",
        "en": (
            "Feedback loop: retraining on decisions the model influenced narrows historical practice "
            "towards its own recommendations, so evidence about the other services stops accruing. "
            "The support estimate (how often similar clients received a service) flags thin support; "
            "before retraining, check that alternatives are still used, and mark which decisions were "
            "made after seeing a recommendation (the audit log)."
        ),
    },
    {
        "id": "unobserved_confounding",
        "fi": (
            "Havaitsemattomat sekoittavat tekijät: malli oppii rekisteridatasta, jossa palvelut on "
            "jaettu asiakkaan profiilin, motivaation ja jonojen mukaan. Vaikutusarviot ovat syy-"
            "seuraussuhteita vain, jos mitään ratkaisevaa tekijää ei puutu datasta; ilman simulaattorin "
            "totuutta politiikan arvo on kaksoisrobusti arvio samalla oletuksella. Erot ovat "
            "suuntaa antavia, eivät todisteita yksittäisen palvelun vaikutuksesta."
        ),
        "sv": "Oobserverade störfaktorer: modellen lär sig av registerdata där tjänsterna fördelats efter klientens profil, motivation och köer. Effektskattningarna är orsakssamband bara om inget avgörande saknas i datan; utan simulatorns sanning är policyvärdet en dubbelt robust skattning under samma antagande. Läs skillnaderna som vägledande, inte som bevis på en enskild tjänsts effekt.",
        "en": (
            "Unobserved confounding: the model learns from records in which services were assigned "
            "by profile, motivation and queues. Its effect estimates are causal only if nothing "
            "decisive is missing from the data; without the simulator's truth the policy value is a "
            "doubly robust estimate under the same assumption. Read differences as indicative, not "
            "as proof of one service's effect."
        ),
    },
    {
        "id": "reverse_causation",
        "fi": (
            "Käänteisen kausaliteetin ansa suunnitelmapalavereissa: asiakas, joka työllistyy jonottaessaan "
            "palveluun, ei koskaan aloita sitä, joten palaveri näyttää päätökseltä 'ei uutta palvelua' "
            "tuloksen takia. Kun palaverissa sovittu palvelu on kirjattu, se on toimenpide; muuten "
            "palaveri, jonka 30 päivän ikkunan tulos katkaisee, jätetään pois koulutuksesta, ja "
            "pääteltyjä 'ei uutta palvelua' -palavereja ei käytetä, kun suunnitelmat on kirjattu."
        ),
        "sv": "Fällan med omvänd kausalitet vid planmöten: en klient som får arbete medan hen köar till en planerad tjänst börjar aldrig tjänsten, så mötet ser ut som ett beslut om 'ingen ny tjänst' på grund av utfallet. Där den överenskomna tjänsten är registrerad är den åtgärden; annars har ett möte vars 30-dagarsfönster avbryts av ett utfall en okänd åtgärd och används inte i träningen, och härledda möten med 'ingen ny tjänst' lämnas bort där planerna registreras.",
        "en": (
            "The reverse-causation trap at plan reviews: a client who finds work while waiting for a "
            "planned service never starts it, so the review looks like a 'no new service' decision "
            "because of the outcome. Where the agreed service is recorded it is the action; otherwise "
            "a review whose 30-day window an outcome cuts short has an unknown action and is not a "
            "training row, and inferred 'no new service' reviews are left out where plans are recorded."
        ),
    },
    {
        "id": "small_groups",
        "fi": (
            "Pienet ryhmät: alle k asiakkaan ryhmät yhdistetään ryhmään 'muu tai ei tiedossa' (tai "
            "pienimpään ryhmään) ja alle k asiakkaan solut piilotetaan raporteista, joten pienimpien "
            "ryhmien yhdenvertaisuutta ei voi arvioida niistä; niiden tilanne on seurattava muuten."
        ),
        "sv": "Små grupper: grupper med färre än k klienter slås ihop till 'annan eller okänd' (eller med den minsta gruppen) och celler med färre än k klienter döljs i rapporterna, så de minsta gruppernas likabehandling kan inte bedömas ur dem och behöver annan uppföljning.",
        "en": (
            "Small groups: groups of fewer than k clients are combined into 'other or unknown' (or "
            "with the smallest group) and cells of fewer than k clients are hidden in the reports, "
            "so the fairness of the smallest groups cannot be judged from them and needs other "
            "follow-up."
        ),
    },
)

HUMAN_OVERSIGHT: Final = {
    "override": {
        "endpoint": "POST /v1/decisions",
        "fi": (
            "Asiantuntija kirjaa valintansa (chosen_service) ja, jos se poikkeaa ensimmäisestä "
            "suosituksesta, syyn (reason_code: client_preference, waiting_time, not_available, "
            "eligibility_error, professional_judgement, none_suitable, other) ja halutessaan "
            "kommentin. Päätöstä ei muuteta jälkikäteen: korjaus on uusi rivi."
        ),
        "sv": "Handledaren registrerar sitt val (chosen_service) och, om det avviker från det första förslaget, orsaken (reason_code: client_preference, waiting_time, not_available, eligibility_error, professional_judgement, none_suitable, other) och vid behov en kommentar. Ett beslut ändras aldrig i efterhand: en rättelse är en ny rad.",
        "en": (
            "The caseworker records the choice (chosen_service) and, when it differs from rank 1, "
            "the reason (reason_code: client_preference, waiting_time, not_available, "
            "eligibility_error, professional_judgement, none_suitable, other) with an optional "
            "comment. A decision is never changed afterwards: a correction is a new row."
        ),
    },
    "stop": {
        "endpoint": "POST /v1/admin/pause",
        "resume": "POST /v1/admin/resume",
        "fi": (
            "Ylläpitäjä pysäyttää suositukset heti: pysäytettynä suosituspyynnöt saavat vastauksen "
            "503 selityksen kera, ja päätösten kirjaus toimii edelleen. Jatkaminen: POST /v1/admin/resume."
        ),
        "sv": "En administratör stoppar förslagen genast: medan de är pausade får förslagsbegäranden svaret 503 med en förklaring, och registrering av beslut fungerar fortfarande. För att fortsätta: POST /v1/admin/resume.",
        "en": (
            "An administrator stops recommendations at once: while paused, recommendation requests "
            "answer 503 with an explanation, and recording decisions still works. To resume: "
            "POST /v1/admin/resume."
        ),
    },
    "audit": {
        "endpoint": "GET /v1/audit",
        "fi": (
            "Arvioija (rooli evaluator) lukee kaikkien yksiköiden suositukset ja päätökset "
            "pseudonyymeine asiakastunnuksineen ja piirteineen, mutta ei kommentteja. Koko kunnan "
            "näkymä tarvitaan, koska valvonta vertaa yksiköitä ja ryhmiä keskenään (oikeudenmukaisuus, "
            "ohitusten osuus, mallin ajautuminen) ja liittää myöhemmät tulokset suosituksiin "
            "asiakastunnuksella; yhden yksikön näkymästä erot eivät näy. Siksi arvioijan avaimia "
            "annetaan vain valvontaa tekeville."
        ),
        "en": (
            "An evaluator (role evaluator) reads every unit's recommendations and decisions, with "
            "pseudonymous client ids and features, but not comments. Oversight needs the whole "
            "municipality: it compares units and groups with one another (fairness, override "
            "rates, drift) and joins later outcomes to recommendations by client id, and one "
            "unit's view would hide the differences. Evaluator keys are therefore given only to "
            "those who do this oversight."
        ),
    },
}

SELECTION_TEXT: Final = {
    "v_rec": {
        "fi": "Valittu, koska sen suositusten todellinen arvo (simulaattorin totuus) oli validointiasiakkailla paras.",
        "sv": "Vald eftersom det sanna värdet av dess förslag (simulatorns sanning) var bäst för valideringsklienterna.",
        "en": "Chosen because the true value of its recommendations (the simulator's truth) was best on the validation clients.",
    },
    "dr_value": {
        "fi": "Valittu, koska sen suositusten kaksoisrobusti arvio oli validointiasiakkailla paras.",
        "sv": "Vald eftersom den dubbelt robusta skattningen av dess förslags värde var bäst för valideringsklienterna.",
        "en": "Chosen because the doubly robust estimate of its recommendations' value was best on the validation clients.",
    },
    "referee_value": {
        "fi": "Valittu validointiasiakkaiden havaituista tuloksista: suositusten kaksoisrobusti arvo, jonka arvioi kaikille sama ristiinsovitettu malli; oletusmallista poiketaan vain, jos ero on yli yhden keskivirheen.",
        "sv": "Vald utifrån valideringsklienternas observerade utfall: det dubbelt robusta värdet av dess förslag, bedömt av samma korsanpassade modell för alla kandidater; standardmodellen lämnas bara för en skillnad på mer än ett standardfel.",
        "en": "Chosen from the validation clients' observed outcomes: the doubly robust value of its recommendations, graded by one cross-fitted model for every candidate; the default is left only for a difference of more than one standard error.",
    },
}


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
                    selection_metric,
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
    for language in ("fi", "en"):
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
        "en": str(section["en"]),
    }
