"""The pool of integration services a drawn world picks its catalogue from.

Each template is a kind of service Finnish municipalities and employment
services offer immigrants: its code, names and descriptions in Finnish,
Swedish and English, and the *ranges* a world draws its numbers from
(length, wait, places a month, lock-in, lasting effect on the suited
group), the groups it may suit, the eligibility rules a catalogue editor
might write for it, and whether it teaches Finnish. The ranges are
plausible, not measured: what matters is that worlds differ the way real
municipalities' services do.

Effects are log-hazard increments, lock-in log-multipliers, as in the
built-in world (docs/world.md); a `modifier` names a client group of
`training.simulator.random_world.groups`.
"""

from __future__ import annotations

from dataclasses import dataclass

Range = tuple[float, float]


@dataclass(frozen=True)
class ServiceTemplate:
    code: str
    kind: str
    name: tuple[str, str, str]  # fi, sv, en
    description: tuple[str, str, str]
    days: Range
    lock_in_employment: Range
    employment_effect: Range
    education_effect: Range = (0.0, 0.1)
    lock_in_education: Range = (-0.2, 0.0)
    wait_days: Range = (10, 40)
    monthly_capacity: Range = (10, 80)
    # Groups the service may suit (the lasting effect is larger for them).
    modifiers: tuple[str, ...] = ("everyone",)
    # Group that drops out more often (or "" for none).
    unsuited: str = ""
    # Chances of gaining one and two CEFR levels on completion (a language service).
    language_gain: tuple[Range, Range] | None = None
    measures_finnish: bool = False  # the service tests the client's Finnish
    paid_work: bool = False  # the client is in subsidised employment while in it
    first_step: int = 0  # 1: the first service of a case, 2: the second
    # Eligibility rules a catalogue might give it; "" admits everyone, and
    # "{once}" stands for "has not completed it yet".
    rules: tuple[str, ...] = ("",)
    weight: float = 1.0  # how common the service is in catalogues


ONCE = "completed_{code} == 0"

POOL: tuple[ServiceTemplate, ...] = (
    ServiceTemplate(
        code="initial_assessment",
        kind="assessment",
        name=("Alkukartoitus", "Inledande kartläggning", "Initial assessment"),
        description=(
            "Selvitetään asiakkaan koulutus, työkokemus, kielitaito ja palvelutarve.",
            "Kartläggning av kundens utbildning, arbetserfarenhet, språkkunskaper och behov.",
            "Maps the client's education, work experience, language skills and needs.",
        ),
        days=(20, 45),
        lock_in_employment=(0.0, 0.0),
        lock_in_education=(0.0, 0.0),
        employment_effect=(0.0, 0.1),
        education_effect=(0.0, 0.05),
        wait_days=(5, 25),
        measures_finnish=True,
        first_step=1,
        rules=(ONCE,),
    ),
    ServiceTemplate(
        code="integration_plan",
        kind="planning",
        name=("Kotoutumissuunnitelma", "Integrationsplan", "Integration plan"),
        description=(
            "Laaditaan yhdessä asiakkaan kanssa henkilökohtainen kotoutumissuunnitelma.",
            "En personlig integrationsplan görs upp tillsammans med kunden.",
            "A personal integration plan agreed together with the client.",
        ),
        days=(7, 21),
        lock_in_employment=(0.0, 0.0),
        lock_in_education=(0.0, 0.0),
        employment_effect=(0.0, 0.1),
        education_effect=(0.0, 0.05),
        wait_days=(5, 21),
        first_step=2,
        rules=(ONCE,),
    ),
    ServiceTemplate(
        code="career_counselling",
        kind="guidance",
        name=("Ura- ja koulutusohjaus", "Karriär- och utbildningsvägledning", "Career guidance"),
        description=(
            "Ohjaaja auttaa asiakasta valitsemaan ammatin ja koulutuspolun.",
            "En vägledare hjälper kunden att välja yrke och utbildningsväg.",
            "A counsellor helps the client choose an occupation and a study path.",
        ),
        days=(30, 60),
        lock_in_employment=(0.0, 0.1),
        employment_effect=(0.0, 0.3),
        education_effect=(0.1, 0.5),
        modifiers=("young", "tertiary", "recent_arrival"),
        rules=("", "years_since_arrival <= 3", "age < 35"),
    ),
    ServiceTemplate(
        code="literacy_course",
        kind="literacy",
        name=(
            "Luku- ja kirjoitustaidon koulutus",
            "Utbildning i läs- och skrivfärdighet",
            "Literacy course",
        ),
        description=(
            "Asiakas oppii lukemaan ja kirjoittamaan latinalaisin aakkosin.",
            "Kunden lär sig läsa och skriva med det latinska alfabetet.",
            "Learning to read and write in the Latin alphabet.",
        ),
        days=(200, 330),
        lock_in_employment=(-1.2, -0.7),
        lock_in_education=(-1.0, -0.4),
        employment_effect=(0.2, 0.5),
        education_effect=(0.1, 0.3),
        modifiers=("literacy_needs",),
        unsuited="health_limited",
        language_gain=((0.4, 0.6), (0.0, 0.05)),
        rules=(
            "literacy_needs",
            "literacy_needs and completed_{code} == 0",
            "education_level in [none, primary]",
        ),
    ),
    ServiceTemplate(
        code="language_course_a",
        kind="language",
        name=(
            "Suomen kielen peruskurssi (A-taso)",
            "Grundkurs i finska (A-nivå)",
            "Finnish basic course (A level)",
        ),
        description=(
            "Kokoaikainen suomen kielen ja yhteiskuntatietouden kurssi alkeista A2-tasolle.",
            "Heltidskurs i finska och samhällskunskap från början till nivå A2.",
            "Full-time course in Finnish and society, from the start to level A2.",
        ),
        days=(150, 320),
        lock_in_employment=(-1.1, -0.5),
        lock_in_education=(-0.6, -0.2),
        employment_effect=(0.0, 0.2),
        education_effect=(0.0, 0.2),
        wait_days=(15, 50),
        modifiers=("everyone", "low_education", "recent_arrival"),
        unsuited="literacy_gap",
        language_gain=((0.7, 0.9), (0.3, 0.5)),
        rules=("finnish_level <= A2", "finnish_level <= A1", "", "finnish_level <= B1"),
        weight=3.0,
    ),
    ServiceTemplate(
        code="language_course_b",
        kind="language",
        name=(
            "Suomen kielen jatkokurssi (B-taso)",
            "Fortsättningskurs i finska (B-nivå)",
            "Finnish intermediate course (B level)",
        ),
        description=(
            "Suomen kielen kurssi A2-tasolta B1-tasolle työelämän ja opiskelun tarpeisiin.",
            "Kurs i finska från nivå A2 till B1 för arbete och studier.",
            "Finnish from A2 to B1 for work and study.",
        ),
        days=(100, 200),
        lock_in_employment=(-0.7, -0.3),
        lock_in_education=(-0.3, 0.0),
        employment_effect=(0.05, 0.3),
        education_effect=(0.1, 0.4),
        modifiers=("tertiary", "experienced", "everyone"),
        language_gain=((0.5, 0.7), (0.05, 0.15)),
        rules=("finnish_level >= A2", "finnish_level in [A2, B1]", "finnish_level >= A1"),
        weight=2.0,
    ),
    ServiceTemplate(
        code="workplace_finnish",
        kind="language",
        name=("Työelämän suomi", "Finska för arbetslivet", "Finnish for working life"),
        description=(
            "Osa-aikainen kurssi työpaikan suomesta, usein työn ohessa.",
            "Deltidskurs i arbetsplatsfinska, ofta vid sidan av arbetet.",
            "Part-time course in the Finnish of the workplace, often alongside work.",
        ),
        days=(60, 120),
        lock_in_employment=(-0.3, 0.0),
        employment_effect=(0.1, 0.5),
        modifiers=("finnish_a2", "experienced"),
        language_gain=((0.3, 0.5), (0.0, 0.05)),
        rules=("finnish_level >= A1", "finnish_level >= A2", ""),
    ),
    ServiceTemplate(
        code="childcare_language_course",
        kind="language",
        name=(
            "Kielikurssi lastenhoidon kanssa",
            "Språkkurs med barnpassning",
            "Language course with childcare",
        ),
        description=(
            "Suomen kielen kurssi, jonka aikana pienet lapset ovat hoidossa samassa talossa.",
            "Kurs i finska där små barn passas i samma hus under lektionerna.",
            "Finnish course with childcare for small children in the same building.",
        ),
        days=(120, 240),
        lock_in_employment=(-0.6, -0.2),
        employment_effect=(0.05, 0.35),
        education_effect=(0.0, 0.2),
        monthly_capacity=(5, 30),
        modifiers=("parent", "everyone"),
        language_gain=((0.5, 0.8), (0.1, 0.3)),
        rules=(
            "children_under_school_age >= 1",
            "children_under_school_age >= 1 and finnish_level <= A2",
        ),
    ),
    ServiceTemplate(
        code="online_finnish",
        kind="language",
        name=(
            "Omaehtoinen suomen verkkokurssi",
            "Självständig nätkurs i finska",
            "Self-paced online Finnish",
        ),
        description=(
            "Asiakas opiskelee suomea verkossa omaan tahtiinsa ohjaajan tuella.",
            "Kunden studerar finska på nätet i egen takt med stöd av en handledare.",
            "Studying Finnish online at one's own pace, with a tutor's support.",
        ),
        days=(60, 180),
        lock_in_employment=(-0.2, 0.0),
        employment_effect=(0.0, 0.2),
        modifiers=("tertiary", "everyone"),
        unsuited="low_education",
        language_gain=((0.2, 0.5), (0.0, 0.05)),
        rules=(
            "finnish_level >= A1",
            "",
            "education_level in [secondary, vocational, bachelor, master_or_higher]",
        ),
    ),
    ServiceTemplate(
        code="civic_orientation",
        kind="orientation",
        name=("Yhteiskuntaorientaatio", "Samhällsorientering", "Civic orientation"),
        description=(
            "Tietoa suomalaisesta yhteiskunnasta, palveluista ja työelämästä omalla kielellä.",
            "Information om det finländska samhället, tjänster och arbetslivet på eget språk.",
            "Finnish society, services and working life explained in the client's language.",
        ),
        days=(20, 60),
        lock_in_employment=(-0.1, 0.0),
        employment_effect=(0.0, 0.15),
        modifiers=("recent_arrival", "everyone"),
        rules=(
            "years_since_arrival <= 3",
            "",
            "years_since_arrival <= 2 and completed_{code} == 0",
        ),
    ),
    ServiceTemplate(
        code="digital_skills",
        kind="digital",
        name=("Digitaitojen koulutus", "Utbildning i digitala färdigheter", "Digital skills"),
        description=(
            "Tietokoneen, sähköisten palvelujen ja työnhakusivustojen käyttöä.",
            "Att använda dator, e-tjänster och jobbsökningssajter.",
            "Using computers, e-services and job-search sites.",
        ),
        days=(30, 90),
        lock_in_employment=(-0.2, 0.0),
        employment_effect=(0.0, 0.3),
        modifiers=("low_education", "everyone", "older"),
        rules=("", "age >= 30", ONCE),
    ),
    ServiceTemplate(
        code="study_preparation",
        kind="study",
        name=(
            "Opintoihin valmentava koulutus",
            "Handledande utbildning för studier",
            "Preparatory education for studies",
        ),
        description=(
            "Valmentaa ammatillisiin tai lukio-opintoihin: kieli, opiskelutaidot ja ohjaus.",
            "Förbereder för yrkes- eller gymnasiestudier: språk, studieteknik och vägledning.",
            "Prepares for vocational or upper-secondary studies: language, study skills, guidance.",
        ),
        days=(180, 300),
        lock_in_employment=(-0.9, -0.4),
        lock_in_education=(0.0, 0.4),
        employment_effect=(0.0, 0.2),
        education_effect=(0.6, 1.5),
        modifiers=("young", "low_education"),
        unsuited="low_finnish",
        rules=("finnish_level >= A2", "age < 30", "age < 35 and finnish_level >= A1"),
    ),
    ServiceTemplate(
        code="vocational_training",
        kind="vocational",
        name=(
            "Ammatillinen työvoimakoulutus",
            "Yrkesinriktad arbetskraftsutbildning",
            "Vocational labour-market training",
        ),
        description=(
            "Ammatillinen koulutus työvoimapula-aloille, esimerkiksi hoiva, logistiikka ja rakentaminen.",
            "Yrkesutbildning för bristyrken, till exempel vård, logistik och byggande.",
            "Vocational training for sectors short of workers, such as care, logistics, building.",
        ),
        days=(120, 300),
        lock_in_employment=(-1.0, -0.5),
        lock_in_education=(-0.5, 0.0),
        employment_effect=(0.3, 0.8),
        education_effect=(0.0, 0.3),
        wait_days=(20, 60),
        modifiers=("finnish_a2", "low_education", "not_tertiary"),
        unsuited="low_finnish",
        rules=("finnish_level >= A2", "finnish_level >= A1", "months_unemployed >= 3", ""),
        weight=2.0,
    ),
    ServiceTemplate(
        code="apprenticeship",
        kind="vocational",
        name=("Oppisopimuskoulutus", "Läroavtalsutbildning", "Apprenticeship"),
        description=(
            "Ammatin opiskelu työpaikalla työsopimuksella, tietopuolinen osuus oppilaitoksessa.",
            "Att lära sig ett yrke på en arbetsplats med arbetsavtal och teori vid en läroanstalt.",
            "Learning a trade at a workplace under a contract, with theory at a college.",
        ),
        days=(240, 365),
        lock_in_employment=(-0.3, 0.2),
        lock_in_education=(-0.5, 0.0),
        employment_effect=(0.4, 0.9),
        education_effect=(0.1, 0.4),
        monthly_capacity=(3, 20),
        modifiers=("young", "finnish_a2", "low_education"),
        unsuited="low_finnish",
        rules=("finnish_level >= A2", "age < 35", "finnish_level >= A1 and age < 40"),
    ),
    ServiceTemplate(
        code="job_search_coaching",
        kind="job_search",
        name=("Työnhakuvalmennus", "Jobbsökarträning", "Job-search coaching"),
        description=(
            "Valmennus CV:n laatimiseen, työpaikkojen etsimiseen ja työhaastatteluihin.",
            "Träning i att skriva CV, hitta lediga jobb och klara intervjuer.",
            "Coaching on CVs, finding vacancies and job interviews.",
        ),
        days=(30, 90),
        lock_in_employment=(0.0, 0.2),
        employment_effect=(0.1, 0.6),
        modifiers=("finnish_b1", "experienced", "tertiary"),
        rules=("", "finnish_level >= A2", "months_unemployed >= 3"),
        weight=2.0,
    ),
    ServiceTemplate(
        code="work_trial",
        kind="work",
        name=("Työkokeilu", "Arbetsprövning", "Work trial"),
        description=(
            "Asiakas kokeilee työntekoa työpaikalla, ja samalla selvitetään sopivia tehtäviä.",
            "Kunden prövar på att arbeta på en arbetsplats för att utreda lämpliga uppgifter.",
            "Trying out work at a workplace to find suitable tasks.",
        ),
        days=(60, 180),
        lock_in_employment=(0.0, 0.4),
        employment_effect=(0.1, 0.6),
        modifiers=("finnish_a2", "low_education", "experienced"),
        rules=("finnish_level >= A1", "", "months_unemployed >= 3"),
        weight=1.5,
    ),
    ServiceTemplate(
        code="subsidised_work",
        kind="subsidised_work",
        name=("Palkkatuettu työ", "Lönesubventionerat arbete", "Subsidised work"),
        description=(
            "Työnantaja saa palkkatukea asiakkaan palkkaamiseen määräajaksi.",
            "Arbetsgivaren får lönesubvention för att anställa kunden för en viss tid.",
            "An employer receives a wage subsidy for hiring the client for a fixed term.",
        ),
        days=(180, 365),
        lock_in_employment=(-0.5, -0.1),
        lock_in_education=(-0.6, -0.3),
        employment_effect=(0.4, 1.0),
        education_effect=(0.0, 0.0),
        monthly_capacity=(5, 40),
        modifiers=("long_unemployed", "low_education", "everyone"),
        paid_work=True,
        rules=(
            "months_unemployed >= 6",
            "months_unemployed >= 12",
            "months_unemployed >= 3 and finnish_level >= A1",
        ),
        weight=1.5,
    ),
    ServiceTemplate(
        code="mentoring",
        kind="mentoring",
        name=("Mentorointi", "Mentorskap", "Mentoring"),
        description=(
            "Oman alan suomalainen mentori tukee asiakasta verkostoitumisessa ja työnhaussa.",
            "En finländsk mentor från samma bransch stöder kunden i nätverkande och jobbsökande.",
            "A Finnish mentor from the client's field supports networking and job search.",
        ),
        days=(90, 180),
        lock_in_employment=(0.0, 0.1),
        employment_effect=(0.0, 0.5),
        monthly_capacity=(3, 25),
        modifiers=("tertiary", "recent_arrival", "young"),
        rules=("", "finnish_level >= A2", "education_level in [bachelor, master_or_higher]"),
    ),
    ServiceTemplate(
        code="degree_recognition",
        kind="recognition",
        name=("Tutkinnon tunnustaminen", "Erkännande av examen", "Degree recognition"),
        description=(
            "Ulkomailla suoritetun tutkinnon tunnustaminen ja täydentävät opinnot.",
            "Erkännande av en utländsk examen och kompletterande studier.",
            "Recognition of a foreign degree and the studies it still needs.",
        ),
        days=(60, 150),
        lock_in_employment=(-0.2, 0.0),
        employment_effect=(0.3, 0.9),
        education_effect=(0.0, 0.3),
        modifiers=("tertiary",),
        rules=(
            "education_level in [bachelor, master_or_higher]",
            "education_level in [vocational, bachelor, master_or_higher]",
            "education_level in [bachelor, master_or_higher] and completed_{code} == 0",
        ),
    ),
    ServiceTemplate(
        code="higher_education_bridging",
        kind="study",
        name=(
            "Korkeakoulujen siltakoulutus",
            "Överbryggande högskoleutbildning",
            "Higher-education bridging",
        ),
        description=(
            "Korkeakoulun koulutus, joka täydentää ulkomaisen tutkinnon suomalaiseksi pätevyydeksi.",
            "Högskoleutbildning som kompletterar en utländsk examen till finsk behörighet.",
            "University programme that tops up a foreign degree to a Finnish qualification.",
        ),
        days=(180, 300),
        lock_in_employment=(-0.8, -0.4),
        lock_in_education=(-0.2, 0.2),
        employment_effect=(0.0, 0.3),
        education_effect=(0.6, 1.4),
        monthly_capacity=(2, 15),
        modifiers=("young", "tertiary"),
        unsuited="low_finnish",
        rules=(
            "education_level in [bachelor, master_or_higher]",
            "finnish_level >= B1",
            "education_level in [bachelor, master_or_higher] and finnish_level >= A2",
        ),
    ),
    ServiceTemplate(
        code="health_rehabilitation",
        kind="health",
        name=(
            "Kuntoutus ja terveyspalvelut",
            "Rehabilitering och hälsotjänster",
            "Rehabilitation and health support",
        ),
        description=(
            "Terveyden ja toimintakyvyn tukea, esimerkiksi fysio- tai traumaterapiaa.",
            "Stöd för hälsa och funktionsförmåga, till exempel fysio- eller traumaterapi.",
            "Support for health and functioning, such as physiotherapy or trauma therapy.",
        ),
        days=(60, 180),
        lock_in_employment=(-0.5, -0.1),
        lock_in_education=(-0.4, 0.0),
        employment_effect=(0.3, 0.8),
        education_effect=(0.0, 0.3),
        modifiers=("health_limited",),
        rules=("health_limitation == 1", "health_limitation", ""),
    ),
    ServiceTemplate(
        code="entrepreneurship_advice",
        kind="entrepreneurship",
        name=("Yrittäjyysneuvonta", "Företagsrådgivning", "Entrepreneurship advice"),
        description=(
            "Neuvontaa oman yrityksen perustamiseen: liiketoimintasuunnitelma, luvat ja rahoitus.",
            "Rådgivning om att starta eget företag: affärsplan, tillstånd och finansiering.",
            "Advice on starting a business: business plan, permits and funding.",
        ),
        days=(30, 120),
        lock_in_employment=(-0.2, 0.0),
        employment_effect=(0.0, 0.5),
        education_effect=(0.0, 0.0),
        monthly_capacity=(2, 15),
        modifiers=("experienced", "tertiary", "older"),
        rules=("prior_work_years >= 2", "", "finnish_level >= A1"),
        weight=0.7,
    ),
    ServiceTemplate(
        code="recruitment_training",
        kind="vocational",
        name=("Rekrytointikoulutus", "Rekryteringsutbildning", "Recruitment training"),
        description=(
            "Työnantajan kanssa yhdessä suunniteltu koulutus, jonka jälkeen työnantaja palkkaa.",
            "Utbildning planerad tillsammans med en arbetsgivare som sedan anställer.",
            "Training designed with an employer who then hires the graduates.",
        ),
        days=(60, 150),
        lock_in_employment=(-0.5, 0.0),
        employment_effect=(0.4, 1.0),
        monthly_capacity=(3, 20),
        modifiers=("finnish_a2", "experienced"),
        unsuited="low_finnish",
        rules=("finnish_level >= A2", "months_unemployed >= 3", "finnish_level >= A1"),
        weight=0.8,
    ),
    ServiceTemplate(
        code="peer_group",
        kind="group",
        name=(
            "Matalan kynnyksen vertaisryhmä",
            "Lågtröskel kamratgrupp",
            "Low-threshold peer group",
        ),
        description=(
            "Viikoittainen ryhmä, jossa harjoitellaan arjen suomea ja tutustutaan palveluihin.",
            "En grupp varje vecka där man övar vardagsfinska och lär känna tjänster.",
            "A weekly group to practise everyday Finnish and get to know local services.",
        ),
        days=(60, 150),
        lock_in_employment=(-0.1, 0.0),
        employment_effect=(0.0, 0.15),
        modifiers=("parent", "recent_arrival", "everyone"),
        language_gain=((0.1, 0.3), (0.0, 0.0)),
        rules=("", "children_under_school_age >= 1", "years_since_arrival <= 3"),
    ),
    ServiceTemplate(
        code="youth_workshop",
        kind="workshop",
        name=("Nuorten työpaja", "Ungdomsverkstad", "Youth workshop"),
        description=(
            "Nuorille tarkoitettua työ- ja opiskeluvalmiuksien harjoittelua pajoilla.",
            "Verkstäder där unga övar färdigheter för arbete och studier.",
            "Workshops where young people practise skills for work and study.",
        ),
        days=(90, 240),
        lock_in_employment=(-0.5, 0.0),
        lock_in_education=(-0.2, 0.1),
        employment_effect=(0.1, 0.5),
        education_effect=(0.2, 0.6),
        modifiers=("low_education", "young"),
        rules=("age < 30", "age < 26"),
        weight=0.7,
    ),
)

TEMPLATES = {template.code: template for template in POOL}
