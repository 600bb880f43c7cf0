"""Extra client columns a drawn world may carry, and the names of assignment units.

A municipality's export often has columns beyond the contract's, declared
in the run configuration as extra features. A drawn world picks a few of
these, each either *prognostic* (it moves the hazards of work and
education) or *noise* (it moves nothing), so that the learners meet both.
The same column is prognostic in one world and noise in another.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from model.features import FeatureKind
from training.simulator.random_world.spec import ExtraColumn

Range = tuple[float, float]


@dataclass(frozen=True)
class ColumnTemplate:
    name: str
    kind: FeatureKind  # numeric, categorical, boolean
    share_true: Range = (0.3, 0.6)  # boolean
    median: Range = (1.0, 1.0)  # numeric: lognormal median ...
    spread: float = 0.5  # ... and spread of its logarithm
    categories: tuple[str, ...] = ()


COLUMN_POOL: tuple[ColumnTemplate, ...] = (
    ColumnTemplate("driving_licence", "boolean", share_true=(0.2, 0.6)),
    ColumnTemplate("has_cv", "boolean", share_true=(0.3, 0.7)),
    ColumnTemplate("interpreter_needed", "boolean", share_true=(0.2, 0.5)),
    ColumnTemplate("sports_club_member", "boolean", share_true=(0.05, 0.25)),
    ColumnTemplate("commute_minutes", "numeric", median=(20.0, 45.0), spread=0.5),
    ColumnTemplate("social_network_size", "numeric", median=(3.0, 10.0), spread=0.7),
    ColumnTemplate("prior_contacts", "numeric", median=(2.0, 6.0), spread=0.6),
    ColumnTemplate(
        "housing_area", "categorical", categories=("north", "south", "east", "west", "centre")
    ),
    ColumnTemplate("digital_skills", "categorical", categories=("basic", "good", "advanced")),
    ColumnTemplate(
        "preferred_contact", "categorical", categories=("phone", "email", "sms", "letter")
    ),
)

# Names of the assignment-unit column and how often a world uses each.
UNIT_COLUMNS = {"office": 0.5, "team": 0.25, "caseworker": 0.25}


def draw_column(template: ColumnTemplate, role: str, rng: np.random.Generator) -> ExtraColumn:
    """One world's version of a column: its distribution, role and coefficients."""
    prognostic = role == "prognostic"
    employment = float(rng.choice((-1.0, 1.0)) * rng.uniform(0.15, 0.5)) if prognostic else 0.0
    education = float(rng.choice((-1.0, 1.0)) * rng.uniform(0.0, 0.3)) if prognostic else 0.0
    column = ExtraColumn(
        name=template.name,
        kind=template.kind,
        role=role,
        employment_coefficient=round(employment, 3),
        education_coefficient=round(education, 3),
        missing_share=float(rng.choice((0.0, 0.0, 0.02, 0.1))),
    )
    if template.kind == "boolean":
        return replace(column, share_true=round(float(rng.uniform(*template.share_true)), 3))
    if template.kind == "numeric":
        median = round(float(rng.uniform(*template.median)), 1)
        return replace(column, median=median, spread=template.spread, threshold=median)
    shares = rng.dirichlet(np.full(len(template.categories), 3.0))
    scores = rng.standard_normal(len(template.categories))
    return replace(
        column,
        categories=template.categories,
        category_shares=tuple(round(float(share), 4) for share in shares),
        category_scores=tuple(round(float(score), 3) for score in scores - scores.mean()),
    )


@dataclass(frozen=True)
class ColumnValues:
    """A column for every client: as written (with gaps), its score and its group."""

    written: Any  # numpy array, or pandas' nullable booleans
    score: np.ndarray  # what the hazards read, from the true value
    group: np.ndarray  # the column's client group, from the true value
    observed_group: np.ndarray  # the same from the written value (False where missing)


def draw_values(column: ExtraColumn, n: int, rng: np.random.Generator) -> ColumnValues:
    """Draw the column's values for `n` clients."""
    missing = rng.random(n) < column.missing_share
    written: Any
    if column.kind == "boolean":
        truth = rng.random(n) < column.share_true
        score = truth - column.share_true
        group = truth
        written = pd.array(truth, dtype="boolean")
        written[missing] = pd.NA
    elif column.kind == "numeric":
        value = np.round(column.median * np.exp(column.spread * rng.standard_normal(n)))
        ratio = np.maximum(value, 0.5) / column.median
        score = np.clip(np.log(ratio) / column.spread, -2.0, 2.0)
        group = value > column.threshold
        written = np.where(missing, np.nan, value)
    else:
        shares = np.asarray(column.category_shares)
        index = rng.choice(len(column.categories), size=n, p=shares / shares.sum())
        score = np.asarray(column.category_scores)[index]
        group = score > 0.0
        written = np.asarray(column.categories, dtype=object)[index]
        written[missing] = None
    return ColumnValues(written, np.asarray(score, dtype=np.float64), group, group & ~missing)
