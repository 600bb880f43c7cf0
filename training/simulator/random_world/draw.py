"""Drawing a world's design from its seed.

Each seed gives a structurally different world: another catalogue, other
effects and whom they suit, other caseworker habits, another strength and
target of selection on hidden readiness, assignment units or none, other
extra columns, another caseload mix and intake pattern. The draws are
chosen so that the family covers what real municipalities differ in and
what breaks a learner: a good share of worlds select ready clients into
services that do little or harm (the failure mode of trusting naive
comparisons), some select nobody, some have units that are a valid
instrument and some whose units also move the outcome.

Nothing here depends on the number of clients: a world's design is a
function of its seed alone.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from model.features import DAYS_PER_YEAR
from model.vocab import NO_NEW_SERVICE
from training.simulator.dates import day_number
from training.simulator.params import WorldParams
from training.simulator.profiles import (
    BUILTIN_MIX,
    EDUCATION_BY_BASIS,
    FINNISH_AT_INTAKE,
    RESIDENCE_MIX,
    ProfileMix,
    draw_profiles,
)
from training.simulator.random_world.columns import COLUMN_POOL, UNIT_COLUMNS, draw_column
from training.simulator.random_world.groups import DYNAMIC_CUES, EXTRA, STATIC_CUES
from training.simulator.random_world.pool import POOL, TEMPLATES, ServiceTemplate
from training.simulator.random_world.spec import (
    DrawnService,
    Effect,
    ExtraColumn,
    Habit,
    Units,
    WorldSpec,
)

# Streams of the seed's randomness: the design, and the reference caseload
# its base rates are set on.
DESIGN_STREAM = 101
REFERENCE_STREAM = 103
REFERENCE_CLIENTS = 3000

PLANNED_SHARES = (0.0, 0.1, 0.3, 0.5, 0.9)
SPREAD_STARTS = ("2017-01-01", "2018-01-01", "2019-01-01", "2020-01-01")
# The window cohorts are drawn from, so that every cohort has years of follow-up.
COHORT_WINDOW = ("2018-01-01", "2023-06-30")
RESIDENCE_BASES = (*RESIDENCE_MIX, "temporary_protection")

# The caseworker cue that tells whom a service suits, where there is one.
CUE_OF_GROUP = {
    "young": "young",
    "tertiary": "tertiary",
    "low_education": "low_education",
    "literacy_needs": "literacy_needs",
    "health_limited": "health_limited",
    "experienced": "experienced",
    "parent": "parent",
    "finnish_a2": "some_finnish",
    "finnish_b1": "good_finnish",
    "long_unemployed": "long_unemployed",
    "recent_arrival": "recent_arrival",
}


def draw_spec(seed: int) -> WorldSpec:
    """The design of the world of `seed`."""
    rng = np.random.default_rng([seed, DESIGN_STREAM])
    extras = _draw_extras(rng)
    prognostic = [f"{EXTRA}{column.name}" for column in extras if column.role == "prognostic"]
    services = _draw_services(rng, prognostic)
    codes = tuple(service.code for service in services)
    units = _draw_units(rng, codes) if rng.random() < 0.55 else None
    intercepts, habits = _draw_habits(rng, services, prognostic)
    selection = _draw_selection(rng, services)
    confounding = 0.0 if rng.random() < 0.1 else float(rng.uniform(0.2, 2.0))
    motivation_selection = 0.0 if rng.random() < 0.15 else float(rng.uniform(0.3, 2.5))
    motivation_effect = float(rng.uniform(0.3, 0.8))
    planned = float(rng.choice(PLANNED_SHARES))
    mix, first_intake, cohort_kind = _draw_mix(rng)
    target = float(rng.uniform(0.22, 0.58))
    mix = _with_base_rate(mix, seed, first_intake, motivation_effect, target)
    return WorldSpec(
        seed=seed,
        services=services,
        intercepts=intercepts,
        habits=habits,
        selection=selection,
        units=units,
        extras=extras,
        mix=mix,
        confounding=round(confounding, 3),
        motivation_selection=round(motivation_selection, 3),
        motivation_effect=round(motivation_effect, 3),
        planned_service_recorded=planned,
        first_intake=first_intake,
        cohort_kind=cohort_kind,
    )


# --------------------------------------------------------------------------- services


def _draw_services(rng: np.random.Generator, prognostic: list[str]) -> tuple[DrawnService, ...]:
    """8 to 16 services: maybe the fixed first steps, mostly a basic language course, then any."""
    n = int(rng.integers(8, 17))
    chosen = [
        code
        for code, chance in (
            ("initial_assessment", 0.6),
            ("integration_plan", 0.5),
            ("language_course_a", 0.85),
        )
        if rng.random() < chance
    ]
    rest = [t for t in POOL if t.code not in ("initial_assessment", "integration_plan", *chosen)]
    weights = np.array([t.weight for t in rest])
    picked = rng.choice(len(rest), size=n - len(chosen), replace=False, p=weights / weights.sum())
    chosen += [rest[i].code for i in picked]
    order = [t.code for t in POOL if t.code in chosen]  # catalogue order: the pool's
    return tuple(_draw_service(TEMPLATES[code], rng, prognostic) for code in order)


def _uniform(rng: np.random.Generator, bounds: tuple[float, float], digits: int = 3) -> float:
    return round(float(rng.uniform(*bounds)), digits)


def _draw_service(
    template: ServiceTemplate, rng: np.random.Generator, prognostic: list[str]
) -> DrawnService:
    code = template.code
    rule = str(rng.choice(template.rules)).replace("{code}", code)
    once = f"completed_{code} == 0"
    if once not in rule and rng.random() < 0.25:
        rule = f"{rule} and {once}" if rule else once
    gain = (
        (_uniform(rng, template.language_gain[0]), _uniform(rng, template.language_gain[1]))
        if template.language_gain is not None
        else (0.0, 0.0)
    )
    return DrawnService(
        code=code,
        template=template.kind,
        eligibility=rule,
        typical_days=round(_uniform(rng, template.days)),
        max_wait_days=round(_uniform(rng, template.wait_days)),
        monthly_capacity=round(_uniform(rng, template.monthly_capacity)),
        lock_in_employment=_uniform(rng, template.lock_in_employment, 2),
        lock_in_education=_uniform(rng, template.lock_in_education, 2),
        effect=_draw_effect(template, rng, prognostic),
        p_interrupt=_uniform(rng, (0.05, 0.2)),
        unsuited=template.unsuited,
        unsuited_interrupt=_uniform(rng, (0.1, 0.35)) if template.unsuited else 0.0,
        language_gain=gain,
        measures_finnish=template.measures_finnish,
        paid_work=template.paid_work,
        first_step=template.first_step,
        closed_from_month=int(rng.choice((10, 11)))
        if template.paid_work and rng.random() < 0.5
        else 13,
    )


def _draw_effect(
    template: ServiceTemplate, rng: np.random.Generator, prognostic: list[str]
) -> Effect:
    """Null for about one service in five; otherwise larger for a group, harming some in some."""
    if template.first_step or rng.random() < 0.22:
        values = [_uniform(rng, (-0.03, 0.03)) for _ in range(2)]
        return Effect("everyone", values[0], values[0], values[1], values[1])
    if prognostic and rng.random() < 0.1:
        modifier = str(rng.choice(prognostic))
    elif rng.random() < 0.8:
        modifier = str(rng.choice(template.modifiers))
    else:
        modifier = "everyone"
    scale = rng.uniform(0.8, 1.8)
    employment = round(float(rng.uniform(*template.employment_effect) * scale), 3)
    education = round(float(rng.uniform(*template.education_effect) * scale), 3)
    if modifier == "everyone":
        return Effect(modifier, employment, employment, education, education)
    if rng.random() < 0.3:
        return Effect(
            modifier,
            employment,
            -_uniform(rng, (0.15, 0.5)),
            education,
            -_uniform(rng, (0.0, 0.3)),
            harm_if_interrupted=bool(rng.random() < 0.5),
        )
    share = rng.uniform(0.0, 0.4)
    return Effect(
        modifier,
        employment,
        round(employment * share, 3),
        education,
        round(education * share, 3),
    )


# --------------------------------------------------------------------------- columns and units


def _draw_extras(rng: np.random.Generator) -> tuple[ExtraColumn, ...]:
    n_prognostic = int(rng.choice(3, p=(0.2, 0.5, 0.3)))
    n_noise = int(rng.choice(3, p=(0.3, 0.45, 0.25)))
    picked = rng.choice(len(COLUMN_POOL), size=n_prognostic + n_noise, replace=False)
    roles = ["prognostic"] * n_prognostic + ["noise"] * n_noise
    return tuple(
        draw_column(COLUMN_POOL[i], role, rng) for i, role in zip(picked, roles, strict=True)
    )


def _draw_units(rng: np.random.Generator, codes: tuple[str, ...]) -> Units:
    """4 to 40 units with their own habits; a quarter of them are invalid."""
    names = list(UNIT_COLUMNS)
    shares = np.array(list(UNIT_COLUMNS.values()))
    column = str(rng.choice(names, p=shares / shares.sum()))
    n = int(rng.integers(4, 41))
    valid = bool(rng.random() >= 0.25)
    habit_sd = _uniform(rng, (0.3, 1.2))
    habits = np.round(rng.normal(0.0, habit_sd, (n, len(codes))), 3)
    habits = np.column_stack([habits, np.zeros(n)])  # no new service: no unit habit
    shift = np.zeros(n)
    if not valid:
        shift = rng.normal(0.0, rng.uniform(0.15, 0.4), n)
        shift = np.round(shift - shift.mean(), 3)
    concentration = rng.uniform(0.3, 3.0)
    assignment = {
        basis: tuple(round(float(p), 4) for p in rng.dirichlet(np.full(n, concentration)) + 1e-4)
        for basis in RESIDENCE_BASES
    }
    return Units(
        column=column,
        names=tuple(f"{column}_{i + 1:02d}" for i in range(n)),
        valid=valid,
        habit_sd=habit_sd,
        habits=tuple(tuple(float(x) for x in row) for row in habits),
        employment_shift=tuple(float(x) for x in shift),
        assignment=assignment,
    )


# --------------------------------------------------------------------------- the caseworkers


def _draw_habits(
    rng: np.random.Generator, services: tuple[DrawnService, ...], prognostic: list[str]
) -> tuple[dict[str, float], tuple[Habit, ...]]:
    """Intercepts per action and habits on cues (the world's confounding scales the habits)."""
    intercepts = {
        service.code: 0.0 if service.first_step else _uniform(rng, (-0.9, 0.5))
        for service in services
    }
    intercepts[NO_NEW_SERVICE] = _uniform(rng, (0.3, 1.2))
    cues = [*STATIC_CUES, *DYNAMIC_CUES, *prognostic]
    habits: list[Habit] = []
    for service in services:
        if service.first_step:
            continue
        for cue in rng.choice(cues, size=int(rng.choice(3, p=(0.2, 0.45, 0.35))), replace=False):
            sign = 1.0 if rng.random() < 0.7 else -1.0
            habits.append(
                Habit(str(cue), service.code, round(sign * float(rng.uniform(0.3, 1.5)), 3))
            )
        # Caseworkers half know whom a service suits.
        suited = CUE_OF_GROUP.get(service.effect.modifier)
        if suited is not None and rng.random() < 0.5:
            habits.append(Habit(suited, service.code, _uniform(rng, (0.3, 1.2))))
        # The long basic course is often the default answer at low levels.
        if service.code == "language_course_a" and rng.random() < 0.7:
            habits.append(Habit("low_finnish", service.code, _uniform(rng, (1.0, 2.2))))
    habits.append(Habit("good_finnish", NO_NEW_SERVICE, _uniform(rng, (0.0, 0.6))))
    habits.append(Habit("many_services", NO_NEW_SERVICE, _uniform(rng, (0.0, 0.5))))
    return intercepts, tuple(habits)


def _draw_selection(
    rng: np.random.Generator, services: tuple[DrawnService, ...]
) -> dict[str, float]:
    """Weights of hidden readiness in each action's logit (the world's selection strength scales them).

    One to five services of any kind; mostly the ready are sent there,
    sometimes the least ready (subsidised work and health services more
    often). In about two worlds of three a service that does little or
    harms (or a long course that locks clients in) is among them, strongly.
    """
    candidates = [service for service in services if not service.first_step]
    k = int(rng.integers(1, min(5, len(candidates)) + 1))
    targets = [candidates[i] for i in rng.choice(len(candidates), size=k, replace=False)]
    selection: dict[str, float] = {}
    for service in targets:
        negative = rng.random() < (
            0.6 if service.template in ("subsidised_work", "health") else 0.15
        )
        selection[service.code] = (-1.0 if negative else 1.0) * _uniform(rng, (0.4, 1.0))
    weak = [
        service
        for service in candidates
        if service.effect.kind in ("null", "harms_some") or service.long_lock_in
    ]
    if weak and rng.random() < 0.65:
        service = weak[int(rng.integers(len(weak)))]
        selection[service.code] = _uniform(rng, (0.7, 1.0))
    selection[NO_NEW_SERVICE] = -_uniform(rng, (0.0, 0.6))
    return selection


# --------------------------------------------------------------------------- the caseload


def _perturbed(
    shares: tuple[float, ...], rng: np.random.Generator, concentration: float
) -> tuple[float, ...]:
    """A Dirichlet draw around `shares`; zero shares stay zero."""
    values = np.asarray(shares, dtype=np.float64)
    positive = values > 0
    out = np.zeros_like(values)
    out[positive] = rng.dirichlet(concentration * values[positive] / values[positive].sum())
    out[positive] = np.maximum(out[positive], 1e-4)
    return tuple(round(float(x), 4) for x in out / out.sum())


def _draw_mix(rng: np.random.Generator) -> tuple[ProfileMix, str, str]:
    """The caseload mix around the built-in world's, and the intake pattern."""
    concentration = float(rng.uniform(20.0, 80.0))
    residence = dict(
        zip(
            RESIDENCE_MIX,
            _perturbed(tuple(RESIDENCE_MIX.values()), rng, concentration),
            strict=True,
        )
    )
    education = {
        basis: _perturbed(shares, rng, concentration)
        for basis, shares in EDUCATION_BY_BASIS.items()
    }
    finnish = _perturbed(FINNISH_AT_INTAKE, rng, concentration)
    kind = str(rng.choice(("spread", "cohorts", "single"), p=(0.6, 0.25, 0.15)))
    cohorts: tuple[str, ...] | None = None
    spread = 0
    first_intake = str(rng.choice(SPREAD_STARTS))
    if kind != "spread":
        lo, hi = (day_number(day) for day in COHORT_WINDOW)
        count = 1 if kind == "single" else int(rng.integers(2, 7))
        days = np.sort(rng.choice(np.arange(lo, hi + 1), size=count, replace=False))
        cohorts = tuple(str(np.datetime64(int(day), "D")) for day in days)
        spread = 0 if kind == "single" else int(rng.choice((0, 14, 30, 60)))
        first_intake = cohorts[0]
    mix = ProfileMix(
        residence=residence,
        education_by_basis=education,
        finnish_at_intake=finnish,
        employment_intercept=BUILTIN_MIX.employment_intercept,
        education_intercept=round(
            BUILTIN_MIX.education_intercept + float(rng.uniform(-0.3, 0.6)), 3
        ),
        cohorts=cohorts,
        cohort_spread_days=spread,
    )
    return mix, first_intake, kind


def _with_base_rate(
    mix: ProfileMix, seed: int, first_intake: str, motivation_effect: float, target: float
) -> ProfileMix:
    """The mix with the employment intercept that gives a reference caseload `target`.

    `target` is the mean chance of work or education within the first year
    after intake without any service, on a reference caseload drawn from
    the mix; services then move the world's rate up or down from there.
    """
    params = WorldParams(
        n_clients=REFERENCE_CLIENTS,
        seed=seed,
        motivation_effect=motivation_effect,
        first_intake=first_intake,
    )
    reference = replace(mix, employment_intercept=0.0)
    profiles = draw_profiles(params, np.random.default_rng([seed, REFERENCE_STREAM]), reference)
    years = (profiles.intake - profiles.arrival) / DAYS_PER_YEAR + 0.5
    finnish = np.minimum(profiles.finnish_intake_true, 4)
    employment = profiles.base_employment + 0.32 * finnish + 0.16 * years
    education = np.exp(
        profiles.base_education + 0.35 * np.maximum(finnish - 2.0, 0.0) + 0.05 * years
    )

    def rate(intercept: float) -> float:
        return float(np.mean(1.0 - np.exp(-(np.exp(employment + intercept) + education))))

    lo, hi = -8.0, 4.0
    for _ in range(50):
        middle = (lo + hi) / 2
        lo, hi = (middle, hi) if rate(middle) < target else (lo, middle)
    return replace(mix, employment_intercept=round((lo + hi) / 2, 3))
