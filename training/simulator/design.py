"""A world's design: what makes one simulated world different from another.

The simulator's machinery (clients walking through epochs, event clocks,
waits, the truth's closed-form sums) is the same for every world. What a
world *is* (its services and what they do, whom they suit, how its
caseworkers choose, which extra columns its clients table has) is its
design. `World` holds one and asks it whenever the machinery needs a
world-specific answer.

Two designs exist: the built-in Espoo-like world (`training.simulator.builtin`)
and the family of randomly drawn worlds (`training.simulator.random_world`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from model.catalogue import Catalogue
from model.features import FeatureKind

if TYPE_CHECKING:
    from training.simulator.history import History
    from training.simulator.params import WorldParams
    from training.simulator.profiles import Profiles
    from training.simulator.state import State
    from training.simulator.world import World


@dataclass(frozen=True)
class ServiceTables:
    """Per-service constants as arrays indexed by the catalogue's service order."""

    typical_days: np.ndarray
    lock_in_employment: np.ndarray
    lock_in_education: np.ndarray
    max_wait_days: np.ndarray
    # Services during which the client is in subsidised employment rather
    # than unemployed (the outcomes table shows them as such).
    paid_work: np.ndarray


class Design(ABC):
    """The world-specific answers the simulator's machinery asks for."""

    #: the scenario's name, as `polku simulate --scenario` knows it
    scenario: str

    @abstractmethod
    def catalogue(self) -> Catalogue:
        """The world's service catalogue (its services are the world's services)."""

    def check_catalogue(self, catalogue: Catalogue) -> None:  # noqa: B027
        """Refuse a catalogue the design cannot simulate; by default accept any."""

    @property
    def extra_features(self) -> dict[str, FeatureKind]:
        """Extra client columns the clients table carries, by kind (none by default)."""
        return {}

    @abstractmethod
    def draw_profiles(self, params: WorldParams, rng: np.random.Generator) -> Profiles:
        """Every client's profile, extra columns and latent traits."""

    @abstractmethod
    def service_tables(self, codes: tuple[str, ...], params: WorldParams) -> ServiceTables:
        """Lengths, lock-in, waits and paid work of the services `codes`, in that order."""

    @abstractmethod
    def static_policy_logits(self, world: World) -> np.ndarray:
        """(clients, actions) part of the caseworkers' logits that depends on the client alone."""

    @abstractmethod
    def policy_logits(self, world: World, state: State) -> np.ndarray:
        """(walkers, actions) logits of the caseworkers' choice, before eligibility and noise."""

    @abstractmethod
    def interruption_probability(
        self, world: World, state: State, service: np.ndarray
    ) -> np.ndarray:
        """Chance that each walker's `service`, starting now, is interrupted."""

    @abstractmethod
    def finnish_after(
        self,
        world: World,
        state: State,
        service: np.ndarray,
        completed: np.ndarray,
        draw: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The true Finnish rank after `service`, and where the level was measured.

        `draw` is the walker's uniform language draw for the epoch.
        """

    @abstractmethod
    def lasting_effects(
        self,
        world: World,
        state: State,
        service: np.ndarray,
        start: np.ndarray,
        apply: np.ndarray,
        completed: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Log-hazard increments (employment, education) the service leaves behind.

        `apply` marks the walkers whose service ended, `completed` those of
        them who completed it; the state's Finnish is the level before any
        gain from this service.
        """

    def extra_feature(self, world: World, state: State, name: str) -> np.ndarray:
        """The extra column `name` as the walkers' decision-point feature."""
        raise KeyError(f"this world has no extra column {name!r}")

    def describe(self) -> dict[str, Any] | None:
        """The drawn design for `world.json`, or None when the parameters say it all."""
        return None

    def files(self, params: WorldParams) -> dict[str, str]:
        """Files written beside the data (e.g. the world's catalogue), by name."""
        return {}

    def summarise(self, history: History, params: WorldParams) -> dict[str, Any] | None:
        """Figures of the drawn world for `world.json`, or None."""
        return None
