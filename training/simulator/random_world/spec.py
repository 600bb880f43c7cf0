"""The drawn design of one world, as plain data: what `world.json` records.

Everything a random world is, apart from its clients and their randomness,
is one `WorldSpec`: its services and what each does, its caseworkers'
habits and selection on hidden readiness, its assignment units, its extra
client columns and its caseload mix. `draw.draw_spec` draws it from a seed;
`design.RandomDesign` simulates it; `describe()` gives it to benchmarks.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from model.features import FeatureKind
from training.simulator.profiles import ProfileMix

# A service's `closed_from_month` when it takes clients all year.
NEVER_CLOSED = 13


@dataclass(frozen=True)
class Effect:
    """A service's lasting effect on the log hazards, by whether the client is in `modifier`.

    The effect of completing the service; with `harm_if_interrupted`, the
    negative part of the effect for those outside the group comes even when
    they drop out.
    """

    modifier: str
    employment_in: float
    employment_out: float
    education_in: float
    education_out: float
    harm_if_interrupted: bool = False

    @property
    def kind(self) -> str:
        """`null`, `helps_all`, `helps_some` or `harms_some`: the effect at a glance."""
        values = (self.employment_in, self.employment_out, self.education_in, self.education_out)
        if max(abs(value) for value in values) < 0.06:
            return "null"
        if min(values) < -0.05:
            return "harms_some"
        if self.modifier == "everyone":
            return "helps_all"
        return "helps_some"


@dataclass(frozen=True)
class DrawnService:
    code: str
    template: str  # the pool template's kind
    eligibility: str
    typical_days: int
    max_wait_days: int
    monthly_capacity: int
    lock_in_employment: float
    lock_in_education: float
    effect: Effect
    p_interrupt: float
    unsuited: str  # group that drops out more ("" none)
    unsuited_interrupt: float
    language_gain: tuple[float, float]  # chances of one and of two CEFR levels (0, 0: none)
    measures_finnish: bool
    paid_work: bool
    first_step: int  # 1 first, 2 second, 0 neither
    closed_from_month: int  # no starts from this month to December (13: never)

    @property
    def long_lock_in(self) -> bool:
        """A long course that keeps clients from work while it runs."""
        return self.typical_days >= 150 and self.lock_in_employment <= -0.6


@dataclass(frozen=True)
class Habit:
    """A caseworker habit: `weight` added to `action`'s logit when `cue` holds."""

    cue: str
    action: str
    weight: float


@dataclass(frozen=True)
class Units:
    """Assignment units (offices, teams or caseworkers) and what they change.

    Clients are assigned to a unit by area, which depends on the residence
    basis (`assignment`, probabilities per basis) and never on readiness.
    Each unit shifts the logits of the services (`habits`, unit by action);
    an invalid unit also shifts the outcome hazards (`employment_shift`).
    """

    column: str
    names: tuple[str, ...]
    valid: bool
    habit_sd: float
    habits: tuple[tuple[float, ...], ...]
    employment_shift: tuple[float, ...]
    assignment: dict[str, tuple[float, ...]]


@dataclass(frozen=True)
class ExtraColumn:
    """An extra client column: prognostic (moves the hazards) or noise (moves nothing).

    `score` turns a value into a number the hazards read: the share above
    the mean for a yes/no column, a standardised value for a number, a
    drawn value per category. The column's `group` (`extra:<name>`) holds
    for `true`, for numbers above `threshold`, for the categories scoring
    above zero.
    """

    name: str
    kind: FeatureKind  # numeric, categorical, boolean
    role: str  # prognostic, noise
    employment_coefficient: float
    education_coefficient: float
    missing_share: float
    # boolean: share true; numeric: lognormal median and spread; categorical: shares.
    share_true: float = 0.5
    median: float = 1.0
    spread: float = 0.5
    threshold: float = 1.0
    categories: tuple[str, ...] = ()
    category_shares: tuple[float, ...] = ()
    category_scores: tuple[float, ...] = ()


@dataclass(frozen=True)
class WorldSpec:
    seed: int
    services: tuple[DrawnService, ...]
    # Policy: intercepts per action, habits on cues (scaled by the world's
    # confounding), selection on hidden readiness (scaled by its
    # motivation_selection) per action.
    intercepts: dict[str, float]
    habits: tuple[Habit, ...]
    selection: dict[str, float]
    units: Units | None
    extras: tuple[ExtraColumn, ...]
    mix: ProfileMix
    # World-level strengths, written to the world's parameters.
    confounding: float
    motivation_selection: float
    motivation_effect: float
    planned_service_recorded: float
    first_intake: str
    cohort_kind: str  # spread, cohorts, single

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(service.code for service in self.services)

    def to_json(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        for service, drawn in zip(out["services"], self.services, strict=True):
            service["effect"]["kind"] = drawn.effect.kind
            service["long_lock_in"] = drawn.long_lock_in
        return out
