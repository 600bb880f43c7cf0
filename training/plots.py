"""Figures for the training report, written as PNG files.

Only this module imports matplotlib. It draws on `matplotlib.figure.Figure`
with the Agg canvas directly, never through `pyplot`: no display is needed,
no global figure state is kept, and nothing happens at import time beyond
the import itself. Each function writes one PNG (creating its folder) and
returns the path. Its words come from `training.plot_labels` in the
`language` asked for (English by default, for the data scientists who read
a training run), and the PNG's Description holds them as drawn
(`figure_words`), so that what a figure says can be read without its pixels.

The inputs are the outputs of `model.evaluation`: a calibration table, the
policy values per learner, and a per-service uplift table. `new_figure` and
`png_base64` are also how the fairness report and model card pages draw
their figures (`training.reports.plots`), embedded in the page rather than
written to a file.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Mapping
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from training.plot_labels import plot_label

DPI = 120
# A figure has a few colours and their anti-aliased edges: 64 keep it exact
# to the eye at about a third of the bytes of full colour.
EMBEDDED_COLOURS = 64


def _save(figure: Figure, path: str | Path) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    figure.draw_without_rendering()
    figure.savefig(target, format="png", metadata={"Description": figure_words(figure)})
    return target


def figure_words(figure: Figure) -> str:
    """The words a drawn figure shows (titles, axis and tick labels, legends), one a line."""
    texts = (
        text.get_text()
        for text in figure.findobj(Text)
        if isinstance(text, Text) and text.get_visible() and text.get_text().strip()
    )
    return "\n".join(dict.fromkeys(texts))


def _missing(frame: pd.DataFrame, required: set[str], what: str) -> None:
    absent = required - set(frame.columns)
    if absent:
        raise ValueError(f"{what} lacks columns {sorted(absent)}")


def calibration_plot(table: pd.DataFrame, path: str | Path, *, language: str = "en") -> Path:
    """Reliability diagram from `model.evaluation.calibration_table`.

    Observed rate against mean prediction per bin (marker area by count),
    the diagonal of perfect calibration, and a histogram of the counts
    below.
    """
    _missing(table, {"n", "mean_p", "mean_y"}, "the calibration table")
    figure = new_figure(5.5, 6.0, dpi=DPI)
    top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=[3, 1])
    words = {
        key: plot_label(key, language)
        for key in ("perfect", "model", "observed_rate", "calibration_title")
    }
    top.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label=words["perfect"])
    if len(table):
        counts = table["n"].to_numpy(dtype=float)
        sizes = 20 + 180 * counts / counts.max()
        top.plot(table["mean_p"], table["mean_y"], color="tab:blue", linewidth=1)
        top.scatter(
            table["mean_p"], table["mean_y"], s=sizes, color="tab:blue", label=words["model"]
        )
        if {"low", "high"} <= set(table.columns):
            widths = (table["high"] - table["low"]).to_numpy(dtype=float)
            bottom.bar(table["low"], counts, width=widths, align="edge", color="tab:grey")
        else:
            bottom.bar(table["mean_p"], counts, width=0.02, color="tab:grey")
    top.set(xlim=(0, 1), ylim=(0, 1), ylabel=words["observed_rate"])
    top.set_title(words["calibration_title"])
    top.legend(loc="upper left")
    bottom.set(
        xlabel=plot_label("predicted_probability", language), ylabel=plot_label("rows", language)
    )
    return _save(figure, path)


def _as_mapping(values: Any) -> Mapping[str, Any]:
    if is_dataclass(values) and not isinstance(values, type):
        return asdict(values)
    if isinstance(values, Mapping):
        return values
    raise TypeError(f"expected PolicyValues or a mapping, got {type(values).__name__}")


def policy_value_plot(
    values_by_learner: Mapping[str, Any], path: str | Path, *, language: str = "en"
) -> Path:
    """Bars of V_hist and V_rec per learner, with each learner's V_oracle as a line.

    `values_by_learner` maps a learner's name to its
    `model.evaluation.PolicyValues` or a mapping with keys `v_hist`,
    `v_rec` and `v_oracle` (`capture_ratio` is printed when present).
    """
    if not values_by_learner:
        raise ValueError("values_by_learner is empty: nothing to plot")
    names = list(values_by_learner)
    rows = [_as_mapping(values_by_learner[name]) for name in names]
    for name, row in zip(names, rows, strict=True):
        absent = {"v_hist", "v_rec", "v_oracle"} - set(row)
        if absent:
            raise ValueError(f"policy values of {name!r} lack {sorted(absent)}")

    figure = new_figure(max(6.0, 1.6 * len(names) + 2), 4.8, dpi=DPI)
    axes = figure.subplots()
    x = np.arange(len(names), dtype=float)
    width = 0.38
    hist = [float(row["v_hist"]) for row in rows]
    rec = [float(row["v_rec"]) for row in rows]
    axes.bar(x - width / 2, hist, width, label=plot_label("v_hist", language), color="tab:grey")
    bars = axes.bar(
        x + width / 2, rec, width, label=plot_label("v_rec", language), color="tab:blue"
    )
    for i, row in enumerate(rows):
        oracle = float(row["v_oracle"])
        axes.hlines(
            oracle,
            x[i] - width,
            x[i] + width,
            colors="tab:green",
            linestyles="--",
            label=plot_label("v_oracle", language) if i == 0 else "_nolegend_",
        )
        capture = row.get("capture_ratio")
        if capture is not None and math.isfinite(float(capture)):
            axes.annotate(
                f"{float(capture):.0%}",
                (bars[i].get_x() + bars[i].get_width() / 2, bars[i].get_height()),
                textcoords="offset points",
                xytext=(0, 3),
                ha="center",
                fontsize="small",
            )
    axes.set_xticks(x, names)
    axes.set_ylabel(plot_label("share_good", language))
    axes.set_title(plot_label("policy_value_title", language))
    figure.legend(loc="outside lower center", ncols=3, fontsize="small")
    return _save(figure, path)


def uplift_by_service_plot(uplift: pd.DataFrame, path: str | Path, *, language: str = "en") -> Path:
    """Mean uplift per service with its interval, one row per service.

    `uplift` has columns `service`, `mean_uplift`, `low` and `high` (the
    model's figure); where it also has `dr_effect`, `dr_low` and `dr_high`
    the doubly-robust effect is drawn just below, and `true_effect` as a
    cross. Services are sorted by mean uplift, and zero is marked.
    """
    _missing(uplift, {"service", "mean_uplift", "low", "high"}, "the uplift table")
    ordered = uplift.sort_values("mean_uplift", kind="stable")
    figure = new_figure(6.5, max(2.5, 0.45 * len(ordered) + 1.4), dpi=DPI)
    axes = figure.subplots()
    y = np.arange(len(ordered), dtype=float)

    def draw(mean_col: str, low_col: str, high_col: str, offset: float, **style: Any) -> None:
        mean = ordered[mean_col].to_numpy(dtype=float)
        shown = np.isfinite(mean)
        if not shown.any():
            return
        low = ordered[low_col].to_numpy(dtype=float)
        high = ordered[high_col].to_numpy(dtype=float)
        errors = np.vstack([mean - low, high - mean])[:, shown]
        axes.errorbar(
            mean[shown],
            y[shown] + offset,
            xerr=np.nan_to_num(errors),
            fmt="o",
            capsize=3,
            markersize=4,
            **style,
        )

    has_dr = {"dr_effect", "dr_low", "dr_high"} <= set(ordered.columns)
    draw(
        "mean_uplift",
        "low",
        "high",
        0.12 if has_dr else 0.0,
        color="tab:blue",
        ecolor="tab:blue",
        label=plot_label("uplift_model", language),
    )
    if has_dr:
        draw(
            "dr_effect",
            "dr_low",
            "dr_high",
            -0.12,
            color="tab:orange",
            ecolor="tab:orange",
            label=plot_label("uplift_dr", language),
        )
    if "true_effect" in ordered.columns:
        true = ordered["true_effect"].to_numpy(dtype=float)
        if np.isfinite(true).any():
            axes.plot(
                true, y, "x", color="black", markersize=7, label=plot_label("uplift_true", language)
            )
    axes.axvline(0.0, color="black", linewidth=0.8)
    axes.set_yticks(y, ordered["service"].astype(str).tolist())
    axes.set_xlabel(plot_label("uplift_axis", language))
    axes.set_title(plot_label("uplift_title", language))
    if has_dr or "true_effect" in ordered.columns:
        figure.legend(loc="outside lower center", ncols=3, fontsize="small")
    return _save(figure, path)


def new_figure(width: float, height: float, *, dpi: int) -> Figure:
    """A matplotlib figure on the Agg canvas (no pyplot, no global state)."""
    figure = Figure(figsize=(width, height), dpi=dpi, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def png_base64(figure: Figure) -> str:
    """The figure as base64 PNG text, for embedding in a self-contained HTML page.

    In `EMBEDDED_COLOURS` colours (a page embeds a figure once per language),
    with its words in the PNG's Description.
    """
    drawn = io.BytesIO()
    figure.savefig(drawn, format="png", metadata={"Software": None})
    drawn.seek(0)
    with Image.open(drawn) as image:
        palette = image.convert("RGB").quantize(
            colors=EMBEDDED_COLOURS, method=Image.Quantize.FASTOCTREE
        )
    info = PngInfo()
    info.add_text("Description", figure_words(figure))
    buffer = io.BytesIO()
    palette.save(buffer, format="png", optimize=True, pnginfo=info)
    return base64.b64encode(buffer.getvalue()).decode("ascii")
