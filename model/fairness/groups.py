"""Which group each client belongs to, per protected attribute, and in what order.

The report compares groups of clients along each attribute of `ATTRIBUTES`:
gender, age band, mother tongue, region of citizenship, basis of residence,
education, health limitation (when the data has it) and the intersection
gender × basis of residence.

A client belongs to exactly one group per attribute: the value at the
client's first decision point among the evaluated rows. Only age changes over
time, and taking the first value keeps every client in one age band, so the
groups partition the clients and their counts add up to the totals.

Missing values become the group ``unknown`` (missing data, not a group of
people: it is shown but left out of gaps and the headline). Mother tongues
keep a group of their own only when they are among the largest and have at
least k clients; the rest are pooled as ``other``, so that a rare language
does not point at a person.

Small groups are combined before anything is tabulated (`pool_small_groups`),
rather than hidden afterwards: a group of fewer than k clients hidden in a
table whose total is published would force secondary suppression to hide a
second, possibly large, group. Every group of fewer than k clients joins
``other``; if that pool is still smaller than k, ``unknown`` joins it too
(``other_or_unknown``); only if even that is too small does the pool join the
smallest remaining group (``<group>+other_or_unknown``). No group of at least
k clients is ever hidden to protect a smaller one. docs/fairness.md describes
the groups.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import pandas as pd

from model.fairness.settings import FairnessSettings
from model.vocab import EDUCATION_LEVELS, GENDERS, RESIDENCE_BASES, UNKNOWN

OTHER: Final = "other"
# The group that small groups, ``other`` and, when needed, ``unknown`` are combined into.
POOLED: Final = "other_or_unknown"
# Joins a group to the pool it had to absorb: "male+other_or_unknown".
PLUS: Final = "+"
# Joins the two values of an intersection group: "female × work".
CROSS: Final = " × "
INTERSECTION: Final = "gender_x_residence_basis"

# The attributes, in report order, with the decision-point column they come from.
ATTRIBUTES: Final[tuple[tuple[str, str], ...]] = (
    ("gender", "gender"),
    ("age_band", "age"),
    ("mother_tongue", "mother_tongue"),
    ("citizenship_region", "citizenship_region"),
    ("residence_basis", "residence_basis"),
    ("education_level", "education_level"),
    ("health_limitation", "health_limitation"),
    (INTERSECTION, "gender+residence_basis"),
)

# Vocabulary order for the attributes that have one.
_VOCABULARY_ORDER: Final[dict[str, tuple[str, ...]]] = {
    "gender": GENDERS,
    "residence_basis": RESIDENCE_BASES,
    "education_level": EDUCATION_LEVELS,
    "health_limitation": ("no", "yes", UNKNOWN),
}


def text_values(series: pd.Series) -> pd.Series:
    """Values as text, with missing and empty values as ``unknown``."""
    values = series.astype(object)
    text = values.map(
        lambda v: UNKNOWN if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
    )
    return text.replace({"": UNKNOWN})


def _age_band(ages: pd.Series, settings: FairnessSettings) -> pd.Series:
    numbers = pd.to_numeric(ages, errors="coerce").to_numpy(dtype=float)
    labels = np.asarray(settings.age_band_labels(), dtype=object)
    index = np.searchsorted(np.asarray(settings.age_edges, dtype=float), numbers, side="right")
    out = np.where(np.isnan(numbers), UNKNOWN, labels[np.minimum(index, len(labels) - 1)])
    return pd.Series(out, index=ages.index, dtype=object)


def _yes_no(values: pd.Series) -> pd.Series:
    numbers = pd.to_numeric(values.astype(object).map(_boolish), errors="coerce")
    out = np.where(numbers.isna(), UNKNOWN, np.where(numbers >= 0.5, "yes", "no"))
    return pd.Series(out, index=values.index, dtype=object)


def _boolish(value: Any) -> Any:
    """A yes/no value as a number; text such as "true" or "0" too."""
    if isinstance(value, str):
        return {"true": 1.0, "false": 0.0, "1": 1.0, "0": 0.0}.get(value.strip().lower())
    return value


def _present(frame: pd.DataFrame, column: str) -> bool:
    """The data has the attribute; health limitation only when some row has a value."""
    if column not in frame.columns:
        return False
    values = frame[column]
    if column == "health_limitation":
        numbers = pd.to_numeric(values.astype(object).map(_boolish), errors="coerce")
        return bool(numbers.notna().any())
    return True


def _first_per_client(values: pd.Series, clients: pd.Series, order: np.ndarray) -> pd.Series:
    """Each row gets its client's value at the client's first row in `order`."""
    ordered = values.iloc[order]
    first = ordered.groupby(clients.iloc[order].to_numpy(), sort=False).first()
    return pd.Series(clients.map(first).to_numpy(dtype=object), index=values.index)


def _kept_languages(values: pd.Series, clients: pd.Series, settings: FairnessSettings) -> list[str]:
    """The largest mother tongues by clients, each with at least k clients."""
    per_client = values.groupby(clients.to_numpy()).first()
    sizes = per_client[per_client != UNKNOWN].value_counts()
    sizes = sizes[sizes >= settings.min_cell_size]
    ranked = sorted(sizes.items(), key=lambda kv: (-kv[1], kv[0]))
    return [language for language, _ in ranked[: settings.max_languages]]


def pool_small_groups(
    values: pd.Series, clients: pd.Series, k: int, outcome: pd.Series | None = None
) -> pd.Series:
    """`values` with every group of fewer than `k` clients combined into one larger group.

    The groups of 1..k−1 clients join ``other`` (when the attribute has it);
    a pool still too small takes in ``unknown`` and is called
    ``other_or_unknown``; a pool still too small joins the smallest remaining
    group (``<group>+other_or_unknown``). With `outcome` (each row's 0/1
    outcome), a pool is too small also while its clients with a good, or with
    another, outcome number 1..k−1: its outcome counts would be hidden, and
    protecting them would cost a larger group its counts. Groups of at least
    k clients keep their values otherwise. `clients` gives each row's client,
    aligned with `values`.
    """
    ids = clients.to_numpy(dtype=object)
    sizes = pd.Series(ids).groupby(values.to_numpy(dtype=object)).nunique()
    small = {str(g) for g, n in sizes.items() if 0 < n < k}
    if not small:
        return values
    good = None if outcome is None else outcome.to_numpy(dtype=float) >= 0.5

    def too_small(groups: set[str]) -> bool:
        member = values.isin(groups).to_numpy()
        counts = [pd.Series(ids[member]).nunique()]
        if good is not None:
            counts += [
                pd.Series(ids[member & good]).nunique(),
                pd.Series(ids[member & ~good]).nunique(),
            ]
        return counts[0] < k or any(0 < n < k for n in counts[1:])

    pool = small | ({OTHER} if OTHER in sizes.index else set())
    if too_small(pool) and UNKNOWN in sizes.index:
        pool.add(UNKNOWN)
    label = OTHER if OTHER in pool and UNKNOWN not in pool else POOLED
    if too_small(pool):
        rest = [(int(n), str(g)) for g, n in sizes.items() if str(g) not in pool and n > 0]
        if rest:
            smallest = min(rest)[1]
            pool.add(smallest)
            label = f"{smallest}{PLUS}{POOLED}"
    pooled = values.astype(object).where(~values.isin(pool), label)
    return pd.Series(pooled.to_numpy(dtype=object), index=values.index, dtype=object)


def group_labels(
    frame: pd.DataFrame,
    settings: FairnessSettings,
    *,
    languages: Sequence[str] | None = None,
    pool: bool = True,
) -> tuple[pd.DataFrame, list[str]]:
    """One column per present attribute with each row's group, and the kept languages.

    `frame` has `client_id` and the attribute columns of decision points
    (`gender`, `age`, `mother_tongue`, ...); `decision_date`, when present,
    orders a client's rows. Mother tongues keep their own group when they are
    among the `max_languages` largest by clients and have at least k clients
    (`languages` imposes the list instead, so that decisions are grouped like
    the decision points); the rest are pooled as ``other``. With `pool`,
    groups of fewer than k clients are combined (`pool_small_groups`).
    """
    if "client_id" not in frame.columns:
        raise ValueError("the rows need a client_id column")
    clients = frame["client_id"].astype(str)
    if "decision_date" in frame.columns:
        dates = pd.to_datetime(frame["decision_date"]).to_numpy()
        order = np.lexsort((np.arange(len(frame)), dates))
    else:
        order = np.arange(len(frame))
    out = pd.DataFrame(index=frame.index)
    kept: list[str] = list(languages) if languages is not None else []
    for name, column in ATTRIBUTES:
        if name == INTERSECTION:
            if {"gender", "residence_basis"} <= set(out.columns):
                out[name] = out["gender"] + CROSS + out["residence_basis"]
            continue
        if not _present(frame, column):
            continue
        raw = frame[column]
        if name == "age_band":
            values = _age_band(raw, settings)
        elif name == "health_limitation":
            values = _yes_no(raw)
        else:
            values = text_values(raw)
        values = _first_per_client(values, clients, order)
        if name == "mother_tongue":
            if languages is None:
                kept = _kept_languages(values, clients, settings)
            keep = set(kept) | {UNKNOWN}
            values = values.where(values.isin(keep), OTHER)
        if pool:
            outcome = frame["label"] if "label" in frame.columns else None
            values = pool_small_groups(values, clients, settings.min_cell_size, outcome)
        out[name] = values.astype(object)
    return out, kept


def group_order(
    name: str, values: pd.Series, clients: pd.Series, settings: FairnessSettings
) -> list[str]:
    """The groups of attribute `name` present in `values`, in the order the report lists them.

    Age bands run from young to old; attributes with a vocabulary follow it;
    the intersection follows gender, then basis of residence; the rest go
    from the most clients to the fewest, with ``other`` and ``unknown`` last.
    """
    present = set(values.unique())
    if name == "age_band":
        order = [*settings.age_band_labels(), UNKNOWN]
        return [g for g in order if g in present]
    if name == INTERSECTION:
        known = [f"{g}{CROSS}{b}" for g in GENDERS for b in RESIDENCE_BASES]
        rest = sorted(present - set(known))
        return [g for g in known if g in present] + rest
    if name in _VOCABULARY_ORDER:
        fixed = [g for g in _VOCABULARY_ORDER[name] if g in present]
        pooled = [g for g in (POOLED,) if g in present]
        rest = sorted(present - set(fixed) - set(pooled))
        if UNKNOWN in fixed:  # unknown stays last
            fixed.remove(UNKNOWN)
            return fixed + rest + pooled + [UNKNOWN]
        return fixed + rest + pooled
    sizes = clients.groupby(values.to_numpy()).nunique()
    tail = [g for g in (OTHER, POOLED, UNKNOWN) if g in present]
    head = sorted((g for g in present if g not in tail), key=lambda g: (-int(sizes[g]), g))
    return head + tail


def is_unknown(group: str) -> bool:
    """Missing data or a pool of small groups rather than a group of people.

    Such groups are shown but left out of gaps and the headline. A group
    that absorbed the pool (``male+other_or_unknown``) is still mostly its
    own people, and is compared.
    """
    parts = group.split(CROSS)
    return UNKNOWN in parts or POOLED in parts
