"""The fairness report (SPEC §6, issue 5): does the model treat groups fairly,
and would following it narrow or widen the gaps that historical practice left?

Pure pandas, numpy and Fairlearn: the caller scores the decision points (see
`training.reports.fairness_report_for`) and passes plain arrays; the result is
a JSON-ready dict that `training.reports` renders as HTML.

Groups
------
Gender, age band, mother tongue (the largest groups; the rest pooled as
``other``), citizenship region, residence basis, education, health limitation
(where the data has it) and the intersection gender × residence basis. A
client belongs to one group per attribute: the value at their first decision
point among the rows (only age changes over time), so groups partition the
clients and their counts add up to the totals.

Figures per group (over the evaluated decision points of its clients)
---------------------------------------------------------------------
- ``clients`` and ``decision_points``;
- ``base_rate``: the observed share of good outcomes;
- ``mean_p_outcome``: the model's mean predicted chance for the action taken;
- ``ece`` and ``auc``: calibration error and ROC AUC of that prediction;
- ``v_hist`` and ``v_rec``: the expected share of good outcomes under what
  caseworkers did and under following rank 1. With the simulator's truth they
  are ``mean truth[taken]`` and ``mean truth[recommended]``; without it,
  ``v_hist`` is the observed rate and ``v_rec`` the doubly-robust estimate
  (`model.evaluation.dr_terms` on the group's rows);
- ``expected_gain = v_rec - v_hist`` with a cluster-bootstrap interval
  (whole clients resampled);
- recommended (rank 1) against historical services, as counts and shares;
- with a decisions table: ``decisions``, ``overrides`` and ``override_rate``
  (the caseworker chose another service than rank 1) and the reasons given.

Per-group values come from Fairlearn's ``MetricFrame(...).by_group``; gaps are
``MetricFrame.difference()`` (largest minus smallest group) and
``MetricFrame.ratio()`` (smallest over largest) over the groups whose value is
published, leaving out ``unknown`` (missing data, not a group of people).
A gap is flagged when the difference exceeds ``max_difference`` or, for
rates, the ratio falls below ``min_ratio``.

Headline
--------
For each attribute: the gap in expected good outcomes between its groups
under historical practice (``v_hist``) and under following Polku
(``v_rec``), the change and a cluster-bootstrap interval of the change.
``narrows`` when the whole interval is below zero, ``widens`` when it is
above, else ``no_clear_change``.

Suppression
-----------
Every count and every rate goes through `model.fairness.suppression` with
``k = RunConfig.min_cell_size``: the groups of an attribute form one table
(gender × residence basis is one two-way table whose margins are the gender and
residence-basis tables), and outcomes, services, overrides and reasons are
tables of groups × categories whose row totals are the group counts; a total
hidden in one table is hidden in the others, iterated to a fixed point.

Figures are published by what could be worked out from them:

- counts, and rates from which a count follows with the published group size
  (the observed rate; without truth also ``v_hist``, which is that rate, and
  the gain ``v_rec - v_hist``), only when those counts are published,
  secondary suppression included;
- figures from which no count follows (the mean prediction, AUC, ECE,
  ``v_rec``, and ``v_hist`` and the gain on the simulator's truth) whenever the
  group has at least k clients and, for figures that use outcomes, its own
  good-outcome and other-outcome counts are each 0 or at least k. So a large
  group whose count is hidden only to protect a small one keeps them.

Intersection groups publish counts and figures from which no count follows,
not outcome or service counts (those would be linked to the single-attribute
tables). Gaps, the headline and the plots use published values only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from model.evaluation import (
    bootstrap_mean_interval,
    expected_calibration_error,
    roc_auc,
)
from model.fairness.decisions import add_decision_tables, decisions_from_store
from model.fairness.gaps import attribute_gaps, gap, gap_flags, headline
from model.fairness.groups import (
    ATTRIBUTES,
    INTERSECTION,
    group_labels,
    group_order,
    is_unknown,
)
from model.fairness.metrics import (
    METRICS,
    MODEL_METRICS,
    OUTCOME_METRICS,
    evaluated_rows,
    finite_mean,
    json_number,
    metric_frame,
)
from model.fairness.settings import FairnessSettings
from model.fairness.suppression import MARK, TOTAL
from model.fairness.tables import (
    FOLLOWED,
    NEGATIVE,
    OVERRIDDEN,
    POSITIVE,
    AttributeTables,
    PublishedTable,
    suppressed_tables,
)
from model.fairness.text import ATTRIBUTE_LABELS, group_label
from model.features import PROTECTED_BY_DEFAULT

__all__ = [
    "ATTRIBUTES",
    "ATTRIBUTE_LABELS",
    "INTERSECTION",
    "REPORT_KIND",
    "FairnessSettings",
    "decisions_from_store",
    "fairness_report",
    "gap",
    "group_labels",
]

REPORT_KIND: Final = "polku.fairness_report"
SCHEMA_VERSION: Final = 1


# --------------------------------------------------------------------------
# the report
# --------------------------------------------------------------------------


def _check_inputs(
    rows: pd.DataFrame,
    actions: Sequence[str],
    taken: np.ndarray,
    recommended: np.ndarray,
    p: np.ndarray,
    propensity: np.ndarray,
    truth: np.ndarray | None,
) -> None:
    n, a = len(rows), len(actions)
    for name in ("client_id", "label"):
        if name not in rows.columns:
            raise ValueError(f"the rows need a {name} column")
    for name, array in (("p", p), ("propensity", propensity)) + ((("truth", truth),) if truth is not None else ()):
        if np.shape(array) != (n, a):
            raise ValueError(f"{name} has shape {np.shape(array)}, expected ({n}, {a})")
    for name, array in (("taken", taken), ("recommended", recommended)):
        if np.shape(array) != (n,):
            raise ValueError(f"{name} has shape {np.shape(array)}, expected ({n},)")
        if n and (array.min() < 0 or array.max() >= a):
            raise ValueError(f"{name} must hold action indices in 0..{a - 1}")
    labels = rows["label"].to_numpy(dtype=float)
    if n and not np.all((labels == 0) | (labels == 1)):
        raise ValueError("label must be 0 or 1 on every row (leave censored rows out)")


def fairness_report(
    *,
    rows: pd.DataFrame,
    actions: Sequence[str],
    taken: npt.ArrayLike,
    recommended: npt.ArrayLike,
    p: npt.ArrayLike,
    propensity: npt.ArrayLike,
    truth: npt.ArrayLike | None = None,
    decisions: pd.DataFrame | None = None,
    settings: FairnessSettings | None = None,
    model_features: Sequence[str] = (),
    protected_attributes: Sequence[str] = PROTECTED_BY_DEFAULT,
    model: Mapping[str, Any] | None = None,
    service_names: Mapping[str, Mapping[str, str]] | None = None,
    generated_at: datetime | None = None,
) -> dict[str, Any]:
    """The fairness report as a JSON-ready dict (see the module docstring).

    `rows`: one row per evaluated decision point (known action, outcome window
    complete) with `client_id`, `label` (0/1), optionally `decision_date`, and
    the attribute columns of decision points (`gender`, `age`,
    `mother_tongue`, `citizenship_region`, `residence_basis`,
    `education_level`, `health_limitation`). `taken` and `recommended` are
    action indices into `actions`; `p` the model's (n, A) predictions,
    `propensity` its (n, A) historical-policy probabilities; `truth` the
    simulator's (n, A) truth when known. `decisions`: caseworkers' decisions
    (see :func:`decisions_from_store`) with `client_id`, `overridden`,
    `reason_code` and the attribute columns. `model_features`: the encoded
    feature columns of the model, to say which attributes it uses.
    """
    settings = settings or FairnessSettings()
    k = settings.min_cell_size
    rows = rows.reset_index(drop=True)
    taken_ = np.asarray(taken, dtype=np.intp)
    recommended_ = np.asarray(recommended, dtype=np.intp)
    p_ = np.asarray(p, dtype=float)
    propensity_ = np.asarray(propensity, dtype=float)
    truth_ = None if truth is None else np.asarray(truth, dtype=float)
    _check_inputs(rows, actions, taken_, recommended_, p_, propensity_, truth_)
    if len(rows) == 0:
        raise ValueError("no rows to report on: the evaluated selection is empty")

    evaluated = evaluated_rows(
        rows, taken=taken_, recommended=recommended_, p=p_, propensity=propensity_, truth=truth_
    )
    y, p_taken, terms = evaluated.y, evaluated.p_taken, evaluated.terms
    clients, method = evaluated.clients, evaluated.method
    labels, languages = group_labels(rows, settings)
    orders = {
        name: group_order(name, labels[name], clients, settings) for name in labels.columns
    }
    tables = suppressed_tables(labels, orders, rows, actions, taken_, recommended_, k)

    decision_rows: pd.DataFrame | None = None
    if decisions is not None and len(decisions):
        decision_rows = add_decision_tables(decisions, settings, languages, orders, tables)

    attributes = []
    flags: list[dict[str, Any]] = []
    headline: list[dict[str, Any]] = []
    rng_seed = settings.seed
    for index, name in enumerate(orders):
        section, section_flags, line = _attribute_section(
            name,
            orders[name],
            labels[name],
            tables[name],
            y=y,
            p_taken=p_taken,
            terms=terms,
            clients=clients,
            settings=settings,
            seed=rng_seed + index,
            method=method,
            actions=actions,
        )
        section["used_as_feature"] = _used_as_feature(name, model_features)
        attributes.append(section)
        flags.extend(section_flags)
        if line is not None:
            headline.append(line)

    overall = _overall(y, p_taken, terms, clients, settings, decision_rows, tables, method)
    hidden_cells = sum(t.hidden_cells() for t in tables.values())
    names = dict(service_names or {})
    report: dict[str, Any] = {
        "kind": REPORT_KIND,
        "schema_version": SCHEMA_VERSION,
        "generated_at": (generated_at or datetime.now(UTC)).isoformat(timespec="seconds"),
        "model": dict(model or {}),
        "method": method,
        "settings": {**asdict(settings), "age_edges": list(settings.age_edges)},
        "attributes_used": _attributes_used(labels.columns, model_features, protected_attributes),
        "overall": overall,
        "headline": headline,
        "flags": flags,
        "attributes": attributes,
        "actions": list(actions),
        "service_names": {a: dict(names.get(a, {})) for a in actions},
        "suppression": {
            "k": k,
            "mark": MARK,
            "cells_hidden": int(hidden_cells),
            "languages_kept": languages,
        },
        "decisions_included": decision_rows is not None,
    }
    return report


def _used_as_feature(name: str, model_features: Sequence[str]) -> bool:
    features = set(model_features)
    if name == "age_band":
        return "age" in features
    if name == INTERSECTION:
        return bool({"gender", "residence_basis"} & features)
    return name in features


def _attributes_used(present: Sequence[str], model_features: Sequence[str], protected: Sequence[str]) -> dict[str, Any]:
    single = [name for name in present if name != INTERSECTION]
    used = [name for name in single if _used_as_feature(name, model_features)]
    audit_only = [name for name in single if name not in used]
    absent = [name for name, _ in ATTRIBUTES if name not in present and name != INTERSECTION]
    return {
        "model_features": used,
        "audit_only": audit_only,
        "not_in_data": absent,
        "protected_by_configuration": list(protected),
        "protected_used_as_features": [a for a in protected if a in set(model_features)],
    }


# --------------------------------------------------------------------------
# sections
# --------------------------------------------------------------------------


def _attribute_section(
    name: str,
    order: list[str],
    groups: pd.Series,
    tables: AttributeTables,
    *,
    y: np.ndarray,
    p_taken: np.ndarray,
    terms: Mapping[str, np.ndarray],
    clients: pd.Series,
    settings: FairnessSettings,
    seed: int,
    method: str,
    actions: Sequence[str],
) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any] | None]:
    frame = metric_frame(METRICS, y=y, p=p_taken, groups=groups, terms=terms)
    by_group = frame.by_group
    intersection = name == INTERSECTION
    # Figures from which a group's outcome counts follow (with its published
    # number of decision points): the observed rate, and without truth also
    # v_hist (the observed rate) and the gain (v_rec - v_hist). They need the
    # outcome counts published, secondary suppression included; intersections
    # do not publish them at all (they would be linked to the single-attribute
    # tables). The other outcome figures (AUC, ECE, v_rec, and v_hist and the
    # gain on the truth) need the group's own outcome counts to be 0 or >= k.
    count_derived = {"base_rate"} | ({"v_hist", "expected_gain"} if method != "truth" else set())
    outcome_metrics = [m for m in OUTCOME_METRICS if not (intersection and m in count_derived)]
    group_rows = []
    published: dict[str, dict[str, float]] = {m: {} for m in (*MODEL_METRICS, *OUTCOME_METRICS, "override_rate")}
    for g in order:
        row: dict[str, Any] = {"group": g}
        hidden: list[str] = []
        shown = tables.group_shown(g)
        row["clients"] = tables.clients.cell(g, "n")
        row["decision_points"] = tables.decision_points.cell(g, "n")
        if not shown:
            hidden += ["clients", "decision_points"]
        if tables.outcome is not None:
            row["good_outcomes"] = tables.outcome.cell(g, POSITIVE)
            row["other_outcomes"] = tables.outcome.cell(g, NEGATIVE)
            hidden += [c for c, col in (("good_outcomes", POSITIVE), ("other_outcomes", NEGATIVE))
                       if bool(tables.outcome.mask.loc[g, col])]
        big_enough = tables.group_ok(g)
        for metric in MODEL_METRICS:
            value = by_group.loc[g, metric] if big_enough else float("nan")
            row[metric] = json_number(value)
            if not big_enough:
                hidden.append(metric)
            elif row[metric] is not None:
                published[metric][g] = float(value)
        counts_shown = tables.outcome_counts_shown(g)
        figures_ok = tables.outcome_figures_ok(g)
        for metric in OUTCOME_METRICS:
            if metric not in outcome_metrics:
                continue
            ok = counts_shown if metric in count_derived else figures_ok
            value = by_group.loc[g, metric] if ok else float("nan")
            row[metric] = json_number(value)
            if not ok:
                hidden.append(metric)
            elif row[metric] is not None:
                published[metric][g] = float(value)
        if "expected_gain" in outcome_metrics:
            row["gain_low"], row["gain_high"] = None, None
            if "expected_gain" not in hidden:
                member = (groups == g).to_numpy() & np.isfinite(terms["expected_gain"])
                if member.any() and settings.n_boot > 0:
                    interval = bootstrap_mean_interval(
                        terms["expected_gain"][member],
                        clients[member].to_numpy(dtype=object),
                        n_boot=settings.n_boot,
                        seed=seed,
                        alpha=settings.alpha,
                    )
                    row["gain_low"], row["gain_high"] = json_number(interval.low), json_number(interval.high)
            else:
                hidden += ["gain_low", "gain_high"]
        if tables.overrides is not None:
            over = tables.overrides
            row["decisions"] = over.cell(g, TOTAL)
            row["overrides"] = over.cell(g, OVERRIDDEN)
            rate_ok = over.shown(g, [FOLLOWED, OVERRIDDEN, TOTAL]) and (row["decisions"] or 0) > 0
            rate = (row["overrides"] / row["decisions"]) if rate_ok else None
            row["override_rate"] = json_number(rate)
            hidden += [c for c, ok in (("decisions", row["decisions"] is not None),
                                       ("overrides", row["overrides"] is not None),
                                       ("override_rate", rate_ok or over.cell(g, TOTAL) == 0)) if not ok]
            if rate is not None:
                published["override_rate"][g] = float(rate)
        row["suppressed"] = sorted(set(hidden))
        group_rows.append(row)

    comparable = [g for g in order if not is_unknown(g)]
    outcome_groups = {g for g in comparable if g in published["v_hist"] and g in published["v_rec"]}
    gap_metrics = [*MODEL_METRICS, *outcome_metrics]
    if tables.overrides is not None:
        gap_metrics.append("override_rate")
    gaps = attribute_gaps(comparable, published, gap_metrics, settings)
    section_flags = gap_flags(name, gaps)
    section: dict[str, Any] = {
        "name": name,
        "label": ATTRIBUTE_LABELS[name],
        "kind": "intersection" if intersection else "single",
        "groups": group_rows,
        "group_labels": {g: group_label(name, g) for g in order},
        "gaps": gaps,
    }
    if tables.recommended is not None and tables.historical is not None:
        section["services"] = {
            "recommended": _distribution(tables.recommended, order, list(actions)),
            "historical": _distribution(tables.historical, order, list(actions)),
        }
    if tables.reasons is not None:
        reason_columns = [c for c in tables.reasons.values.columns if c != TOTAL]
        section["override_reasons"] = _distribution(tables.reasons, order, reason_columns)

    line = None
    if "v_hist" in outcome_metrics and "v_rec" in outcome_metrics:
        line = headline(
            name, groups, outcome_groups, published, terms, clients, settings, seed
        )
    return section, section_flags, line


def _distribution(table: PublishedTable, order: Sequence[str], columns: Sequence[str]) -> list[dict[str, Any]]:
    """Counts and shares per group (and the total row); shares only from published counts."""
    out = []
    for g in [*order, TOTAL]:
        total = table.cell(g, TOTAL)
        counts = {c: table.cell(g, c) for c in columns}
        shares = {
            c: (json_number(v / total) if v is not None and total else None)
            for c, v in counts.items()
        }
        out.append({"group": g, "total": total, "counts": counts, "shares": shares})
    return out


def _overall(
    y: np.ndarray,
    p_taken: np.ndarray,
    terms: Mapping[str, np.ndarray],
    clients: pd.Series,
    settings: FairnessSettings,
    decision_rows: pd.DataFrame | None,
    tables: Mapping[str, AttributeTables],
    method: str,
) -> dict[str, Any]:
    k = settings.min_cell_size
    n_clients = int(clients.nunique())
    positives = int(y.sum())
    negatives = int(len(y) - positives)
    small = n_clients < k
    outcome_ok = not small and all(v == 0 or v >= k for v in (positives, negatives))
    gain = terms["expected_gain"][np.isfinite(terms["expected_gain"])]
    member = np.isfinite(terms["expected_gain"])
    interval = bootstrap_mean_interval(
        gain, clients[member].to_numpy(dtype=object), n_boot=settings.n_boot, seed=settings.seed,
        alpha=settings.alpha,
    ) if gain.size else None
    out: dict[str, Any] = {
        "clients": None if small else n_clients,
        "decision_points": None if small else len(y),
        "good_outcomes": positives if outcome_ok else None,
        "other_outcomes": negatives if outcome_ok else None,
        "mean_p_outcome": None if small else json_number(np.mean(p_taken)),
        "base_rate": json_number(np.mean(y)) if outcome_ok else None,
        "ece": json_number(expected_calibration_error(y, p_taken)) if outcome_ok else None,
        "auc": json_number(roc_auc(y, p_taken)) if outcome_ok else None,
        "v_hist": json_number(finite_mean(y, y, terms["v_hist"])) if outcome_ok else None,
        "v_rec": json_number(finite_mean(y, y, terms["v_rec"])) if outcome_ok else None,
        "expected_gain": json_number(interval.value) if outcome_ok and interval else None,
        "gain_low": json_number(interval.low) if outcome_ok and interval else None,
        "gain_high": json_number(interval.high) if outcome_ok and interval else None,
        "method": method,
    }
    if decision_rows is not None:
        first = next((t.overrides for t in tables.values() if t.overrides is not None), None)
        if first is not None:
            total = first.cell(TOTAL, TOTAL)
            over = first.cell(TOTAL, OVERRIDDEN)
            out["decisions"] = total
            out["overrides"] = over
            out["override_rate"] = json_number(over / total) if total and over is not None else None
    return out


