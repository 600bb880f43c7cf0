"""The historical caseworker policy: which action a plan review picks.

At every review the caseworker picks one eligible action: a service from the
catalogue or "no new service". The policy is a logit model whose logits
come from the world's design (habits on the profile, selection on what the
data never shows, budgets) and whose noise (Gumbel draws in `Noise`) is
drawn up front, so the same client at the same epoch makes the same choice
on every path that reaches that review.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from training.simulator.state import Noise, State

if TYPE_CHECKING:
    from training.simulator.world import World


def choose(world: World, state: State, noise: Noise | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The historical policy's action at a review; also the eligibility matrix."""
    columns = world.features(state, world.rule_features)
    eligible = world.eligible(columns, len(state))
    logits = world.design.policy_logits(world, state)
    logits = np.where(eligible, logits, -np.inf)
    noise = noise if noise is not None else world.noise
    logits = logits + noise.gumbel[state.client, world.noise_epoch(state)]
    return np.argmax(logits, axis=1), eligible
