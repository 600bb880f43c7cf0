"""The built-in world: a seeded simulator of an Espoo-like integration caseload.

Why a simulator: real client data cannot leave a municipality, and only a
simulated world knows what *would* have happened under every action, which
is what the learners must be judged on. The simulator writes the same three
tables a municipality would export, plus the truth no export has.
docs/world.md documents the world, its sources and its calibration.

The world in brief: clients arrive with profiles drawn to match public
figures and a latent motivation that the data never shows. At each plan
review a caseworker policy, confounded on purpose as real assignment is,
picks a service or "no new service". Services wait for a place, run or are
interrupted, lock clients in while they run and leave lasting effects that
depend on whom they suit, harm included. Finding work or starting education
and moving away are competing event clocks in continuous time. For every
decision the data shows, the truth gives the client's chance of the label
under each action.

The modules, in the order a world is built:

- `params`: the settings that define a world (`WorldParams`);
- `design`: what makes one world different from another (`Design`); the
  built-in world's design is in `builtin`;
- `profiles`: drawing the clients;
- `state`: walkers on their paths, and the randomness drawn up front;
- `world`: a drawn world, its hazards and its decision-point features;
- `policy`: how the historical caseworkers choose;
- `services`: what a service does to a client;
- `history`: drawing every case from intake to the extract date;
- `truth`: each decision point's chance under every action;
- `frames`: the history as the contract's three tables;
- `write`: writing it all to a folder (`write_world`);
- `calibration`: the world's tables measured as the public figures are;
- `trial`: randomised-trial data in the contract, with known effects.
"""

from __future__ import annotations

from training.simulator.history import History, simulate, simulate_with_features
from training.simulator.params import WorldParams
from training.simulator.world import World
from training.simulator.write import world_summary, write_world

__all__ = [
    "History",
    "World",
    "WorldParams",
    "simulate",
    "simulate_with_features",
    "world_summary",
    "write_world",
]
