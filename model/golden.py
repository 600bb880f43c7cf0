"""Golden cases: a few fixed clients whose top service a model must reproduce.

They guard the step from a trained model to a served one. At training time
`expected_top_services` ranks the golden clients through the batch path
(`features_at` on tables, then `Router.score`), and the result travels with
the model (`Router.metadata["golden_cases"]`). Whoever loads the model to
serve it runs `check_golden`: the serving path (`client_features`, then
`Router.recommend`) must give every golden client the same top service, and
sane numbers. When the model carries no expectations, the batch path computes
them at load, which still proves that the two paths agree for this model.

The clients are invented, fixed and ordinary (no one is an edge case): a
newly arrived refugee with no Finnish, a graduate with some Finnish after
integration training, a worker with an interrupted course and months of
unemployment, a client with a health limitation.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Final

import pandas as pd

from model.client_features import client_features
from model.decision_points.features import features_at
from model.vocab import NO_NEW_SERVICE, REVIEW

if TYPE_CHECKING:
    from model.router import Router

METADATA_KEY: Final = "golden_cases"


@dataclass(frozen=True)
class GoldenCase:
    name: str
    client: Mapping[str, Any]
    as_of: date
    episodes: Sequence[Mapping[str, Any]] = field(default_factory=tuple)
    outcomes: Sequence[Mapping[str, Any]] = field(default_factory=tuple)


def _profile(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "gender": "female",
        "mother_tongue": "ar",
        "citizenship_region": "middle_east",
        "residence_basis": "humanitarian",
        "education_level": "secondary",
        "prior_work_years": 2.0,
        "literacy_needs": False,
        "finnish_level": "A0",
        "health_limitation": False,
        "children_under_school_age": 0,
    }
    base.update(fields)
    return base


def _episode(
    service: str, start: str, end: str | None, status: str, level: str | None = None
) -> dict[str, Any]:
    return {
        "service": service,
        "start_date": date.fromisoformat(start),
        "end_date": None if end is None else date.fromisoformat(end),
        "status": status,
        "language_level_after": level,
        "planned_service": None,
    }


def _spell(status: str, start: str, end: str | None) -> dict[str, Any]:
    return {
        "status": status,
        "start_date": date.fromisoformat(start),
        "end_date": None if end is None else date.fromisoformat(end),
    }


GOLDEN_CASES: Final[tuple[GoldenCase, ...]] = (
    GoldenCase(
        "new_arrival_no_finnish",
        _profile(
            client_id="golden-1",
            intake_date=date(2023, 3, 1),
            arrival_date=date(2023, 1, 15),
            birth_year=1994,
            literacy_needs=True,
            education_level="primary",
        ),
        as_of=date(2023, 3, 20),
        outcomes=(_spell("unemployed", "2023-03-01", None),),
    ),
    GoldenCase(
        "graduate_after_integration_training",
        _profile(
            client_id="golden-2",
            intake_date=date(2022, 1, 10),
            arrival_date=date(2021, 11, 1),
            birth_year=1990,
            gender="male",
            mother_tongue="ru",
            citizenship_region="europe_other",
            residence_basis="family",
            education_level="master_or_higher",
            prior_work_years=6.0,
            finnish_level="A1",
        ),
        as_of=date(2023, 6, 1),
        episodes=(
            _episode("initial_assessment", "2022-01-17", "2022-02-10", "completed"),
            _episode("integration_plan", "2022-02-14", "2022-03-01", "completed"),
            _episode("integration_training", "2022-03-14", "2023-02-28", "completed", "B1"),
            _episode(REVIEW, "2023-05-20", "2023-05-20", "completed"),
        ),
        outcomes=(_spell("unemployed", "2022-01-10", None),),
    ),
    GoldenCase(
        "worker_interrupted_course",
        _profile(
            client_id="golden-3",
            intake_date=date(2021, 9, 1),
            arrival_date=date(2020, 5, 1),
            birth_year=1982,
            gender="male",
            mother_tongue="so",
            citizenship_region="africa",
            residence_basis="family",
            education_level="vocational",
            prior_work_years=10.0,
            finnish_level="A1",
            children_under_school_age=2,
        ),
        as_of=date(2022, 10, 3),
        episodes=(
            _episode("initial_assessment", "2021-09-08", "2021-10-01", "completed"),
            _episode("integration_plan", "2021-10-04", "2021-10-20", "completed"),
            _episode("integration_training", "2021-11-01", "2022-03-15", "interrupted"),
        ),
        outcomes=(_spell("unemployed", "2021-09-01", None),),
    ),
    GoldenCase(
        "health_limitation",
        _profile(
            client_id="golden-4",
            intake_date=date(2022, 4, 4),
            arrival_date=date(2022, 3, 1),
            birth_year=1971,
            mother_tongue="uk",
            citizenship_region="europe_other",
            residence_basis="temporary_protection",
            education_level="bachelor",
            finnish_level="A0",
            health_limitation=True,
        ),
        as_of=date(2022, 8, 15),
        episodes=(
            _episode("initial_assessment", "2022-04-11", "2022-05-02", "completed"),
            _episode("integration_plan", "2022-05-09", "2022-05-30", "completed"),
        ),
        outcomes=(_spell("unemployed", "2022-04-04", None),),
    ),
)


def _episodes_for(case: GoldenCase, router: Router) -> list[Mapping[str, Any]]:
    """The case's episodes whose service the model's catalogue knows (plus reviews)."""
    known = set(router.catalogue.service_codes) | {REVIEW}
    return [e for e in case.episodes if e["service"] in known]


def serving_features(case: GoldenCase, router: Router) -> dict[str, Any]:
    return client_features(
        case.client,
        _episodes_for(case, router),
        case.outcomes,
        case.as_of,
        services=router.catalogue.service_codes,
        extras=router.config.extra_features,
    )


def expected_top_services(
    router: Router, cases: Sequence[GoldenCase] = GOLDEN_CASES
) -> dict[str, str]:
    """Top service of every case through the batch path (tables, `features_at`, `score`)."""
    clients = pd.DataFrame([dict(c.client) for c in cases])
    for column in ("intake_date", "arrival_date"):
        clients[column] = pd.to_datetime(clients[column])
    episodes = pd.DataFrame(
        [
            {"client_id": c.client["client_id"], **e}
            for c in cases
            for e in _episodes_for(c, router)
        ],
        columns=[
            "client_id",
            "service",
            "start_date",
            "end_date",
            "status",
            "language_level_after",
            "planned_service",
        ],
    )
    outcomes = pd.DataFrame(
        [{"client_id": c.client["client_id"], **o} for c in cases for o in c.outcomes],
        columns=["client_id", "status", "start_date", "end_date"],
    )
    for frame in (episodes, outcomes):
        for column in ("start_date", "end_date"):
            frame[column] = pd.to_datetime(frame[column])
    points = pd.DataFrame(
        {
            "client_id": [c.client["client_id"] for c in cases],
            "decision_date": pd.to_datetime([c.as_of for c in cases]),
        }
    )
    features = features_at(
        clients, episodes, outcomes, points, catalogue=router.catalogue, config=router.config
    )
    batch = router.score(features, intervals=False)
    return {case.name: router.actions[int(batch.recommended[i])] for i, case in enumerate(cases)}


def check_golden(
    router: Router,
    expected: Mapping[str, str] | None = None,
    cases: Sequence[GoldenCase] = GOLDEN_CASES,
) -> list[str]:
    """Problems of `router` on the golden cases; an empty list when it passes.

    `expected` maps case names to top services (by default the model's own
    `metadata["golden_cases"]`, else the batch path's answer computed now).
    """
    if expected is None:
        stored = router.metadata.get(METADATA_KEY)
        expected = (
            dict(stored) if isinstance(stored, Mapping) else expected_top_services(router, cases)
        )
    problems: list[str] = []
    for case in cases:
        if case.name not in expected:
            continue
        features = serving_features(case, router)
        answer = router.recommend(features, k=len(router.actions), language="en", explain=True)
        if not answer.recommendations:
            problems.append(f"{case.name}: no recommendation")
            continue
        top = answer.recommendations[0].service
        if top != expected[case.name]:
            problems.append(f"{case.name}: top service {top}, expected {expected[case.name]}")
        for scored in [*answer.recommendations, answer.reference]:
            low, high = scored.interval
            numbers = (scored.p_outcome, low, high, scored.uplift)
            if not all(math.isfinite(x) for x in numbers) or not 0.0 <= scored.p_outcome <= 1.0:
                problems.append(f"{case.name}: {scored.service}: probability not in [0, 1]")
            elif not low - 1e-9 <= scored.p_outcome <= high + 1e-9:
                problems.append(
                    f"{case.name}: {scored.service}: interval does not hold the estimate"
                )
            if any(not math.isfinite(c.contribution) for c in scored.explanation):
                problems.append(f"{case.name}: {scored.service}: explanation is not finite")
        if NO_NEW_SERVICE not in {s.service for s in answer.recommendations}:
            problems.append(f"{case.name}: {NO_NEW_SERVICE} is not ranked")
    return problems
