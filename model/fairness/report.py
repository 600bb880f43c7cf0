"""The fairness report: does the model treat groups of clients fairly, and would
following it narrow or widen the gaps that historical practice left?

`fairness_report` takes the evaluated decision points, the model's scores of
them and optionally caseworkers' decisions, and returns a JSON-ready dict: the
settings, which attributes the model uses, the overall figures, the headline
per attribute, the flagged gaps and a section per attribute. It is pure: the
caller scores the decision points (see `training.reports.fairness_report_for`)
and passes plain arrays; `training.reports` renders the dict as HTML.

The steps, each in its own module:

1. each row's group per attribute, and the groups' order (`groups`);
2. the published tables of counts, small cells hidden (`tables`, with
   `suppression`), and with decisions the override tables (`decisions`);
3. per attribute, the group rows, gaps and headline (`sections`, `metrics`,
   `gaps`, `text`);
4. the overall figures and the report dict (here).

docs/fairness.md describes the report for its readers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from model.evaluation import bootstrap_mean_interval, expected_calibration_error, roc_auc
from model.fairness.decisions import add_decision_tables
from model.fairness.groups import ATTRIBUTES, INTERSECTION, group_labels, group_order
from model.fairness.metrics import REPORT_DIGITS, EvaluatedRows, evaluated_rows, finite_mean
from model.fairness.sections import attribute_section
from model.fairness.settings import FairnessSettings
from model.fairness.suppression import MARK, TOTAL
from model.fairness.tables import OVERRIDDEN, AttributeTables, suppressed_tables
from model.features import PROTECTED_BY_DEFAULT
from model.json_values import json_number

REPORT_KIND: Final = "polku.fairness_report"
SCHEMA_VERSION: Final = 1


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
    (see `model.fairness.decisions.decisions_from_store`) with `client_id`,
    `overridden`, `reason_code` and the attribute columns. `model_features`:
    the encoded feature columns of the model, to say which attributes it uses.
    """
    settings = settings or FairnessSettings()
    rows = rows.reset_index(drop=True)
    taken_ = np.asarray(taken, dtype=np.intp)
    recommended_ = np.asarray(recommended, dtype=np.intp)
    p_ = np.asarray(p, dtype=float)
    propensity_ = np.asarray(propensity, dtype=float)
    truth_ = None if truth is None else np.asarray(truth, dtype=float)
    check_inputs(rows, actions, taken_, recommended_, p_, propensity_, truth_)
    if len(rows) == 0:
        raise ValueError("no rows to report on: the evaluated selection is empty")

    evaluated = evaluated_rows(
        rows, taken=taken_, recommended=recommended_, p=p_, propensity=propensity_, truth=truth_
    )
    labels, languages = group_labels(rows, settings)
    orders = {
        name: group_order(name, labels[name], evaluated.clients, settings)
        for name in labels.columns
    }
    tables = suppressed_tables(
        labels, orders, rows, actions, taken_, recommended_, settings.min_cell_size
    )
    decision_rows = None
    if decisions is not None and len(decisions):
        decision_rows = add_decision_tables(decisions, settings, languages, orders, tables)
    decisions_included = decision_rows is not None

    attributes: list[dict[str, Any]] = []
    flags: list[dict[str, Any]] = []
    headline: list[dict[str, Any]] = []
    for index, name in enumerate(orders):
        section, section_flags, line = attribute_section(
            name,
            orders[name],
            labels[name],
            tables[name],
            rows=evaluated,
            settings=settings,
            seed=settings.seed + index,
            actions=actions,
        )
        section["used_as_feature"] = _used_as_feature(name, model_features)
        attributes.append(section)
        flags.extend(section_flags)
        if line is not None:
            headline.append(line)

    names = dict(service_names or {})
    return {
        "kind": REPORT_KIND,
        "schema_version": SCHEMA_VERSION,
        "generated_at": (generated_at or datetime.now(UTC)).isoformat(timespec="seconds"),
        "model": dict(model or {}),
        "period": report_period(rows, decisions if decisions_included else None),
        "method": evaluated.method,
        "settings": {**asdict(settings), "age_edges": list(settings.age_edges)},
        "attributes_used": _attributes_used(labels.columns, model_features, protected_attributes),
        "overall": _overall(evaluated, settings, tables, decisions_included),
        "headline": headline,
        "flags": flags,
        "attributes": attributes,
        "actions": list(actions),
        "service_names": {a: dict(names.get(a, {})) for a in actions},
        "suppression": {
            "k": settings.min_cell_size,
            "mark": MARK,
            "cells_hidden": int(sum(t.hidden_cells() for t in tables.values())),
            "languages_kept": languages,
        },
        "decisions_included": decisions_included,
    }


def _month_range(dates: pd.Series) -> dict[str, str | None]:
    """First and last month of `dates` (YYYY-MM): a period, never one person's exact date."""
    values = pd.to_datetime(dates, errors="coerce", utc=True).dropna()
    if values.empty:
        return {"from": None, "to": None}
    return {"from": f"{values.min():%Y-%m}", "to": f"{values.max():%Y-%m}"}


def report_period(rows: pd.DataFrame, decisions: pd.DataFrame | None) -> dict[str, Any]:
    """The months the report covers: the evaluated clients and decision points, and the decisions.

    - ``clients``: when the evaluated clients had their first evaluated
      decision point (the cohort the report is about);
    - ``decision_points``: the decision dates evaluated;
    - ``decisions``: when caseworkers' decisions were recorded (None without them).
    """
    out: dict[str, Any] = {"clients": None, "decision_points": None, "decisions": None}
    if "decision_date" in rows.columns:
        dates = pd.to_datetime(rows["decision_date"], errors="coerce")
        out["decision_points"] = _month_range(dates)
        out["clients"] = _month_range(dates.groupby(rows["client_id"].astype(str)).min())
    if decisions is not None:
        for column in ("created_at", "decision_date"):
            if column in decisions.columns:
                out["decisions"] = _month_range(decisions[column])
                break
    return out


def check_inputs(
    rows: pd.DataFrame,
    actions: Sequence[str],
    taken: np.ndarray,
    recommended: np.ndarray,
    p: np.ndarray,
    propensity: np.ndarray,
    truth: np.ndarray | None,
) -> None:
    """Refuse rows and scores that do not fit together (a ValueError saying which)."""
    n, a = len(rows), len(actions)
    for name in ("client_id", "label"):
        if name not in rows.columns:
            raise ValueError(f"the rows need a {name} column")
    matrices: tuple[tuple[str, np.ndarray], ...] = (("p", p), ("propensity", propensity))
    if truth is not None:
        matrices += (("truth", truth),)
    for name, array in matrices:
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


def _overall(
    evaluated: EvaluatedRows,
    settings: FairnessSettings,
    tables: Mapping[str, AttributeTables],
    decisions_included: bool,
) -> dict[str, Any]:
    """The figures over all evaluated clients, hidden like a group's when too few."""
    y, p_taken, terms = evaluated.y, evaluated.p_taken, evaluated.terms
    k = settings.min_cell_size
    n_clients = int(evaluated.clients.nunique())
    positives = int(y.sum())
    negatives = int(len(y) - positives)
    small = n_clients < k
    # As for a group: figures that use outcomes need both outcome counts 0 or at least k.
    outcome_ok = not small and all(v == 0 or v >= k for v in (positives, negatives))
    member = np.isfinite(terms["expected_gain"])
    gain = terms["expected_gain"][member]
    interval = (
        bootstrap_mean_interval(
            gain,
            evaluated.clients[member].to_numpy(dtype=object),
            n_boot=settings.n_boot,
            seed=settings.seed,
            alpha=settings.alpha,
        )
        if gain.size
        else None
    )
    shown = interval if outcome_ok else None
    out: dict[str, Any] = {
        "clients": None if small else n_clients,
        "decision_points": None if small else len(y),
        "good_outcomes": positives if outcome_ok else None,
        "other_outcomes": negatives if outcome_ok else None,
        "mean_p_outcome": None if small else json_number(np.mean(p_taken), REPORT_DIGITS),
        "base_rate": json_number(np.mean(y), REPORT_DIGITS) if outcome_ok else None,
        "ece": json_number(expected_calibration_error(y, p_taken), REPORT_DIGITS)
        if outcome_ok
        else None,
        "auc": json_number(roc_auc(y, p_taken), REPORT_DIGITS) if outcome_ok else None,
        "v_hist": json_number(finite_mean(y, y, terms["v_hist"]), REPORT_DIGITS)
        if outcome_ok
        else None,
        "v_rec": json_number(finite_mean(y, y, terms["v_rec"]), REPORT_DIGITS)
        if outcome_ok
        else None,
        "expected_gain": None if shown is None else json_number(shown.value, REPORT_DIGITS),
        "gain_low": None if shown is None else json_number(shown.low, REPORT_DIGITS),
        "gain_high": None if shown is None else json_number(shown.high, REPORT_DIGITS),
        "method": evaluated.method,
    }
    if decisions_included:
        first = next((t.overrides for t in tables.values() if t.overrides is not None), None)
        if first is not None:
            total = first.cell(TOTAL, TOTAL)
            over = first.cell(TOTAL, OVERRIDDEN)
            out["decisions"] = total
            out["overrides"] = over
            out["override_rate"] = (
                json_number(over / total, REPORT_DIGITS) if total and over is not None else None
            )
    return out


def _used_as_feature(name: str, model_features: Sequence[str]) -> bool:
    """The model uses the attribute (age for age bands; either part of the intersection)."""
    features = set(model_features)
    if name == "age_band":
        return "age" in features
    if name == INTERSECTION:
        return bool({"gender", "residence_basis"} & features)
    return name in features


def _attributes_used(
    present: Sequence[str], model_features: Sequence[str], protected: Sequence[str]
) -> dict[str, Any]:
    """Which attributes are model features, which serve the audit only, which are missing."""
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
