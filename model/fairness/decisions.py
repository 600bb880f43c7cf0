"""Caseworkers' decisions in the fairness report: who overrode Polku, and why.

Once Polku has served, the API's database holds the caseworkers' decisions:
for each recommendation, the service chosen, and when it was not Polku's first
one, a reason code. `decisions_from_store` joins them to the audit log, which
carries the client and the features the model saw, so that each decision can
be grouped like the decision points (same attributes, same kept languages).

`add_decision_tables` then publishes, per attribute, the followed and
overridden decisions per group and the reasons given for the overrides, with
the same small-cell suppression as every other count (see
`model.fairness.tables`). The reasons' row totals are the overridden counts,
so the two tables are suppressed together until neither hides a new total.
docs/fairness.md describes how to rebuild a report with decisions.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from model.fairness.groups import (
    ATTRIBUTES,
    INTERSECTION,
    OTHER,
    PLUS,
    POOLED,
    group_labels,
    text_values,
)
from model.fairness.settings import FairnessSettings
from model.fairness.suppression import suppress
from model.fairness.tables import (
    FOLLOWED,
    OVERRIDDEN,
    AttributeTables,
    PublishedTable,
    count_table,
    hidden_totals,
    linked,
)
from model.vocab import REASON_CODES, UNKNOWN


def decisions_from_store(
    decisions: pd.DataFrame,
    audit: pd.DataFrame,
    *,
    model_version: str | None = None,
) -> pd.DataFrame:
    """Caseworkers' decisions joined to the audit log, ready for `fairness_report`.

    `decisions`: rows of the decisions table (`decision_id`, `request_id`,
    `chosen_service`, `recommended_service`, `reason_code`, optional
    `corrects` and `created_at`). `audit`: rows of the audit log
    (`request_id`, `client_id`, `model_version`, `features`: the decision-point
    features as a dict or a JSON string). Join key: `request_id` (a decision
    refers to the recommendation it answers; the audit row carries the
    pseudonymous client id and the features the model saw). A decision that a
    later one `corrects` is replaced by it; of several for one request
    without corrections, the last one counts. `model_version` keeps the
    decisions on that version's recommendations only.
    """
    frame = decisions.copy()
    if "corrects" in frame.columns:
        corrected = set(frame["corrects"].dropna().astype(str))
        frame = frame[~frame["decision_id"].astype(str).isin(corrected)]
    if "created_at" in frame.columns:
        frame = frame.sort_values("created_at", kind="stable")
    frame = frame.drop_duplicates("request_id", keep="last")
    log = audit.copy()
    if model_version is not None and "model_version" in log.columns:
        log = log[log["model_version"].astype(str) == str(model_version)]
    features = log["features"].map(lambda v: json.loads(v) if isinstance(v, str) else dict(v or {}))
    wanted = sorted({column for _, column in ATTRIBUTES if "+" not in column})
    expanded = pd.DataFrame(
        {
            name: features.map(lambda d, nm=name: d.get(nm)).to_numpy(dtype=object)
            for name in wanted
        },
        index=log.index,
    )
    expanded["request_id"] = log["request_id"].astype(str).to_numpy()
    expanded["client_id"] = log["client_id"].astype(str).to_numpy()
    if "as_of" in log.columns:
        expanded["decision_date"] = pd.to_datetime(log["as_of"]).to_numpy()
    frame["request_id"] = frame["request_id"].astype(str)
    joined = frame.merge(expanded, on="request_id", how="inner", validate="one_to_one")
    joined["overridden"] = joined["chosen_service"].astype(str) != joined[
        "recommended_service"
    ].astype(str)
    return joined.reset_index(drop=True)


def _decision_input(decisions: pd.DataFrame) -> pd.DataFrame:
    """The decisions with `overridden` and `reason_code` filled in when absent."""
    frame = decisions.reset_index(drop=True).copy()
    for name in ("client_id", "chosen_service"):
        if name not in frame.columns:
            raise ValueError(f"the decisions table needs a {name} column")
    if "overridden" not in frame.columns:
        if "recommended_service" not in frame.columns:
            raise ValueError("the decisions table needs recommended_service or overridden")
        frame["overridden"] = frame["chosen_service"].astype(str) != frame[
            "recommended_service"
        ].astype(str)
    if "reason_code" not in frame.columns:
        frame["reason_code"] = None
    frame["overridden"] = frame["overridden"].astype(bool)
    return frame


def _pool_group(order: Sequence[str]) -> str | None:
    """The group of `order` that small groups were combined into, if any."""
    for g in order:
        if g == POOLED or g.endswith(f"{PLUS}{POOLED}"):
            return g
    return None


def _decision_groups(
    decisions: pd.DataFrame,
    settings: FairnessSettings,
    languages: Sequence[str],
    orders: Mapping[str, list[str]],
) -> pd.DataFrame:
    """Each decision's group per attribute, among the groups of the decision points.

    A value the decision points do not have as a group of its own was
    combined into their pool of small groups, and so is the decision; without
    such a pool it becomes ``other`` (a mother tongue) or ``unknown``, so the
    decisions add no group of their own.
    """
    labels, _ = group_labels(decisions, settings, languages=languages, pool=False)
    for name in labels.columns:
        if name in orders:
            extra = [g for g in labels[name].unique() if g not in orders[name]]
            if extra:
                pool = _pool_group(orders[name])
                if pool is None and OTHER in orders[name]:
                    pool = OTHER
                fallback = pool or (OTHER if name == "mother_tongue" else UNKNOWN)
                labels[name] = labels[name].where(labels[name].isin(orders[name]), fallback)
    return labels


def _pool_few_deciders(
    groups: pd.Series, order: list[str], clients: pd.Series, kind: pd.Series, k: int
) -> tuple[pd.Series, list[str], set[str]]:
    """Decisions of groups with fewer than k clients moved into one row, before tabulating.

    A group with decisions on 1..k−1 clients would be hidden, and protecting
    it would cost another group its figures. Its decisions are counted in the
    pool of small groups instead: the decision points' pool, or a row
    ``other_or_unknown`` of the decision tables alone. A pool still under k
    clients, or with 1..k−1 clients followed or overridden, joins the smallest
    group with decisions (a row ``<group>+other_or_unknown``). Returns the
    groups, the rows of the decision tables, and the groups whose decisions
    moved (their own rows are then hidden).
    """
    ids = clients.to_numpy(dtype=object)
    labels = groups.to_numpy(dtype=object)
    sizes = pd.Series(ids).groupby(labels).nunique()
    few = {str(g) for g, n in sizes.items() if 0 < n < k}
    if not few:
        return groups, list(order), set()
    label = _pool_group(order) or POOLED
    pool = few | ({label} if label in sizes.index else set())
    overridden = (kind == OVERRIDDEN).to_numpy()

    def too_small(members: set[str]) -> bool:
        inside = np.isin(labels, list(members))
        counts = [pd.Series(ids[inside & part]).nunique() for part in (overridden, ~overridden)]
        return pd.Series(ids[inside]).nunique() < k or any(0 < n < k for n in counts)

    if too_small(pool):
        rest = [(int(n), str(g)) for g, n in sizes.items() if str(g) not in pool and n > 0]
        if rest:
            smallest = min(rest)[1]
            pool.add(smallest)
            label = f"{smallest}{PLUS}{POOLED}"
    rows = list(order) if label in order else [*order, label]
    moved = pool - {label}
    return groups.where(~groups.isin(pool), label), rows, moved


def override_tables(
    groups: pd.Series,
    order: list[str],
    decisions: pd.DataFrame,
    kind: pd.Series,
    reason: pd.Series,
    reason_codes: list[str],
    k: int,
) -> tuple[PublishedTable, PublishedTable]:
    """Followed/overridden decisions and override reasons per group of one attribute.

    The reasons' row totals are the overridden counts: an overridden count
    hidden in one table is hidden in the other, repeated until neither hides
    a new one.
    """
    clients = decisions["client_id"].astype(str)
    overridden = decisions["overridden"].to_numpy(dtype=bool)
    groups, order, moved = _pool_few_deciders(groups, order, clients, kind, k)
    counts = count_table(groups, order, kind, [FOLLOWED, OVERRIDDEN])
    persons = count_table(groups, order, kind, [FOLLOWED, OVERRIDDEN], ids=clients)
    # A group's decision total is shown only when it comes from at least k clients.
    few = {g for g in order if 0 < clients[groups == g].nunique() < k}
    override_rows = decisions.index[overridden]
    reason_groups = groups.loc[override_rows]
    reason_counts = count_table(reason_groups, order, reason.loc[override_rows], reason_codes)
    reason_persons = count_table(
        reason_groups,
        order,
        reason.loc[override_rows],
        reason_codes,
        ids=clients.loc[override_rows],
    )
    forced_over: set[str] = set()
    while True:
        hidden = hidden_totals(order, few, [FOLLOWED, OVERRIDDEN])
        for g in forced_over:
            hidden.loc[g, OVERRIDDEN] = True
        values, mask = suppress(
            counts, k, persons=persons, row_totals=True, column_totals=True, hidden=hidden
        )
        overrides = PublishedTable(values, mask)
        hidden_over = {g for g in order if bool(mask.loc[g, OVERRIDDEN])}
        reasons, extra = linked(reason_counts, reason_persons, hidden_over, k)
        if not extra:
            return _hide_rows(overrides, moved), _hide_rows(reasons, moved)
        forced_over |= extra


def _hide_rows(table: PublishedTable, groups: set[str]) -> PublishedTable:
    """The table with the (empty) rows of `groups` shown as hidden: their decisions are elsewhere."""
    if not groups:
        return table
    mask = table.mask.copy()
    mask.loc[sorted(groups)] = True
    return PublishedTable(table.values.mask(mask), mask)


def add_decision_tables(
    decisions: pd.DataFrame,
    settings: FairnessSettings,
    languages: Sequence[str],
    orders: Mapping[str, list[str]],
    tables: Mapping[str, AttributeTables],
) -> pd.DataFrame:
    """Fill in the override and reason tables of every single attribute in `tables`.

    `decisions` has `client_id`, `chosen_service`, `overridden` or
    `recommended_service`, optionally `reason_code`, and the attribute
    columns (see `decisions_from_store`); `languages` are the mother tongues
    kept for the decision points and `orders` their groups. Returns the
    decisions as read.
    """
    rows = _decision_input(decisions)
    labels = _decision_groups(rows, settings, languages, orders)
    overridden = rows["overridden"].to_numpy(dtype=bool)
    kind = pd.Series(np.where(overridden, OVERRIDDEN, FOLLOWED), index=rows.index)
    reason = text_values(rows["reason_code"]).where(overridden, None)
    reason_codes = list(REASON_CODES) + sorted(set(reason.dropna().unique()) - set(REASON_CODES))
    for name, order in orders.items():
        if name == INTERSECTION or name not in labels.columns:
            continue
        overrides, reasons = override_tables(
            labels[name], order, rows, kind, reason, reason_codes, settings.min_cell_size
        )
        tables[name].overrides = overrides
        tables[name].reasons = reasons
    return rows
