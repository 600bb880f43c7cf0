"""The model card's fixed texts in Finnish, Swedish and English.

Labels of the evaluation figures, intended use and users, uses out of
scope, known limitations, human oversight and the selection-correction
text: what `model.model_card` puts beside a version's own figures.
"""

from __future__ import annotations

from typing import Final

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
            "palaveri, jonka 30 päivän ikkunan tulos katkaisee, jätetään pois koulutuksesta, "
            "pääteltyn 'ei uutta palvelua' -palaverin tulos lasketaan ikkunan lopusta, ja "
            "pääteltyjä palavereja ei käytetä, kun suunnitelmat on kirjattu."
        ),
        "sv": "Fällan med omvänd kausalitet vid planmöten: en klient som får arbete medan hen köar till en planerad tjänst börjar aldrig tjänsten, så mötet ser ut som ett beslut om 'ingen ny tjänst' på grund av utfallet. Där den överenskomna tjänsten är registrerad är den åtgärden; annars har ett möte vars 30-dagarsfönster avbryts av ett utfall en okänd åtgärd och används inte i träningen, ett härlett möte med 'ingen ny tjänst' räknar sitt utfall från fönstrets slut, och härledda möten lämnas bort där planerna registreras.",
        "en": (
            "The reverse-causation trap at plan reviews: a client who finds work while waiting for a "
            "planned service never starts it, so the review looks like a 'no new service' decision "
            "because of the outcome. Where the agreed service is recorded it is the action; otherwise "
            "a review whose 30-day window an outcome cuts short has an unknown action and is not a "
            "training row, an inferred 'no new service' review counts its outcome from the window's "
            "end, and inferred reviews are left out where plans are recorded."
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
        "plans": "GET /v1/audit/plans",
        "fi": (
            "Arvioija (rooli evaluator) lukee kaikkien yksiköiden suositukset ja päätökset "
            "pseudonyymeine asiakastunnuksineen ja piirteineen, mutta ei kommentteja. Koko kunnan "
            "näkymä tarvitaan, koska valvonta vertaa yksiköitä ja ryhmiä keskenään (oikeudenmukaisuus, "
            "ohitusten osuus, mallin ajautuminen) ja liittää myöhemmät tulokset suosituksiin "
            "asiakastunnuksella; yhden yksikön näkymästä erot eivät näy. Siksi arvioijan avaimia "
            "annetaan vain valvontaa tekeville. Palvelupaikkojen jakosuunnitelmat (POST /v1/plans) "
            "luetaan samoin osoitteesta GET /v1/audit/plans."
        ),
        "sv": (
            "En utvärderare (rollen evaluator) läser alla enheters förslag och beslut med "
            "pseudonyma klient-id:n och egenskaper, men inte kommentarer. Tillsynen behöver hela "
            "kommunens bild: den jämför enheter och grupper med varandra (rättvisa, andel "
            "avvikelser, modellens drift) och kopplar senare utfall till förslagen via klient-id; "
            "en enda enhets bild skulle dölja skillnaderna. Därför ges utvärderarnycklar bara till "
            "dem som utför tillsynen. Planerna för platsfördelning (POST /v1/plans) läses på samma "
            "sätt via GET /v1/audit/plans."
        ),
        "en": (
            "An evaluator (role evaluator) reads every unit's recommendations and decisions, with "
            "pseudonymous client ids and features, but not comments. Oversight needs the whole "
            "municipality: it compares units and groups with one another (fairness, override "
            "rates, drift) and joins later outcomes to recommendations by client id, and one "
            "unit's view would hide the differences. Evaluator keys are therefore given only to "
            "those who do this oversight. The plans of seats (POST /v1/plans) are read the same "
            "way from GET /v1/audit/plans."
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
    "single": {
        "fi": "Ainoa ajon asetuksissa määritetty oppija: muita ei ollut, joihin sitä olisi verrattu validointiasiakkailla.",
        "sv": "Den enda inläraren i körningens konfiguration: det fanns ingen annan att jämföra den med på valideringsklienterna.",
        "en": "The only learner in the run configuration: there was no other to compare it with on the validation clients.",
    },
}
