"""The figures on the fairness report and model card pages, as base64 PNG text.

Each draws published values of the JSON-ready dict only (a suppressed value
is not drawn, and nothing is recomputed), in one language with the words of
`training.plot_labels`, and returns None when there is nothing to draw. A
page draws each figure in every language (`in_every_language`) and embeds
the texts as data URIs, showing the one of the language chosen. The figures
are drawn on `training.plots.new_figure` (matplotlib's Agg canvas, never
pyplot).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

import numpy as np

from model.fairness.text import ATTRIBUTE_LABELS
from model.vocab import LANGUAGES
from training.plot_labels import plot_label
from training.plots import new_figure, png_base64

DPI: Final = 110
HISTORY_COLOUR: Final = "#8c959f"
POLKU_COLOUR: Final = "#0b5cad"
VERDICT_COLOURS: Final = {"narrows": "#1a7f37", "widens": "#cf222e"}
NEUTRAL_COLOUR: Final = "#6e7781"


def in_every_language(
    draw: Callable[..., str | None], values: Mapping[str, Any]
) -> dict[str, str] | None:
    """`draw(values, language)` in each language, by language; None when nothing is drawn."""
    drawn = {language: draw(values, language) for language in LANGUAGES}
    return {language: png for language, png in drawn.items() if png is not None} or None


def headline_gaps_png(report: Mapping[str, Any], language: str) -> str | None:
    """Each attribute's gap between groups, history to Polku, as an arrow coloured by verdict."""
    rows = [line for line in report.get("headline", []) if line.get("gap_history") is not None]
    if not rows:
        return None
    figure = new_figure(9.0, 0.42 * len(rows) + 1.6, dpi=DPI)
    axes = figure.subplots()
    y = np.arange(len(rows))[::-1]
    labels = [ATTRIBUTE_LABELS[line["attribute"]] for line in rows]
    history = np.array([line["gap_history"] for line in rows]) * 100
    polku = np.array([line["gap_recommended"] for line in rows]) * 100
    for row_y, before, after, line in zip(y, history, polku, rows, strict=True):
        colour = VERDICT_COLOURS.get(line["verdict"], NEUTRAL_COLOUR)
        axes.annotate(
            "",
            xy=(after, row_y),
            xytext=(before, row_y),
            arrowprops={"arrowstyle": "->", "color": colour, "lw": 1.6},
        )
    axes.scatter(history, y, color=HISTORY_COLOUR, zorder=3, label=plot_label("history", language))
    axes.scatter(polku, y, color=POLKU_COLOUR, zorder=3, label=plot_label("polku", language))
    axes.set_yticks(y, [label[language] for label in labels])
    axes.set_xlabel(plot_label("gap_between_groups", language))
    axes.set_xlim(left=0)
    figure.legend(loc="outside upper center", ncols=2, fontsize="small")
    axes.grid(axis="x", alpha=0.3)
    return png_base64(figure)


def group_outcomes_png(section: Mapping[str, Any], language: str) -> str | None:
    """One attribute's groups: expected good outcome under history and under Polku."""
    groups = [
        group
        for group in section["groups"]
        if group.get("v_hist") is not None and group.get("v_rec") is not None
    ]
    if not groups:
        return None
    labels = section.get("group_labels", {})
    figure = new_figure(9.0, 0.3 * len(groups) + 1.5, dpi=DPI)
    axes = figure.subplots()
    y = np.arange(len(groups))[::-1]
    history = np.array([group["v_hist"] for group in groups]) * 100
    polku = np.array([group["v_rec"] for group in groups]) * 100
    for row_y, before, after in zip(y, history, polku, strict=True):
        axes.plot([before, after], [row_y, row_y], color="#afb8c1", lw=1.5, zorder=1)
    axes.scatter(history, y, color=HISTORY_COLOUR, zorder=3, label=plot_label("history", language))
    axes.scatter(polku, y, color=POLKU_COLOUR, zorder=3, label=plot_label("polku", language))
    axes.set_yticks(
        y, [labels.get(group["group"], {}).get(language, group["group"]) for group in groups]
    )
    axes.set_xlabel(plot_label("expected_good_outcome", language))
    figure.legend(loc="outside upper center", ncols=2, fontsize="small")
    axes.grid(axis="x", alpha=0.3)
    return png_base64(figure)


def learner_values_png(card: Mapping[str, Any], language: str) -> str | None:
    """The model card's learners: policy value under history and under Polku, the best possible dashed."""
    compared = card.get("learners", {}).get("compared", {})
    names = [
        name
        for name, figures in compared.items()
        if figures.get("v_rec") is not None or figures.get("dr_value") is not None
    ]
    if not names:
        return None
    figure = new_figure(6.5, 3.6, dpi=DPI)
    axes = figure.subplots()
    x = np.arange(len(names), dtype=float)
    history = [compared[name].get("v_hist") for name in names]
    polku = [
        compared[name].get("v_rec")
        if compared[name].get("v_rec") is not None
        else compared[name].get("dr_value")
        for name in names
    ]
    width = 0.38
    axes.bar(
        x - width / 2,
        _percent(history),
        width,
        color=HISTORY_COLOUR,
        label=plot_label("history", language),
    )
    axes.bar(
        x + width / 2,
        _percent(polku),
        width,
        color=POLKU_COLOUR,
        label=plot_label("polku", language),
    )
    for index, name in enumerate(names):
        oracle = compared[name].get("v_oracle")
        if oracle is not None:
            axes.hlines(
                oracle * 100,
                x[index] - width,
                x[index] + width,
                colors="#1a7f37",
                linestyles="--",
                label=plot_label("best", language) if index == 0 else "_nolegend_",
            )
    axes.set_xticks(x, names)
    axes.set_ylabel(plot_label("good_outcome", language))
    axes.legend(fontsize="small", loc="lower right")
    return png_base64(figure)


def _percent(values: list[Any]) -> list[float]:
    """Shares as percentages, a missing one as NaN (no bar)."""
    return [np.nan if value is None else value * 100 for value in values]


def calibration_png(calibration: Mapping[str, Any], language: str) -> str | None:
    """The follow-up report's calibration: observed rate against mean prediction per bin."""
    bins = [b for b in calibration.get("bins", []) if b.get("observed") is not None]
    if not bins:
        return None
    figure = new_figure(5.5, 4.6, dpi=DPI)
    axes = figure.subplots()
    predicted = np.array([b["mean_predicted"] for b in bins]) * 100
    observed = np.array([b["observed"] for b in bins]) * 100
    low = observed - np.array([b["observed_low"] for b in bins]) * 100
    high = np.array([b["observed_high"] for b in bins]) * 100 - observed
    top = float(max(predicted.max(), (observed + high).max(), 10.0)) * 1.08
    axes.plot([0, top], [0, top], color=HISTORY_COLOUR, lw=1, ls="--")
    axes.errorbar(predicted, observed, yerr=[low, high], fmt="o", color=POLKU_COLOUR, capsize=3)
    axes.set_xlim(0, top)
    axes.set_ylim(0, top)
    axes.set_xlabel(plot_label("predicted_percent", language))
    axes.set_ylabel(plot_label("observed_percent", language))
    axes.grid(alpha=0.3)
    return png_base64(figure)
