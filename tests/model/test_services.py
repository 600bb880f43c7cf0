"""The service report's figures (model.services), against hand computations on
small tables: the small-cell rule, waiting times, language gains, work that
matches education, and the doubly-robust effect on a randomised toy world
whose true effect is known."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model.services.activity import volumes, waiting_times
from model.services.cells import OTHER, hidden_counts, pooled_categories
from model.services.effects import (
    ScoredRows,
    clustered_interval,
    group_effects,
    service_outcomes,
)
from model.services.groups import GroupFieldError, check_group_fields, group_values
from model.services.language import language_gains
from model.services.matching import education_match

K = 5
SINCE, UNTIL = date(2024, 1, 1), date(2024, 12, 31)


def day(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


# -- the small-cell rule -------------------------------------------------------------


def test_tiny_categories_are_pooled_and_large_ones_never_hidden() -> None:
    mapping = pooled_categories({"male": 576, "female": 540, "other": 3, "unknown": 2}, K)
    assert mapping == {"male": "male", "female": "female", "other": OTHER, "unknown": OTHER}
    assert pooled_categories({"a": 10, "b": 7}, K) == {"a": "a", "b": "b"}


@given(st.dictionaries(st.sampled_from("abcdefgh"), st.integers(0, 40), min_size=1))
@settings(max_examples=200, deadline=None)
def test_every_published_group_has_at_least_k_clients(counts: dict[str, int]) -> None:
    mapping = pooled_categories(counts, K)
    published: dict[str, int] = {}
    for name, count in counts.items():
        published[mapping[name]] = published.get(mapping[name], 0) + count
    for name, size in published.items():
        # only the pool may stay below k (it is then shown with every figure hidden)
        assert size == 0 or size >= K or name == OTHER, (counts, mapping)
    for name, count in counts.items():
        if count >= K and name != OTHER:
            assert mapping[name] == name  # never pooled, never hidden


def test_a_single_hidden_count_takes_the_smallest_other_with_it() -> None:
    hidden = hidden_counts(np.array([120, 3, 0, 40, 9]), K)
    assert hidden.tolist() == [False, True, False, False, True]
    assert hidden_counts(np.array([120, 3, 2, 40]), K).tolist() == [False, True, True, False]
    assert not hidden_counts(np.array([0, 5, 7]), K).any()


# -- volumes and waiting times ----------------------------------------------------------


def tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    clients = pd.DataFrame(
        {
            "client_id": [f"c{i}" for i in range(7)],
            "intake_date": [day("2024-01-10")] * 6 + [day("2024-02-01")],
            "finnish_level": ["A1", "A0", "A2", "A1", "unknown", "A1", "A1"],
        }
    )
    rows = []
    for i in range(6):
        rows.append((f"c{i}", "review", day("2024-01-20"), day("2024-01-20"), None))
        # waits from intake: 20 + 10 i days; from the review: 10 + 10 i days
        start = day("2024-01-30") + pd.Timedelta(days=10 * i)
        rows.append((f"c{i}", "integration_training", start, start + pd.Timedelta(days=100), "A2"))
    episodes = pd.DataFrame(
        rows, columns=["client_id", "service", "start_date", "end_date", "language_level_after"]
    )
    return clients, episodes


def test_waiting_times_are_the_hand_computed_ones() -> None:
    clients, episodes = tables()
    waits = waiting_times(
        clients, episodes, services=("integration_training",), since=SINCE, until=UNTIL, k=K
    )
    first = waits["intake_to_first_service"]
    days = np.array([20, 30, 40, 50, 60, 70])
    assert first["overall"]["n"] == 6
    assert first["overall"]["median"] == pytest.approx(np.median(days))
    assert first["overall"]["p90"] == pytest.approx(np.quantile(days, 0.9))
    assert first["overall"]["over_30"] == pytest.approx(4 / 6)
    assert first["overall"]["over_60"] == pytest.approx(1 / 6)
    assert first["not_started"] == 0 or first["not_started"] is None  # one client: hidden
    review = waits["review_to_start"]["by_service"]["integration_training"]
    assert review["median"] == pytest.approx(np.median(days - 10))


def test_waits_resting_on_fewer_than_k_are_hidden() -> None:
    clients, episodes = tables()
    few = episodes.loc[episodes["client_id"].isin(["c0", "c1", "c2"])]
    waits = waiting_times(
        clients, few, services=("integration_training",), since=SINCE, until=UNTIL, k=K
    )
    assert waits["intake_to_first_service"]["overall"]["n"] is None
    assert waits["intake_to_first_service"]["overall"]["median"] is None


def test_volumes_hide_small_months_but_keep_the_totals_safe() -> None:
    clients, episodes = tables()
    figures = volumes(
        clients, episodes, services=("integration_training",), since=SINCE, until=UNTIL, k=K
    )
    starts = figures["starts"]["integration_training"]
    # 1 start in January, 3 in February, 2 in March: all hidden; the total (6) shown
    assert starts["2024-01"] is None and starts["2024-02"] is None and starts["2024-03"] is None
    assert starts["2024-04"] == 0
    assert figures["totals"]["starts"]["integration_training"] == 6
    # intakes: 6 in January, 1 in February: February hidden, and January with it
    # (the smallest other month), or the total of 7 would give February back
    assert figures["intakes"]["2024-02"] is None and figures["intakes"]["2024-01"] is None
    assert figures["totals"]["intakes"] == 7


# -- language ------------------------------------------------------------------------


def test_language_gain_counts_steps_from_the_best_level_known_at_the_start() -> None:
    clients, episodes = tables()
    gains = language_gains(
        clients, episodes, services=("integration_training",), since=SINCE, until=UNTIL, k=K
    )
    record = gains["services"]["integration_training"]
    # before: A1, A0, A2, A1, (unknown: left out), A1 -> after A2: gains 1, 2, 0, 1, 1
    assert record["measured"] == 5
    assert record["gained_share"] == pytest.approx(4 / 5)
    assert record["median_gain"] == 1.0
    assert record["median_before"] == "A1" and record["median_after"] == "A2"
    assert not language_gains(
        clients,
        episodes.drop(columns="language_level_after"),
        services=("integration_training",),
        since=SINCE,
        until=UNTIL,
        k=K,
    )["available"]


def test_an_earlier_measured_level_counts_as_the_level_before() -> None:
    clients, episodes = tables()
    earlier = pd.DataFrame(
        {
            "client_id": [f"c{i}" for i in range(6)],
            "service": ["literacy_training"] * 6,
            "start_date": [day("2024-01-11")] * 6,
            "end_date": [day("2024-01-25")] * 6,
            "language_level_after": ["B1"] * 6,
        }
    )
    both = pd.concat([episodes, earlier], ignore_index=True)
    gains = language_gains(
        clients, both, services=("integration_training",), since=SINCE, until=UNTIL, k=K
    )
    record = gains["services"]["integration_training"]
    assert record["measured"] == 6  # the unknown intake level is now known: B1
    assert record["gained_share"] == 0.0 and record["median_gain"] == -1.0


# -- work that matches education ------------------------------------------------------------


def test_matching_reads_the_first_work_spell_within_the_horizon() -> None:
    starts = pd.DataFrame(
        {
            "client_id": [f"c{i}" for i in range(6)],
            "decision_date": [day("2024-01-01")] * 6,
            "action": ["degree_recognition"] * 6,
        }
    )
    outcomes = pd.DataFrame(
        {
            "client_id": [f"c{i}" for i in range(6)] + ["c0"],
            "status": ["employed"] * 5 + ["unemployed", "employed"],
            "start_date": [day("2024-03-01")] * 6 + [day("2024-06-01")],
            "end_date": [pd.NaT] * 7,
            "matches_education": [True, True, False, True, None, None, False],
        }
    )
    out = education_match(starts, outcomes, services=("degree_recognition",), horizon_days=365, k=3)
    record = out["services"]["degree_recognition"]
    assert out["available"]
    assert record == {"found_work": 5, "recorded": 4, "matching_share": 0.75}
    missing = education_match(
        starts,
        outcomes.drop(columns="matches_education"),
        services=("degree_recognition",),
        horizon_days=365,
        k=3,
    )
    assert missing == {"available": False, "overall": None, "services": {}}


# -- effects -------------------------------------------------------------------------------


def randomised(n: int, seed: int, effect: float) -> ScoredRows:
    """Service 0 vs no new service (1), assigned at random with known propensity 1/2."""
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 2, n)
    taken = rng.integers(0, 2, n)
    base = 0.3 + 0.1 * group
    y = (rng.random(n) < base + effect * (taken == 0)).astype(float)
    mu = np.column_stack([base + 0.5 * effect, base])  # a wrong outcome model
    return ScoredRows(
        actions=("job_search_coaching", "no_new_service"),
        taken=taken,
        y=y,
        mu=mu,
        propensity=np.full((n, 2), 0.5),
        eligible=np.ones((n, 2), dtype=bool),
        clients=np.asarray([f"c{i}" for i in range(n)], dtype=object),
    )


def test_the_effect_covers_a_known_randomised_effect() -> None:
    rows = randomised(4000, 1, 0.1)
    out = service_outcomes(rows, k=K, n_boot=100, sensitivity_boot=50)
    record = out["job_search_coaching"]
    assert record["low"] <= 0.1 <= record["high"]
    assert record["low"] > 0  # clearly better
    sensitivity = record["sensitivity"]
    assert sensitivity["low"] <= record["low"] and sensitivity["high"] >= record["high"]
    assert out["no_new_service"]["observed_rate"] == pytest.approx(rows.y[rows.taken == 1].mean())


def test_a_tiny_group_is_hidden_without_hiding_the_large_one() -> None:
    rows = randomised(400, 2, 0.1)
    values = np.where(np.arange(400) < 396, "big", "tiny").astype(object)
    sections = group_effects(rows, {"residence_basis": values}, k=K)
    groups = {g["group"]: g for g in sections[0]["groups"]}
    assert set(groups) == {"big", OTHER}
    assert groups["big"]["clients"] == 396
    assert groups["big"]["effects"]["job_search_coaching"]["effect"] is not None
    assert groups[OTHER]["clients"] is None
    assert groups[OTHER]["effects"]["job_search_coaching"]["effect"] is None


def test_the_group_interval_is_the_clustered_one_and_covers_a_randomised_effect() -> None:
    rows = randomised(6000, 4, 0.1)
    halves = np.where(np.arange(6000) % 2 == 0, "even", "odd").astype(object)
    sections = group_effects(rows, {"residence_basis": halves}, k=K)
    for group in sections[0]["groups"]:
        record = group["effects"]["job_search_coaching"]
        assert record["low"] <= 0.1 <= record["high"]
    terms = np.array([1.0, 3.0, 2.0, 2.0])
    value, low, high = clustered_interval(terms, np.array([0, 0, 1, 1]))
    # clusters sum to 4 and 4 with two rows each: no spread between clusters
    assert value == 2.0 and low == pytest.approx(2.0) and high == pytest.approx(2.0)
    value, low, high = clustered_interval(np.array([1.0, 3.0]), np.array([0, 1]))
    assert high - value == pytest.approx(1.959963984540054 * np.sqrt(2.0) / 2.0)


def test_group_fields_are_checked_by_name() -> None:
    frame = pd.DataFrame(
        {
            "residence_basis": ["work"],
            "finnish_level": [2.0],
            "years_since_arrival": [0.5],
            "age": [30.0],
        }
    )
    assert check_group_fields(["residence_basis", "finnish_level_band"], frame)
    with pytest.raises(GroupFieldError, match=r"'age'.*use one of"):
        check_group_fields(["age"], frame)
    assert group_values(frame, "finnish_level_band").tolist() == ["A2"]
    assert group_values(frame, "years_since_arrival_band").tolist() == ["<1"]
