"""The figures on the fairness report and model card pages, as base64 PNG text.

Each draws published values of the JSON-ready dict only (a suppressed value
is not drawn, and nothing is recomputed), labels its axes in Finnish and
English at once, and returns None when there is nothing to draw. The page
embeds the text as a data URI. The figures are drawn on
`training.plots.new_figure` (matplotlib's Agg canvas, never pyplot).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import numpy as np

from model.fairness import ATTRIBUTE_LABELS
from training.plots import new_figure, png_base64

DPI: Final = 110
HISTORY_COLOUR: Final = "#8c959f"
POLKU_COLOUR: Final = "#0b5cad"
VERDICT_COLOURS: Final = {"narrows": "#1a7f37", "widens": "#cf222e"}
NEUTRAL_COLOUR: Final = "#6e7781"


def headline_gaps_png(report: Mapping[str, Any]) -> str | None:
    """Each attribute's gap between groups, history to Polku, as an arrow coloured by verdict."""
    rows = [h for h in report.get("headline", []) if h.get("gap_history") is not None]
    if not rows:
        return None
    figure = new_figure(9.0, 0.42 * len(rows) + 1.6, dpi=DPI)
    axes = figure.subplots()
    y = np.arange(len(rows))[::-1]
    names = [f"{ATTRIBUTE_LABELS[h['attribute']]['fi']} / {ATTRIBUTE_LABELS[h['attribute']]['en']}" for h in rows]
    hist = np.array([h["gap_history"] for h in rows]) * 100
    rec = np.array([h["gap_recommended"] for h in rows]) * 100
    for yi, a, b, h in zip(y, hist, rec, rows, strict=True):
        axes.annotate(
            "",
            xy=(b, yi),
            xytext=(a, yi),
            arrowprops={"arrowstyle": "->", "color": VERDICT_COLOURS.get(h["verdict"], NEUTRAL_COLOUR), "lw": 1.6},
        )
    axes.scatter(hist, y, color=HISTORY_COLOUR, zorder=3, label="historia / history")
    axes.scatter(rec, y, color=POLKU_COLOUR, zorder=3, label="Polku")
    axes.set_yticks(y, names)
    axes.set_xlabel("ero ryhmien välillä, %-yks. / gap between groups, pp")
    axes.set_xlim(left=0)
    figure.legend(loc="outside upper center", ncols=2, fontsize="small")
    axes.grid(axis="x", alpha=0.3)
    return png_base64(figure)


def group_outcomes_png(section: Mapping[str, Any]) -> str | None:
    """One attribute's groups: expected good outcome under history and under Polku."""
    groups = [g for g in section["groups"] if g.get("v_hist") is not None and g.get("v_rec") is not None]
    if not groups:
        return None
    labels = section.get("group_labels", {})
    figure = new_figure(9.0, 0.3 * len(groups) + 1.5, dpi=DPI)
    axes = figure.subplots()
    y = np.arange(len(groups))[::-1]
    hist = np.array([g["v_hist"] for g in groups]) * 100
    rec = np.array([g["v_rec"] for g in groups]) * 100
    for yi, a, b in zip(y, hist, rec, strict=True):
        axes.plot([a, b], [yi, yi], color="#afb8c1", lw=1.5, zorder=1)
    axes.scatter(hist, y, color=HISTORY_COLOUR, zorder=3, label="historia / history")
    axes.scatter(rec, y, color=POLKU_COLOUR, zorder=3, label="Polku")
    axes.set_yticks(y, [labels.get(g["group"], {}).get("en", g["group"]) for g in groups])
    axes.set_xlabel("odotettu hyvä tulos, % / expected good outcome, %")
    figure.legend(loc="outside upper center", ncols=2, fontsize="small")
    axes.grid(axis="x", alpha=0.3)
    return png_base64(figure)


def learner_values_png(card: Mapping[str, Any]) -> str | None:
    """The model card's learners: policy value under history and under Polku, the best possible dashed."""
    compared = card.get("learners", {}).get("compared", {})
    names = [n for n, f in compared.items() if f.get("v_rec") is not None or f.get("dr_value") is not None]
    if not names:
        return None
    figure = new_figure(6.5, 3.6, dpi=DPI)
    axes = figure.subplots()
    x = np.arange(len(names), dtype=float)
    hist = [compared[n].get("v_hist") for n in names]
    rec = [compared[n].get("v_rec") if compared[n].get("v_rec") is not None else compared[n].get("dr_value") for n in names]
    width = 0.38
    axes.bar(x - width / 2, [np.nan if v is None else v * 100 for v in hist], width, color=HISTORY_COLOUR, label="historia / history")
    axes.bar(x + width / 2, [np.nan if v is None else v * 100 for v in rec], width, color=POLKU_COLOUR, label="Polku")
    for i, n in enumerate(names):
        oracle = compared[n].get("v_oracle")
        if oracle is not None:
            axes.hlines(
                oracle * 100,
                x[i] - width,
                x[i] + width,
                colors="#1a7f37",
                linestyles="--",
                label="paras / best" if i == 0 else "_nolegend_",
            )
    axes.set_xticks(x, names)
    axes.set_ylabel("hyvä tulos, % / good outcome, %")
    axes.legend(fontsize="small", loc="lower right")
    return png_base64(figure)
