"""The run configuration: what to predict and which extra fields to use.

A data scientist passes it as a TOML file (`polku train --config FILE`); every
field has a default, so an empty file is a valid configuration.
"""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from model.errors import ConfigError
from model.features import PROTECTED_BY_DEFAULT
from model.vocab import CLIENT_OPTIONAL_COLUMNS, CLIENT_REQUIRED_COLUMNS, OUTCOME_STATUSES

# A learner hyperparameter as TOML gives it.
LearnerParam = int | float | bool | str
# How the waits' measured readiness moves the ranking (`training.pipeline.waits`).
WaitsCorrection = Literal["off", "half_where_clear", "full"]

TARGETS: dict[str, tuple[str, ...]] = {
    "employment_or_education": ("employed", "education"),
    "employment": ("employed",),
    "education": ("education",),
    "any_work_or_education": ("employed", "subsidised_employment", "education"),
}


class RunConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    target: str = Field(
        default="employment_or_education",
        description="named target; the label is a spell of its statuses starting within the horizon",
    )
    horizon_days: int = Field(default=365, ge=30, le=1825)
    review_window_days: int = Field(
        default=30,
        ge=1,
        le=180,
        description="a review not followed by a service start within this many days is a decision",
    )
    extract_date: date | None = Field(
        default=None,
        description="last day the data covers; by default the latest date in the tables",
    )
    extra_features: dict[str, Literal["numeric", "categorical", "boolean"]] = Field(
        default_factory=dict, description="extra client columns to accept and use as features"
    )
    assignment_units: tuple[str, ...] = Field(
        default=(),
        description="extra categorical client columns naming the office, team or caseworker "
        "that handled the client; their habits serve as instruments for the services' effects",
    )
    correct_with_waits: WaitsCorrection = Field(
        default="half_where_clear",
        description="how the readiness that the waits before planned services show moves the "
        "ranking: 'off' (measured and reported only), 'half_where_clear' (half of a service's "
        "correction, where its readiness ratio is more than two standard errors from zero) or "
        "'full'; true means 'full', false 'off'",
    )
    protected_attributes: tuple[str, ...] = Field(
        default=PROTECTED_BY_DEFAULT,
        description="client fields used for the fairness audit only, never as model features",
    )
    min_cell_size: int = Field(default=5, ge=3, description="small-cell suppression threshold")
    holdout_fraction: float = Field(
        default=0.2,
        gt=0.0,
        lt=0.9,
        description="share of the labelled decision points held out for the final evaluation "
        "(the newest clients by intake date)",
    )
    validation_fraction: float = Field(
        default=0.15,
        gt=0.0,
        lt=0.9,
        description="share of the remaining labelled decision points used to choose the learner "
        "(the next newest clients)",
    )
    split: Literal["auto", "intake", "random"] = Field(
        default="auto",
        description="how clients are divided into training, validation and held-out ones: by "
        "intake date, at random (seeded), or by intake date unless the dates cannot separate them",
    )
    seed: int = 0
    learners: tuple[str, ...] = Field(
        default=("s_learner",),
        min_length=1,
        description="outcome learners to fit; with more than one, the best on the validation "
        "clients' observed outcomes is served",
    )
    learner_params: dict[str, dict[str, LearnerParam]] = Field(
        default_factory=dict,
        description="hyperparameters per learner name (or `propensity`), passed as keyword arguments",
    )
    recalibrate: bool = Field(
        default=True,
        description="recalibrate p_outcome (Platt scaling on the learner's additive scale) "
        "on the validation clients",
    )
    choose_rounds: bool = Field(
        default=True,
        description="choose the S-learner's number of boosting rounds (all, three quarters, "
        "half or a quarter of n_estimators) by the policy value on the validation clients",
    )
    refit: bool = Field(
        default=True,
        description="after choosing the learner and calibrating it on the validation clients, "
        "fit it again on the training and validation clients",
    )
    num_threads: int = Field(
        default=1,
        ge=1,
        le=256,
        description="LightGBM threads when training (1 is faster on a busy 2-core machine)",
    )

    @field_validator("target")
    @classmethod
    def _known_target(cls, value: str) -> str:
        if value not in TARGETS:
            raise ValueError(f"unknown target {value!r}; choose one of {', '.join(TARGETS)}")
        return value

    @field_validator("correct_with_waits", mode="before")
    @classmethod
    def _waits_from_boolean(cls, value: object) -> object:
        # true and false read as the two ends.
        if isinstance(value, bool):
            return "full" if value else "off"
        return value

    @field_validator("extra_features")
    @classmethod
    def _extras_are_new(cls, value: dict[str, str]) -> dict[str, str]:
        taken = set(CLIENT_REQUIRED_COLUMNS) | set(CLIENT_OPTIONAL_COLUMNS)
        clash = sorted(set(value) & taken)
        if clash:
            raise ValueError(f"extra feature(s) {clash} are already contract columns")
        for name in value:
            if not name.isidentifier():
                raise ValueError(f"extra feature name {name!r} is not an identifier")
        return value

    @model_validator(mode="after")
    def _units_are_declared_categories(self) -> RunConfig:
        for name in self.assignment_units:
            if self.extra_features.get(name) != "categorical":
                raise ValueError(
                    f"assignment unit {name!r} must also be declared under extra_features as "
                    f'{name} = "categorical"'
                )
        return self

    @field_validator("learners")
    @classmethod
    def _learners_once(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        doubled = sorted({name for name in value if value.count(name) > 1})
        if doubled:
            raise ValueError(f"learner(s) {doubled} listed more than once")
        return value

    @property
    def target_statuses(self) -> tuple[str, ...]:
        statuses = TARGETS[self.target]
        assert set(statuses) <= set(OUTCOME_STATUSES)
        return statuses


def load_config(path: str | Path | None) -> RunConfig:
    if path is None:
        return RunConfig()
    p = Path(path)
    try:
        raw = tomllib.loads(p.read_text("utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read configuration {p.name}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p.name}: not valid TOML: {exc}") from None
    try:
        return RunConfig.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(x) for x in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"{p.name}: {problems}") from None
