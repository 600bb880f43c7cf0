"""The built-in world: a seeded simulator of an Espoo-like integration caseload.

Why a simulator: real client data cannot leave a municipality, and only a
simulated world knows what *would* have happened under every action, which is
what the learners must be judged on (SPEC §5).

How the world works
-------------------
Each client has a profile drawn to match public figures (see `draw_profiles`) and
a latent *motivation* that the data never shows. From intake, the client's
case moves through *epochs*: at a plan review the historical caseworker policy
picks the next action; a service is started after a waiting time, runs for a
while (or is interrupted), and the next review follows its end; "no new
service" means the next review comes a few months later.

Finding work or starting education is a competing-risks process in continuous
time. Its hazard is piecewise constant: it depends on the profile, motivation,
the Finnish level reached, years since arrival, the lasting effects of the
services completed so far, and the service the client is in now (lock-in: a
full-time course lowers the chance of taking a job while it runs). Moving away
is a constant competing hazard.

Truth
-----
Randomness other than the two event clocks (success and moving away) is drawn
up front per client and epoch: the caseworker's choices (Gumbel noise on the
policy's logits), durations, interruptions, language gains, waits and review
intervals. Given one such draw, the path a client takes when no event happens
is deterministic, so the probability that the label occurs within the horizon
when action `a` is taken and the historical policy continues afterwards is a
closed-form sum over the path's segments. The `truth` table averages that
probability over fresh draws of everything that happens after the decision
(`truth_replicates` draws, shared by all actions of a decision point), keeping
the client's latent traits (motivation): it is the client's chance under each
action, not a clairvoyant outcome. Its mean over the actions actually taken
equals the mean of the observed labels, up to Monte Carlo error of the draws.

The historical policy is confounded on purpose: caseworkers assign by profile
and habit (long language courses by default), select motivated clients into
some services, face waiting times, and the pay-subsidy budget runs out each
autumn. Service effects are heterogeneous, including harm (vocational
training below A2, self-motivated study without basic education) and lock-in.
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
