"""The tables of counts the fairness report publishes, with small cells hidden.

Every count in the report comes from a table of groups × categories put
through `model.fairness.suppression.suppress` with the threshold k. For one
attribute (`AttributeTables`) these are:

- clients and decision points per group: one column, with the total. Gender ×
  basis of residence is one two-way table whose margins are the gender and
  the basis-of-residence tables, so the three are suppressed together.
  Decision points share the clients' hidden cells: a group of fewer than k
  clients is hidden whatever its number of decision points;
- outcomes (good or other), recommended services and historical services per
  group; their row totals are the group's decision points;
- with caseworkers' decisions (see `model.fairness.decisions`): followed and
  overridden decisions per group, and the reasons given for the overrides,
  whose row totals are the overridden counts.

The tables are linked: a row total is the same number in every table that
holds it, so a total hidden in one table must be hidden in the others, or it
could be read there and used to work out the hidden cells. `suppressed_tables`
hides such totals everywhere and suppresses again until no table hides a new
one. Intersection groups publish their clients and decision points only:
their outcome and service counts would be linked to the single-attribute
tables. docs/fairness.md describes the rule.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import pandas as pd

from model.fairness.groups import CROSS, INTERSECTION
from model.fairness.suppression import TOTAL, suppress

# Column labels of the published tables.
POSITIVE: Final = "good_outcome"
NEGATIVE: Final = "other_outcome"
FOLLOWED: Final = "followed"
OVERRIDDEN: Final = "overridden"


def count_table(
    groups: pd.Series,
    order: Sequence[str],
    values: pd.Series,
    categories: Sequence[str],
    ids: pd.Series | None = None,
) -> pd.DataFrame:
    """Rows = groups (in `order`), columns = `categories` of `values`: counts of rows.

    With `ids`, each cell counts distinct ids (persons) instead of rows.
    """
    frame = pd.DataFrame({"g": groups.to_numpy(dtype=object), "c": values.to_numpy(dtype=object)})
    if ids is None:
        table = frame.groupby(["g", "c"]).size()
    else:
        frame["id"] = ids.to_numpy(dtype=object)
        table = frame.groupby(["g", "c"])["id"].nunique()
    wide = table.unstack("c", fill_value=0) if len(table) else pd.DataFrame()
    return (
        wide.reindex(index=list(order), columns=list(categories), fill_value=0)
        .fillna(0)
        .astype(int)
    )


@dataclass
class PublishedTable:
    """A table after suppression: the published values (NaN where hidden) and the mask."""

    values: pd.DataFrame
    mask: pd.DataFrame

    def cell(self, row: str, column: str) -> int | None:
        """The published count, or None when it is hidden."""
        if bool(self.mask.loc[row, column]):
            return None
        return int(self.values.loc[row, column])

    def shown(self, row: str, columns: Sequence[str]) -> bool:
        """Every one of these cells of `row` is published."""
        return not any(bool(self.mask.loc[row, c]) for c in columns)


def hidden_totals(groups: Sequence[str], hidden: set[str], columns: Sequence[str]) -> pd.DataFrame:
    """A mask for a groups × `columns` table that hides the row totals of `hidden` groups."""
    frame = pd.DataFrame(False, index=[*groups, TOTAL], columns=[*columns, TOTAL])
    for g in hidden:
        if g in frame.index:
            frame.loc[g, TOTAL] = True
    return frame


def linked(
    table: pd.DataFrame,
    persons: pd.DataFrame,
    hidden_groups: set[str],
    k: int,
) -> tuple[PublishedTable, set[str]]:
    """Suppress groups × categories whose row totals are published elsewhere.

    Returns the table and the groups whose total this table had to hide
    beyond `hidden_groups` (the caller hides them everywhere and repeats).
    """
    hidden = hidden_totals(list(table.index), hidden_groups, list(table.columns))
    values, mask = suppress(
        table, k, persons=persons, row_totals=True, column_totals=True, hidden=hidden
    )
    extra = {str(g) for g in table.index if bool(mask.loc[g, TOTAL]) and g not in hidden_groups}
    return PublishedTable(values, mask), extra


@dataclass
class AttributeTables:
    """The published tables of one attribute, and what they allow to be shown per group."""

    groups: list[str]
    clients: PublishedTable
    decision_points: PublishedTable
    k: int
    outcome: PublishedTable | None = None
    recommended: PublishedTable | None = None
    historical: PublishedTable | None = None
    overrides: PublishedTable | None = None
    reasons: PublishedTable | None = None
    # Groups whose own outcome counts are both 0 or >= k (primary rule only).
    outcome_ok: set[str] = field(default_factory=set)
    # Clients per group (for the primary rule on figures that are not counts).
    sizes: dict[str, int] = field(default_factory=dict)

    def group_shown(self, g: str) -> bool:
        """The group's number of clients is published."""
        return not bool(self.clients.mask.loc[g, self.clients.mask.columns[0]])

    def outcome_counts_shown(self, g: str) -> bool:
        """The group's outcome counts are published (primary and secondary suppression)."""
        if self.outcome is None:
            return False
        return self.group_shown(g) and self.outcome.shown(g, [POSITIVE, NEGATIVE])

    def group_ok(self, g: str) -> bool:
        """The group has at least k clients: figures that are not counts may be shown.

        Its counts may still be hidden by secondary suppression; means,
        calibration and AUC do not let anyone work a count out.
        """
        return self.sizes.get(g, 0) >= self.k

    def outcome_figures_ok(self, g: str) -> bool:
        """Figures that use outcomes but from which no count can be derived may be shown."""
        return self.group_ok(g) and g in self.outcome_ok

    def hidden_cells(self) -> int:
        """How many cells these tables hide (decision points share the clients' cells)."""
        tables = (
            self.clients,
            self.outcome,
            self.recommended,
            self.historical,
            self.overrides,
            self.reasons,
        )
        return sum(int(table.mask.to_numpy().sum()) for table in tables if table is not None)


# --------------------------------------------------------------------------
# clients and decision points per group
# --------------------------------------------------------------------------


def _one_way(counts: pd.Series, k: int, hidden: set[str]) -> PublishedTable:
    """One attribute's groups as a one-column table with its total."""
    table = counts.to_frame("n")
    forced = pd.DataFrame(False, index=[*table.index, TOTAL], columns=["n"])
    for g in hidden:
        forced.loc[g, "n"] = True
    values, mask = suppress(table, k, column_totals=True, hidden=forced)
    return PublishedTable(values, mask)


def _with_mask(counts: pd.Series, order: Sequence[str], hidden: pd.Series) -> PublishedTable:
    """Counts per group and their total, published with the given hidden cells."""
    counts = counts.reindex(order, fill_value=0).astype(int)
    total = int(counts.sum())
    values = pd.DataFrame({"n": [*counts.tolist(), total]}, index=[*order, TOTAL], dtype=float)
    mask = pd.DataFrame(
        {"n": hidden.reindex([*order, TOTAL]).to_numpy(dtype=bool)}, index=values.index
    )
    return PublishedTable(values.mask(mask), mask)


def _gender_by_residence_mask(
    labels: pd.DataFrame,
    orders: Mapping[str, list[str]],
    clients: pd.Series,
    k: int,
    forced: Mapping[str, set[str]],
) -> pd.DataFrame:
    """The hidden cells of the two-way table of clients by gender and basis of residence.

    Its row totals are the gender groups, its column totals the
    basis-of-residence groups and its inner cells the intersection groups.
    """
    genders, bases = orders["gender"], orders["residence_basis"]
    cells = pd.DataFrame(
        {
            "g": labels["gender"].to_numpy(dtype=object),
            "b": labels["residence_basis"].to_numpy(dtype=object),
            "c": clients.to_numpy(dtype=object),
        }
    )
    two_way = cells.groupby(["g", "b"])["c"].nunique().unstack("b", fill_value=0)
    two_way = two_way.reindex(index=genders, columns=bases, fill_value=0).fillna(0).astype(int)
    hidden = pd.DataFrame(False, index=[*genders, TOTAL], columns=[*bases, TOTAL])
    for g in forced.get("gender", set()):
        hidden.loc[g, TOTAL] = True
    for b in forced.get("residence_basis", set()):
        hidden.loc[TOTAL, b] = True
    for gb in forced.get(INTERSECTION, set()):
        g, b = gb.split(CROSS, 1)
        hidden.loc[g, b] = True
    _, mask = suppress(two_way, k, row_totals=True, column_totals=True, hidden=hidden)
    return mask


def _group_tables(
    labels: pd.DataFrame,
    orders: Mapping[str, list[str]],
    clients: pd.Series,
    k: int,
    forced: Mapping[str, set[str]],
) -> dict[str, tuple[PublishedTable, PublishedTable]]:
    """Clients and decision points per group for every attribute, suppressed.

    Gender × residence basis is one two-way table whose margins are the gender
    and residence-basis tables; every other attribute is a one-way table with
    its total. Decision points share the clients' mask: a group of fewer than k
    clients is hidden, and the same pattern of hidden cells protects any
    additive table of the same shape. `forced` holds the groups whose totals
    another table had to hide.
    """
    decision_points = {name: labels[name].value_counts() for name in orders}
    clients_per_group = {
        name: clients.groupby(labels[name].to_numpy()).nunique() for name in orders
    }
    out: dict[str, tuple[PublishedTable, PublishedTable]] = {}

    def publish(name: str, hidden: pd.Series) -> None:
        order = orders[name]
        out[name] = (
            _with_mask(clients_per_group[name], order, hidden),
            _with_mask(decision_points[name], order, hidden),
        )

    joint = INTERSECTION in orders and "gender" in orders and "residence_basis" in orders
    for name in orders:
        if joint and name in ("gender", "residence_basis", INTERSECTION):
            continue
        counts = clients_per_group[name].reindex(orders[name], fill_value=0)
        published = _one_way(counts, k, forced.get(name, set()))
        publish(name, published.mask["n"])
    if joint:
        mask = _gender_by_residence_mask(labels, orders, clients, k, forced)
        publish("gender", mask[TOTAL])
        publish("residence_basis", mask.loc[TOTAL])
        genders, bases = orders["gender"], orders["residence_basis"]
        inter = pd.Series({f"{g}{CROSS}{b}": bool(mask.loc[g, b]) for g in genders for b in bases})
        inter[TOTAL] = bool(mask.loc[TOTAL, TOTAL])
        publish(INTERSECTION, inter)
    return out


# --------------------------------------------------------------------------
# every attribute's tables, linked
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class _RowCategories:
    """What each evaluated decision point is counted as, per kind of table."""

    clients: pd.Series
    outcome: pd.Series
    taken: pd.Series
    recommended: pd.Series


def _attribute_tables(
    name: str,
    order: list[str],
    groups: pd.Series,
    counted: tuple[PublishedTable, PublishedTable],
    rows: _RowCategories,
    actions: Sequence[str],
    k: int,
) -> tuple[AttributeTables, set[str]]:
    """One attribute's tables, and the groups whose totals they had to hide anew."""
    people, points = counted
    result = AttributeTables(list(order), people, points, k)
    sizes = rows.clients.groupby(groups.to_numpy()).nunique()
    result.sizes = {str(g): int(v) for g, v in sizes.items()}
    own = count_table(groups, order, rows.outcome, [POSITIVE, NEGATIVE])
    result.outcome_ok = {g for g in order if all(v == 0 or v >= k for v in own.loc[g].tolist())}
    if name == INTERSECTION:
        return result, set()
    hidden = {g for g in order if bool(people.mask.loc[g, "n"])}
    newly_hidden: set[str] = set()
    for attribute, values, categories in (
        ("outcome", rows.outcome, [POSITIVE, NEGATIVE]),
        ("recommended", rows.recommended, list(actions)),
        ("historical", rows.taken, list(actions)),
    ):
        counts = count_table(groups, order, values, categories)
        persons = count_table(groups, order, values, categories, ids=rows.clients)
        published, extra = linked(counts, persons, hidden, k)
        setattr(result, attribute, published)
        newly_hidden |= extra
    return result, newly_hidden


def suppressed_tables(
    labels: pd.DataFrame,
    orders: Mapping[str, list[str]],
    rows: pd.DataFrame,
    actions: Sequence[str],
    taken: np.ndarray,
    recommended: np.ndarray,
    k: int,
) -> dict[str, AttributeTables]:
    """Every attribute's tables, with hidden totals propagated to a fixed point.

    `labels` holds each row's group per attribute (see
    `model.fairness.groups.group_labels`) and `orders` each attribute's
    groups in order; `rows` has `client_id` and `label`; `taken` and
    `recommended` are action indices into `actions`.
    """
    clients = rows["client_id"].astype(str)
    y = rows["label"].to_numpy(dtype=float)
    codes = np.asarray(actions, dtype=object)
    categories = _RowCategories(
        clients=clients,
        outcome=pd.Series(np.where(y >= 0.5, POSITIVE, NEGATIVE), index=rows.index),
        taken=pd.Series(codes[taken], index=rows.index),
        recommended=pd.Series(codes[recommended], index=rows.index),
    )
    forced: dict[str, set[str]] = {name: set() for name in orders}
    while True:
        counted = _group_tables(labels, orders, clients, k, forced)
        tables: dict[str, AttributeTables] = {}
        grew = False
        for name, order in orders.items():
            tables[name], extra = _attribute_tables(
                name, order, labels[name], counted[name], categories, actions, k
            )
            if extra:
                forced[name] |= extra
                grew = True
        if not grew:
            return tables
