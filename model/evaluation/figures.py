"""The names of the figures a router is judged by, in the order reports show them.

`training.router_figures` computes them on decision points, `polku evaluate`
prints them, the registry stores them and the model card shows them; what
each one means is in docs/evaluation.md.
"""

from __future__ import annotations

from typing import Final

EVALUATION_FIGURES: Final = (
    "v_hist",
    "v_rec",
    "v_oracle",
    "capture_ratio",
    "dr_value",
    "dr_low",
    "dr_high",
    "agreement_at_1",
    "agreement_at_3",
    "auc",
    "brier",
    "ece",
    "coverage",
)
