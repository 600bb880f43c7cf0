"""The policy tree (model.services.policy_tree): it recovers a rule a recommender
follows, says it in words, falls back when its action is not open, and values
itself doubly robustly against the full policy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from model.services.policy_tree import (
    NotFittedError,
    PolicyTree,
    imitation_weights,
    policy_summary,
    value_share,
)

ACTIONS = ("degree_recognition", "job_search_coaching", "no_new_service")
NAMES = {
    "degree_recognition": {
        "fi": "Tutkinnon tunnustaminen",
        "sv": "Erkännande av examen",
        "en": "Degree recognition",
    },
    "job_search_coaching": {
        "fi": "Työnhakuvalmennus",
        "sv": "Jobbsökarträning",
        "en": "Job-search coaching",
    },
    "no_new_service": {"fi": "Ei uutta palvelua", "sv": "Ingen ny tjänst", "en": "No new service"},
}


def clients(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "education_level": rng.choice(
                ["primary", "secondary", "bachelor", "master_or_higher"], n
            ),
            "finnish_level": rng.integers(0, 5, n).astype(float),
            "years_since_arrival": rng.uniform(0, 8, n),
            "residence_basis": rng.choice(["work", "family", "humanitarian"], n),
            "literacy_needs": rng.random(n) < 0.1,
        }
    )


def the_rule(frame: pd.DataFrame) -> np.ndarray:
    """Tertiary education and Finnish A2 or better: degree recognition; else coaching."""
    tertiary = frame["education_level"].isin(["bachelor", "master_or_higher"]).to_numpy()
    return np.where(tertiary & (frame["finnish_level"].to_numpy() >= 2), 0, 1)


def test_the_tree_recovers_a_rule_and_says_it_in_three_languages() -> None:
    frame = clients(3000)
    rule = the_rule(frame)
    tree = PolicyTree(max_depth=2).fit(frame, rule, np.ones(len(frame)), ACTIONS)
    eligible = np.ones((len(frame), 3), dtype=bool)
    assert np.array_equal(tree.predict(frame, eligible), rule)
    rules = tree.rules(NAMES)
    assert len(rules) <= 4
    assert sum(r["share"] for r in rules) == pytest.approx(1.0)
    recognition = [r for r in rules if r["actions"][0] == "degree_recognition"]
    assert len(recognition) == 1
    text = recognition[0]["text"]
    assert "bachelor's degree or higher" in text["en"] and "A2 or better" in text["en"]
    assert "Degree recognition" in text["en"]
    assert "Tutkinnon tunnustaminen" in text["fi"] and "Erkännande av examen" in text["sv"]


def test_an_action_not_open_to_the_client_falls_to_the_next_of_the_leaf() -> None:
    frame = clients(2000, seed=1)
    rule = the_rule(frame)
    tree = PolicyTree(max_depth=2).fit(frame, rule, np.ones(len(frame)), ACTIONS)
    closed = np.ones((len(frame), 3), dtype=bool)
    closed[:, 0] = False  # degree recognition open to no one
    actions = tree.predict(frame, closed)
    assert not np.any(actions == 0)
    assert set(np.unique(actions)) <= {1, 2}


def test_use_before_fit_is_refused() -> None:
    with pytest.raises(NotFittedError, match="fit"):
        PolicyTree().predict(clients(5), np.ones((5, 3), dtype=bool))
    with pytest.raises(ValueError, match="max_depth"):
        PolicyTree(max_depth=6).fit(clients(50), np.zeros(50, dtype=int), np.ones(50), ACTIONS)


def test_the_summary_values_the_rules_against_the_full_policy() -> None:
    frame = clients(4000, seed=2)
    n = len(frame)
    rule = the_rule(frame)
    rng = np.random.default_rng(3)
    # truth: the rule's action gains 0.2 over the other; history chooses at random
    truth = np.full((n, 3), 0.2)
    truth[np.arange(n), rule] = 0.4
    taken = rng.integers(0, 3, n)
    y = (rng.random(n) < truth[np.arange(n), taken]).astype(float)
    mu = truth.copy()
    propensity = np.full((n, 3), 1 / 3)
    eligible = np.ones((n, 3), dtype=bool)
    weights = imitation_weights(mu, eligible, rule)
    assert np.all(weights > 0)
    tree = PolicyTree(max_depth=1).fit(frame, rule, weights, ACTIONS)
    summary = policy_summary(
        tree,
        frame,
        eligible=eligible,
        y=y,
        taken=taken,
        mu=mu,
        propensity=propensity,
        recommended=rule,
        service_names=NAMES,
        truth=truth,
    )
    # one split cannot say both conditions: it keeps part of the gain, not all
    true_share = summary["truth"]["share_of_gain"]
    assert 0 < true_share < 1
    assert summary["share_of_gain"] == pytest.approx(true_share, abs=0.25)
    assert summary["v_rec"] == pytest.approx(0.4, abs=0.03)
    assert value_share(0.2, 0.2, 0.3) is None


def test_a_split_that_changes_no_action_is_left_out_of_the_words() -> None:
    frame = clients(3000, seed=4)
    rule = the_rule(frame)
    tree = PolicyTree(max_depth=2).fit(frame, rule, np.ones(len(frame)), ACTIONS)
    before = tree.rules(NAMES)
    inner = tree.tree_.tree_
    # make two sibling leaves offer the same actions: their split says nothing
    node = next(
        n
        for n in range(inner.node_count)
        if inner.children_left[n] != -1
        and inner.children_left[inner.children_left[n]] == -1
        and inner.children_left[inner.children_right[n]] == -1
    )
    left, right = int(inner.children_left[node]), int(inner.children_right[node])
    tree.leaf_actions_[right] = list(tree.leaf_actions_[left])
    after = tree.rules(NAMES)
    assert len(after) < len(before)  # here every leaf now says the same: one rule
    assert sum(r["share"] for r in after) == pytest.approx(1.0)
