"""Assignment units as instruments: the bias of a model's effects, as the units show it."""

from __future__ import annotations

import numpy as np
import pytest

from model.instruments import pooled_shrinkage, unit_correction

ACTIONS = 4  # three services and no new service (the last, the reference)
REFERENCE = 3
TRUE_EFFECT = np.array([0.05, 0.0, -0.03, 0.0])


def _world(
    *, seed: int, units: int = 40, n: int = 60_000, selection: float = 1.5, direct: float = 0.0
) -> dict[str, np.ndarray]:
    """Clients assigned to units at random; each unit's habits shift the services'
    logits; caseworkers also send the readier clients to service 0 (`selection`),
    and readiness raises the chance of success. `direct` gives each unit its own
    effect on the outcome (an invalid instrument)."""
    rng = np.random.default_rng(seed)
    unit = rng.integers(0, units, n)
    habits = rng.normal(0.0, 0.8, (units, ACTIONS))
    habits[:, REFERENCE] = 0.0
    readiness = rng.normal(size=n)
    logits = habits[unit] + rng.gumbel(size=(n, ACTIONS))
    logits[:, 0] += selection * readiness
    taken = logits.argmax(axis=1)
    unit_effect = rng.normal(0.0, direct, units)
    chance = np.clip(0.3 + TRUE_EFFECT[taken] + 0.08 * readiness + unit_effect[unit], 0.01, 0.99)
    y = (rng.random(n) < chance).astype(float)
    # The model: each action's observed success rate (what a model blind to
    # readiness and units learns); the policy given the (absent) features: the shares.
    rates = np.array([y[taken == a].mean() for a in range(ACTIONS)])
    shares = np.bincount(taken, minlength=ACTIONS) / n
    return {
        "residual": y - rates[taken],
        "taken": taken,
        "propensity": np.tile(shares, (n, 1)),
        "units": np.array([f"office_{u}" for u in unit], dtype=object),
        "model_effect": rates - rates[REFERENCE],
    }


def test_a_valid_unit_shows_the_bias_of_a_selected_service() -> None:
    # Enough units and clients that the precise estimates show the biases' spread:
    # with fewer, the pooled shrinkage rightly keeps nothing of a bias at one SE.
    world = _world(seed=1, units=80, n=120_000)
    c = unit_correction(
        residual=world["residual"],
        taken=world["taken"],
        propensity=world["propensity"],
        units=world["units"],
        reference=REFERENCE,
    )
    true_bias = world["model_effect"] - (TRUE_EFFECT - TRUE_EFFECT[REFERENCE])
    assert true_bias[0] > 0.05  # the readier clients made service 0 look good
    # only biases relative to one another are estimated
    for a, b in ((0, 1), (0, 2), (1, 2)):
        got, want = c.bias[a] - c.bias[b], true_bias[a] - true_bias[b]
        assert abs(got - want) < 3 * (c.standard_error[a] + c.standard_error[b]) + 0.01, (a, b)
    shrunk = c.shrunk()
    assert shrunk[0] > shrunk[1] and shrunk[0] > shrunk[2] and shrunk[0] > 0
    assert c.bias[REFERENCE] == 0.0 and c.standard_error[REFERENCE] == 0.0
    assert not c.rejected


def test_a_unit_with_its_own_effect_on_outcomes_is_flagged_and_its_corrections_widen() -> None:
    valid = _world(seed=2, selection=0.0)
    invalid = _world(seed=2, selection=0.0, direct=0.05)
    out = {}
    for name, world in (("valid", valid), ("invalid", invalid)):
        out[name] = unit_correction(
            residual=world["residual"],
            taken=world["taken"],
            propensity=world["propensity"],
            units=world["units"],
            reference=REFERENCE,
        )
    assert out["invalid"].rejected and out["invalid"].j_p_value < out["valid"].j_p_value
    assert np.all(out["invalid"].standard_error[:3] > out["valid"].standard_error[:3])
    assert out["invalid"].extra["unit_scatter_sd"] > 0.02


@pytest.mark.parametrize("units", [6, 12])
def test_too_few_units_estimate_nothing(units: int) -> None:
    world = _world(seed=3, units=units)
    c = unit_correction(
        residual=world["residual"],
        taken=world["taken"],
        propensity=world["propensity"],
        units=world["units"],
        reference=REFERENCE,
    )
    # a dozen units are too few differences to tell habits from chance
    assert np.all(c.bias == 0.0) and np.all(np.isinf(c.standard_error[:3]))
    np.testing.assert_array_equal(c.shrunk(), np.zeros(ACTIONS))


@pytest.mark.parametrize("seed", [4, 5])
def test_no_hidden_selection_means_no_correction_beyond_noise(seed: int) -> None:
    world = _world(seed=seed, selection=0.0)
    c = unit_correction(
        residual=world["residual"],
        taken=world["taken"],
        propensity=world["propensity"],
        units=world["units"],
        reference=REFERENCE,
    )
    assert np.all(np.abs(c.shrunk()[:3]) < 0.02)


def test_a_clients_points_count_as_one_draw_in_the_overidentification_test() -> None:
    """Valid units, no selection, but each client's four points share the client's own
    chance of success: counted as independent draws, the units' scatter looks beyond
    sampling noise; counted by client, it does not."""
    rng = np.random.default_rng(11)
    clients, per_client, units = 12_000, 4, 40
    unit_of_client = rng.integers(0, units, clients)
    habits = rng.normal(0.0, 0.8, (units, ACTIONS))
    habits[:, REFERENCE] = 0.0
    client = np.repeat(np.arange(clients), per_client)
    unit = unit_of_client[client]
    taken = (habits[unit] + rng.gumbel(size=(len(client), ACTIONS))).argmax(axis=1)
    own_chance = rng.choice([0.05, 0.9], clients)[client]
    y = (rng.random(len(client)) < np.clip(own_chance + TRUE_EFFECT[taken], 0, 1)).astype(float)
    rates = np.array([y[taken == a].mean() for a in range(ACTIONS)])
    shares = np.bincount(taken, minlength=ACTIONS) / len(client)
    common = {
        "residual": y - rates[taken],
        "taken": taken,
        "propensity": np.tile(shares, (len(client), 1)),
        "units": np.array([f"team_{u}" for u in unit], dtype=object),
        "reference": REFERENCE,
    }
    by_point = unit_correction(**common)
    by_client = unit_correction(**common, clusters=client)
    assert by_point.rejected
    assert not by_client.rejected
    np.testing.assert_allclose(by_client.bias, by_point.bias)


def test_pooled_shrinkage_drops_a_far_but_noisy_estimate_when_the_precise_ones_show_none() -> None:
    """One service far out but with a wide error beside precise estimates near zero: the
    biases' spread is what the precise ones show, so the noisy one moves nothing."""
    bias = np.array([0.01, -0.02, 0.015, 1.8, 0.0])
    se = np.array([0.05, 0.05, 0.05, 1.5, 0.0])
    np.testing.assert_array_equal(pooled_shrinkage(bias, se), np.zeros(5))
    # Precise estimates that do spread keep a share of each, the reference none.
    bias = np.array([0.20, -0.15, 0.10, 0.0])
    se = np.array([0.03, 0.03, 0.03, 0.0])
    out = pooled_shrinkage(bias, se)
    assert np.all(np.sign(out[:3]) == np.sign(bias[:3]))
    assert np.all(np.abs(out[:3]) < np.abs(bias[:3])) and np.all(
        np.abs(out[:3]) > 0.8 * np.abs(bias[:3])
    )
    assert out[3] == 0.0
