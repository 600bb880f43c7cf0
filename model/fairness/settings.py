"""How the fairness report is computed.

One frozen object holds every choice the report makes that is not in the data:
the small-cell threshold k (a count below it is never published), the bounds
beyond which a gap between groups is flagged, the bootstrap that gives the
intervals, how many mother tongues keep a group of their own, and where the age
bands start. docs/fairness.md explains what each one does to the report.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from model.fairness.suppression import check_k


@dataclass(frozen=True)
class FairnessSettings:
    """How the report is computed. `min_cell_size` is the suppression threshold k.

    `max_difference` and `min_ratio` flag a gap (largest minus smallest group
    value; smallest over largest, for rates); `alpha` and `n_boot` set the
    cluster-bootstrap intervals (`n_boot = 0` gives none) and `seed` their
    random draws; `max_languages` caps the mother tongues reported on their
    own; `age_edges` are the lower edges of the age bands after the first.
    """

    min_cell_size: int = 5
    max_difference: float = 0.05
    min_ratio: float = 0.8
    alpha: float = 0.05
    n_boot: int = 200
    seed: int = 0
    max_languages: int = 10
    # Lower edges of the age bands after the first: 15–24, 25–34, ..., 55+.
    age_edges: tuple[int, ...] = (25, 35, 45, 55)

    def __post_init__(self) -> None:
        check_k(self.min_cell_size)
        if not 0 <= self.max_difference <= 1:
            raise ValueError(f"max_difference must lie in [0, 1], got {self.max_difference}")
        if not 0 <= self.min_ratio <= 1:
            raise ValueError(f"min_ratio must lie in [0, 1], got {self.min_ratio}")
        if not 0 < self.alpha < 1:
            raise ValueError(f"alpha must lie strictly between 0 and 1, got {self.alpha}")
        if self.n_boot < 0 or self.max_languages < 1:
            raise ValueError("n_boot must be >= 0 and max_languages >= 1")
        if list(self.age_edges) != sorted(set(self.age_edges)) or not self.age_edges:
            raise ValueError("age_edges must be increasing whole years")

    @classmethod
    def from_config(cls, config: Any, **overrides: Any) -> FairnessSettings:
        """Settings with k and the seed of a `RunConfig`, and any `overrides`."""
        values: dict[str, Any] = {
            "min_cell_size": int(config.min_cell_size),
            "seed": int(getattr(config, "seed", 0)),
        }
        values.update(overrides)
        return cls(**values)

    def age_band_labels(self) -> list[str]:
        """The age bands' names in order, e.g. ``15–24`` up to ``55+``."""
        edges = list(self.age_edges)
        labels = [f"15–{edges[0] - 1}"]
        labels += [f"{lo}–{hi - 1}" for lo, hi in itertools.pairwise(edges)]
        labels.append(f"{edges[-1]}+")
        return labels
