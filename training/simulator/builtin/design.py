"""`BuiltinDesign`: the built-in world as a design the simulator's machinery asks."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from model.catalogue import Catalogue, load_catalogue
from training.simulator.builtin import policy, services
from training.simulator.design import Design, ServiceTables
from training.simulator.profiles import Profiles, draw_profiles

if TYPE_CHECKING:
    from training.simulator.params import WorldParams
    from training.simulator.state import State
    from training.simulator.world import World


class BuiltinDesign(Design):
    """The Espoo-like world of docs/world.md, on the default catalogue."""

    scenario = "builtin"

    def catalogue(self) -> Catalogue:
        return load_catalogue()

    def check_catalogue(self, catalogue: Catalogue) -> None:
        missing = set(services.SERVICE_TYPICAL_DAYS) - set(catalogue.service_codes)
        if missing:
            raise ValueError(f"the simulator needs the default services; missing {sorted(missing)}")

    def draw_profiles(self, params: WorldParams, rng: np.random.Generator) -> Profiles:
        return draw_profiles(params, rng)

    def service_tables(self, codes: tuple[str, ...], params: WorldParams) -> ServiceTables:
        return services.service_tables(codes, params.lock_in_scale)

    def static_policy_logits(self, world: World) -> np.ndarray:
        return policy.static_policy_logits(world)

    def policy_logits(self, world: World, state: State) -> np.ndarray:
        return policy.policy_logits(world, state)

    def interruption_probability(
        self, world: World, state: State, service: np.ndarray
    ) -> np.ndarray:
        return services.interruption_probability(world, state, service)

    def finnish_after(
        self,
        world: World,
        state: State,
        service: np.ndarray,
        completed: np.ndarray,
        draw: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        return services.finnish_after(world, state, service, completed, draw)

    def lasting_effects(
        self,
        world: World,
        state: State,
        service: np.ndarray,
        start: np.ndarray,
        apply: np.ndarray,
        completed: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        return services.lasting_effects(world, state, service, start, apply, completed)
