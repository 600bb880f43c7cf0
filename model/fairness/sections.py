"""One attribute's section of the fairness report: a row per group, gaps and headline.

Each group row holds the group's counts as the published tables show them
(`model.fairness.tables`) and its figures from Fairlearn's ``by_group``
(`model.fairness.metrics`), each figure published only when it cannot give
away a hidden count:

- counts, and rates from which a count follows with the published group size
  (the observed rate; without the simulator's truth also ``v_hist``, which is
  that rate, and the gain ``v_rec - v_hist``), only when those counts are
  published, secondary suppression included;
- figures from which no count follows (the mean prediction, AUC, ECE,
  ``v_rec``, and ``v_hist`` and the gain on the truth) whenever the group has
  at least k clients and, for figures that use outcomes, its own
  good-outcome and other-outcome counts are each 0 or at least k. So a large
  group whose count is hidden only to protect a small one keeps them.

A hidden figure is None and named in the row's ``suppressed`` list.
Intersection groups publish no figure from which an outcome count follows.
The section's gaps and headline (`model.fairness.gaps`) use the published
values only. docs/fairness.md lists the figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from model.evaluation import bootstrap_mean_interval
from model.fairness.gaps import attribute_gaps, gap_flags, headline
from model.fairness.groups import INTERSECTION, is_unknown
from model.fairness.intervals import (
    difference_interval,
    mean_interval,
    newcombe_difference,
    wilson_interval,
)
from model.fairness.metrics import (
    MODEL_METRICS,
    OUTCOME_METRICS,
    REPORT_DIGITS,
    EvaluatedRows,
    group_figures,
)
from model.fairness.settings import FairnessSettings
from model.fairness.suppression import TOTAL
from model.fairness.tables import (
    FOLLOWED,
    NEGATIVE,
    OVERRIDDEN,
    POSITIVE,
    AttributeTables,
    PublishedTable,
)
from model.fairness.text import ATTRIBUTE_LABELS, group_label
from model.json_values import json_number

# Group means over decision points that get a cluster-bootstrap interval
# (the gain has its own, `gain_low` and `gain_high`).
INTERVAL_METRICS = ("base_rate", "mean_p_outcome", "v_hist", "v_rec")


def row_values(rows: EvaluatedRows, metric: str) -> np.ndarray:
    """The per-row values whose mean is a group's `metric`."""
    if metric == "base_rate":
        return rows.y
    if metric == "mean_p_outcome":
        return rows.p_taken
    return np.asarray(rows.terms[metric], dtype=float)


def count_derived_metrics(method: str) -> set[str]:
    """Figures from which a group's outcome counts follow, given its decision points.

    The observed rate always; on doubly robust estimates also ``v_hist``
    (which is the observed rate) and the gain (``v_rec - v_hist``).
    """
    return {"base_rate"} | ({"v_hist", "expected_gain"} if method != "truth" else set())


@dataclass
class _GroupRows:
    """Builds the group rows of one attribute and collects the values they publish."""

    groups: pd.Series
    tables: AttributeTables
    by_group: pd.DataFrame
    rows: EvaluatedRows
    settings: FairnessSettings
    seed: int
    outcome_metrics: list[str]
    count_derived: set[str]
    # figure -> group -> value, for the published values only (gaps and headline use these).
    published: dict[str, dict[str, float]]

    def row(self, group: str) -> dict[str, Any]:
        """The group's row: counts, figures, intervals, decisions and what is hidden."""
        row: dict[str, Any] = {"group": group}
        hidden: list[str] = []
        self._counts(group, row, hidden)
        big_enough = self.tables.group_ok(group)
        for metric in MODEL_METRICS:
            self._figure(group, metric, big_enough, row, hidden)
        counts_shown = self.tables.outcome_counts_shown(group)
        figures_ok = self.tables.outcome_figures_ok(group)
        for metric in self.outcome_metrics:
            ok = counts_shown if metric in self.count_derived else figures_ok
            self._figure(group, metric, ok, row, hidden)
        self._intervals(group, row, hidden)
        if "expected_gain" in self.outcome_metrics:
            self._gain_interval(group, row, hidden)
        if self.tables.overrides is not None:
            self._overrides(group, self.tables.overrides, row, hidden)
        row["suppressed"] = sorted(set(hidden))
        return row

    def decisions_only_row(self, group: str) -> dict[str, Any]:
        """A row of the decision tables that is no group of the decision points."""
        row: dict[str, Any] = {"group": group, "decisions_only": True}
        hidden: list[str] = []
        if self.tables.overrides is not None:
            self._overrides(group, self.tables.overrides, row, hidden)
        row["suppressed"] = sorted(set(hidden))
        return row

    def _counts(self, group: str, row: dict[str, Any], hidden: list[str]) -> None:
        tables = self.tables
        row["clients"] = tables.clients.cell(group, "n")
        row["decision_points"] = tables.decision_points.cell(group, "n")
        if not tables.group_shown(group):
            hidden += ["clients", "decision_points"]
        if tables.outcome is not None:
            row["good_outcomes"] = tables.outcome.cell(group, POSITIVE)
            row["other_outcomes"] = tables.outcome.cell(group, NEGATIVE)
            hidden += [
                name
                for name, column in (("good_outcomes", POSITIVE), ("other_outcomes", NEGATIVE))
                if bool(tables.outcome.mask.loc[group, column])
            ]

    def _figure(
        self, group: str, metric: str, allowed: bool, row: dict[str, Any], hidden: list[str]
    ) -> None:
        """Show the group's `metric` when `allowed`, else hide it."""
        value = self.by_group.loc[group, metric] if allowed else float("nan")
        row[metric] = json_number(value, REPORT_DIGITS)
        if not allowed:
            hidden.append(metric)
        elif row[metric] is not None:
            self.published[metric][group] = float(value)

    def _intervals(self, group: str, row: dict[str, Any], hidden: list[str]) -> None:
        """95 % intervals of the group's shown means; hidden with the figure itself."""
        member = (self.groups == group).to_numpy()
        clients = self.rows.clients.to_numpy(dtype=object)
        for metric in INTERVAL_METRICS:
            if metric not in row:
                continue
            low_key, high_key = f"{metric}_low", f"{metric}_high"
            if row[metric] is None:
                row[low_key] = row[high_key] = None
                if metric in hidden:
                    hidden += [low_key, high_key]
                continue
            values = row_values(self.rows, metric)
            low, high = mean_interval(
                values[member],
                clients[member],
                n_boot=self.settings.n_boot,
                seed=self.seed,
                alpha=self.settings.alpha,
            )
            row[low_key] = json_number(low, REPORT_DIGITS)
            row[high_key] = json_number(high, REPORT_DIGITS)

    def _gain_interval(self, group: str, row: dict[str, Any], hidden: list[str]) -> None:
        """The cluster-bootstrap interval of the group's expected gain, when the gain is shown."""
        row["gain_low"], row["gain_high"] = None, None
        if "expected_gain" in hidden:
            hidden += ["gain_low", "gain_high"]
            return
        gain = self.rows.terms["expected_gain"]
        member = (self.groups == group).to_numpy() & np.isfinite(gain)
        if member.any() and self.settings.n_boot > 0:
            interval = bootstrap_mean_interval(
                gain[member],
                self.rows.clients[member].to_numpy(dtype=object),
                n_boot=self.settings.n_boot,
                seed=self.seed,
                alpha=self.settings.alpha,
            )
            row["gain_low"] = json_number(interval.low, REPORT_DIGITS)
            row["gain_high"] = json_number(interval.high, REPORT_DIGITS)

    def _overrides(
        self, group: str, over: PublishedTable, row: dict[str, Any], hidden: list[str]
    ) -> None:
        """Decisions, overrides and the override rate, from published counts only."""
        row["decisions"] = over.cell(group, TOTAL)
        row["overrides"] = over.cell(group, OVERRIDDEN)
        rate_ok = over.shown(group, [FOLLOWED, OVERRIDDEN, TOTAL]) and (row["decisions"] or 0) > 0
        rate = (row["overrides"] / row["decisions"]) if rate_ok else None
        row["override_rate"] = json_number(rate, REPORT_DIGITS)
        low, high = (
            wilson_interval(int(row["overrides"]), int(row["decisions"]), self.settings.alpha)
            if rate is not None
            else (None, None)
        )
        row["override_rate_low"] = json_number(low, REPORT_DIGITS)
        row["override_rate_high"] = json_number(high, REPORT_DIGITS)
        shown = (
            ("decisions", row["decisions"] is not None),
            ("overrides", row["overrides"] is not None),
            ("override_rate", rate_ok or over.cell(group, TOTAL) == 0),
            ("override_rate_low", rate_ok or over.cell(group, TOTAL) == 0),
            ("override_rate_high", rate_ok or over.cell(group, TOTAL) == 0),
        )
        hidden += [name for name, ok in shown if not ok]
        if rate is not None:
            self.published["override_rate"][group] = float(rate)


def distribution(
    table: PublishedTable, order: Sequence[str], columns: Sequence[str]
) -> list[dict[str, Any]]:
    """Counts and shares per group (and the total row); shares only from published counts."""
    out = []
    for g in [*order, TOTAL]:
        total = table.cell(g, TOTAL)
        counts = {c: table.cell(g, c) for c in columns}
        shares = {
            c: (json_number(v / total, REPORT_DIGITS) if v is not None and total else None)
            for c, v in counts.items()
        }
        out.append({"group": g, "total": total, "counts": counts, "shares": shares})
    return out


def _gap_interval(
    metric: str,
    entry: dict[str, Any],
    comparable: Sequence[str],
    published: dict[str, dict[str, float]],
    group_rows: Sequence[dict[str, Any]],
    groups: pd.Series,
    rows: EvaluatedRows,
    settings: FairnessSettings,
    seed: int,
) -> None:
    """Add the 95 % interval of a gap: highest minus lowest published group (see `intervals`)."""
    values = {g: published[metric][g] for g in comparable if g in published[metric]}
    entry["difference_low"] = entry["difference_high"] = None
    if len(values) < 2 or metric in ("auc", "ece"):
        return
    high_group = max(values, key=lambda g: (values[g], g))
    low_group = min(values, key=lambda g: (values[g], g))
    entry["between"] = [high_group, low_group]
    if metric == "override_rate":
        by_group = {r["group"]: r for r in group_rows}
        first, second = by_group[high_group], by_group[low_group]
        low, high = newcombe_difference(
            int(first["overrides"]),
            int(first["decisions"]),
            int(second["overrides"]),
            int(second["decisions"]),
            settings.alpha,
        )
    else:
        low, high = difference_interval(
            row_values(rows, metric),
            rows.clients.to_numpy(dtype=object),
            (groups == high_group).to_numpy(),
            (groups == low_group).to_numpy(),
            n_boot=settings.n_boot,
            seed=seed,
            alpha=settings.alpha,
        )
    entry["difference_low"] = json_number(low, REPORT_DIGITS)
    entry["difference_high"] = json_number(high, REPORT_DIGITS)


def attribute_section(
    name: str,
    order: list[str],
    groups: pd.Series,
    tables: AttributeTables,
    *,
    rows: EvaluatedRows,
    settings: FairnessSettings,
    seed: int,
    actions: Sequence[str],
) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any] | None]:
    """The section of attribute `name`, its flagged gaps, and its headline line (or None).

    `order` lists its groups, `groups` gives each evaluated row's group and
    `tables` its published tables; `seed` seeds the section's bootstraps.
    """
    intersection = name == INTERSECTION
    count_derived = count_derived_metrics(rows.method)
    # Intersections publish no figure from which an outcome count follows:
    # it would be linked to the single-attribute tables.
    outcome_metrics = [m for m in OUTCOME_METRICS if not (intersection and m in count_derived)]
    by_group = group_figures(y=rows.y, p=rows.p_taken, groups=groups, terms=rows.terms)
    builder = _GroupRows(
        groups=groups,
        tables=tables,
        by_group=by_group,
        rows=rows,
        settings=settings,
        seed=seed,
        outcome_metrics=outcome_metrics,
        count_derived=count_derived,
        published={m: {} for m in (*MODEL_METRICS, *OUTCOME_METRICS, "override_rate")},
    )
    group_rows = [builder.row(g) for g in order]
    decision_order = list(order)
    if tables.overrides is not None:
        # The pool of groups with few decisions can be a row of the decision tables alone.
        extra = [g for g in tables.overrides.values.index if g != TOTAL and g not in order]
        decision_order += extra
        group_rows += [builder.decisions_only_row(g) for g in extra]
    published = builder.published

    comparable = [g for g in order if not is_unknown(g)]
    gap_metrics = [*MODEL_METRICS, *outcome_metrics]
    if tables.overrides is not None:
        gap_metrics.append("override_rate")
    gaps = attribute_gaps(comparable, published, gap_metrics, settings)
    for metric, entry in gaps.items():
        _gap_interval(
            metric, entry, comparable, published, group_rows, groups, rows, settings, seed
        )

    section: dict[str, Any] = {
        "name": name,
        "label": ATTRIBUTE_LABELS[name],
        "kind": "intersection" if intersection else "single",
        "groups": group_rows,
        "group_labels": {g: group_label(name, g) for g in decision_order},
        "gaps": gaps,
    }
    if tables.recommended is not None and tables.historical is not None:
        section["services"] = {
            "recommended": distribution(tables.recommended, order, list(actions)),
            "historical": distribution(tables.historical, order, list(actions)),
        }
    if tables.reasons is not None:
        reason_columns = [c for c in tables.reasons.values.columns if c != TOTAL]
        section["override_reasons"] = distribution(tables.reasons, decision_order, reason_columns)

    line = None
    if "v_hist" in outcome_metrics and "v_rec" in outcome_metrics:
        outcome_groups = {
            g for g in comparable if g in published["v_hist"] and g in published["v_rec"]
        }
        line = headline(
            name, groups, outcome_groups, published, rows.terms, rows.clients, settings, seed
        )
    return section, gap_flags(name, gaps), line
