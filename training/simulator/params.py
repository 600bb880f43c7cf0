"""The settings that define a world.

A world is reproducible from its parameters alone: the seed fixes every
draw, and `write_world` stores the parameters in `world.json` beside the
data. Besides its size and dates, the parameters set how strongly the
historical policy is confounded, how much the hidden motivation matters,
and how large the services' effects and lock-in are, so that the learners
can be judged on harder and easier worlds.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class WorldParams:
    """Everything that defines a world; written to `world.json` beside the data."""

    n_clients: int = 10_000
    seed: int = 1
    # Strength of the historical policy's profile-driven habits (0 = assignment
    # ignores the profile apart from eligibility and the fixed first steps).
    confounding: float = 1.0
    # How strongly caseworkers select motivated clients into some services.
    motivation_selection: float = 1.0
    # Effect of (unobserved) motivation on the outcome hazards.
    motivation_effect: float = 0.5
    # Scale every service's lasting effects (harm included), and its lock-in.
    effect_scale: float = 1.0
    lock_in_scale: float = 1.0
    # Share of plan reviews whose agreed service the case system records.
    planned_service_recorded: float = 0.5
    move_away_per_year: float = 0.04
    first_intake: str = "2018-01-01"
    extract_date: str = "2025-12-31"
    horizon_days: int = 365
    max_years_in_services: float = 4.0
    max_epochs: int = 18
    # Draws of the randomness after a decision that the truth averages over.
    truth_replicates: int = 6

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
