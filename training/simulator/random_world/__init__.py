"""A family of simulated worlds: each seed draws a structurally different one.

Polku is judged on data it has never seen, from municipalities with other
services, other columns and other caseworker habits. One built-in world is
not enough to develop and judge methods on, so this package draws worlds:
a catalogue of 8 to 16 services from a pool of integration services, what
each does and for whom, caseworker habits, selection on a hidden readiness
of any strength into any kind of service, assignment units (a valid
instrument, or an invalid one, or none), extra client columns, the
caseload mix and the intake pattern. docs/world.md ("A family of worlds")
describes what varies and why.

- `pool`: the services a world picks from; `columns`: the extra columns;
- `spec`: a drawn design as data (`WorldSpec`, written to `world.json`);
- `draw`: drawing the design from a seed (`draw_spec`);
- `groups`: whom a service suits, and what caseworkers see;
- `design`: the design the simulator runs (`RandomDesign`);
- `files`: the world's `catalogue.toml` and `config.toml`.

    params, design = random_world(seed=3, n_clients=5000)
    history = simulate(params, design=design)
"""

from __future__ import annotations

from dataclasses import replace

from training.simulator.params import WorldParams
from training.simulator.random_world.design import RandomDesign
from training.simulator.random_world.draw import draw_spec
from training.simulator.random_world.spec import WorldSpec


def random_world(
    seed: int, n_clients: int, params: WorldParams | None = None
) -> tuple[WorldParams, RandomDesign]:
    """The parameters and design of the drawn world of `seed`, with `n_clients` clients.

    The design depends on the seed alone. The world's strengths (habits,
    selection on readiness, readiness's effect, the share of recorded plans)
    and its first intake are drawn too and set in the parameters; the other
    fields come from `params` (the defaults when None).
    """
    spec = draw_spec(seed)
    base = params or WorldParams()
    drawn = replace(
        base,
        n_clients=n_clients,
        seed=seed,
        confounding=spec.confounding,
        motivation_selection=spec.motivation_selection,
        motivation_effect=spec.motivation_effect,
        planned_service_recorded=spec.planned_service_recorded,
        first_intake=spec.first_intake,
    )
    return drawn, RandomDesign(spec)


__all__ = ["RandomDesign", "WorldSpec", "draw_spec", "random_world"]
