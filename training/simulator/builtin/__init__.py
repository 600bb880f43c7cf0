"""The built-in world's design: an Espoo-like caseload with the default catalogue.

`BuiltinDesign` (in `design`) answers the simulator's world-specific
questions with the constants of the built-in world: what its fourteen
services do (`services`) and how its caseworkers choose (`policy`). The
parameters in `WorldParams` scale them (confounding, selection on
motivation, effects, lock-in).
"""

from __future__ import annotations

from training.simulator.builtin.design import BuiltinDesign

__all__ = ["BuiltinDesign"]
