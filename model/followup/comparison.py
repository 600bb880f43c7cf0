"""Outcomes of clients whose caseworker followed Polku's first suggestion vs chose another.

Observed: the share of matured decisions followed by a good outcome in each
arm, with Wilson score intervals, and their difference with Newcombe's
hybrid score interval (see `model.fairness.intervals`).

Adjusted: caseworkers do not follow at random (they override for clients
they know more about), so the observed difference mixes the effect of
following with who gets followed. The doubly robust (AIPW) estimate of the
difference adjusts for everything the model saw (the audit's features) and
for the first suggestion's `p_outcome`:

    psi_i = m1(x) − m0(x) + T (y − m1(x)) / e(x) − (1 − T) (y − m0(x)) / (1 − e(x))

with T = followed, e(x) a logistic model of following and m_t(x) logistic
models of a good outcome in each arm, each fitted on the other half of the
decisions (two-fold cross-fitting; Robins, Rotnitzky & Zhao 1994; Chernozhukov
et al. 2018, "Double/debiased machine learning", Econometrics Journal 21).
The estimate is the mean of psi, its 95 % interval mean ± 1.96 standard
errors of psi. It assumes no unobserved confounding: what made a caseworker
override and also changed the outcome must be in the features.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import pandas as pd
from scipy.stats import norm
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from model.fairness.intervals import newcombe_difference, wilson_interval
from model.json_values import json_number

DIGITS: Final = 6
# Propensities are clipped so that no decision gets an extreme weight.
CLIP: Final = 0.05
# L2 penalty of the logistic models (on standardised covariates): strong, so that
# a few hundred decisions with many one-hot features do not give extreme weights.
REGULARISATION: Final = 0.05
# Each nuisance model is fitted on at most this many decisions of its training
# fold (drawn at random): beyond it the fit costs time and changes little.
MAX_FIT_ROWS: Final = 10_000


def is_numeric(values: pd.Series) -> bool:
    """A feature holding numbers (its dtype numeric, or no text among its values)."""
    if pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype):
        return True
    present = values.dropna()
    return bool(len(present)) and not any(isinstance(v, str) for v in present.iloc[:200])


def covariates(rows: pd.DataFrame, features: pd.DataFrame | None = None) -> np.ndarray:
    """The features the model saw, one-hot where categorical, and the first suggestion's p_outcome.

    `features`: the rows' features as a frame (built from `rows["features"]` when not given).
    """
    if features is None:
        features = pd.DataFrame(list(rows["features"]), index=rows.index)
    parts: list[pd.DataFrame] = []
    for column in sorted(features.columns):
        values = features[column]
        if is_numeric(values):
            numbers = pd.to_numeric(values, errors="coerce").astype(float)
            filled = numbers.fillna(numbers.median() if numbers.notna().any() else 0.0)
            parts.append(pd.DataFrame({column: filled, f"{column}__missing": numbers.isna()}))
        else:
            text = values.astype(object).where(values.notna(), "unknown").astype(str)
            top = text.value_counts().index[:20]
            parts.append(pd.get_dummies(text.where(text.isin(top), "other"), prefix=column))
    p = pd.to_numeric(rows["p_recommended"], errors="coerce")
    parts.append(pd.DataFrame({"p_recommended": p.fillna(p.median() if p.notna().any() else 0.5)}))
    matrix = pd.concat(parts, axis=1).to_numpy(dtype=float)
    return StandardScaler().fit_transform(matrix) if matrix.shape[0] else matrix


def _fit_predict(x: np.ndarray, y: np.ndarray, x_new: np.ndarray) -> np.ndarray:
    if np.unique(y).size < 2:
        return np.full(len(x_new), float(y.mean()) if len(y) else 0.5)
    model = LogisticRegression(C=REGULARISATION, max_iter=200, tol=1e-3)
    model.fit(x, y)
    return np.asarray(model.predict_proba(x_new)[:, 1], dtype=float)


def aipw_difference(
    x: np.ndarray, treated: np.ndarray, y: np.ndarray, *, seed: int = 0, alpha: float = 0.05
) -> dict[str, float]:
    """Cross-fitted AIPW estimate of E[Y(1)] − E[Y(0)], the two adjusted means and the interval."""
    n = len(y)
    rng = np.random.default_rng(seed)
    fold = rng.permutation(n) % 2
    e = np.empty(n)
    m1 = np.empty(n)
    m0 = np.empty(n)
    t = treated.astype(float)
    kept = np.zeros(n, dtype=bool)
    for k in (0, 1):
        members = np.flatnonzero(fold != k)
        kept[rng.permutation(members)[:MAX_FIT_ROWS]] = True
    for k in (0, 1):
        train, test = (fold != k) & kept, fold == k
        e[test] = _fit_predict(x[train], t[train], x[test])
        on, off = train & (t == 1), train & (t == 0)
        m1[test] = _fit_predict(x[on], y[on], x[test])
        m0[test] = _fit_predict(x[off], y[off], x[test])
    e = np.clip(e, CLIP, 1 - CLIP)
    arm1 = m1 + t * (y - m1) / e
    arm0 = m0 + (1 - t) * (y - m0) / (1 - e)
    psi = arm1 - arm0
    z = float(norm.ppf(1 - alpha / 2))
    se = float(psi.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
    value = float(psi.mean())
    return {
        "followed": float(arm1.mean()),
        "other": float(arm0.mean()),
        "difference": value,
        "low": value - z * se,
        "high": value + z * se,
    }


def compare_followed(
    rows: pd.DataFrame,
    *,
    k: int,
    seed: int = 0,
    alpha: float = 0.05,
    features: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """Observed and adjusted outcomes of followed vs other decisions, on matured decisions.

    `rows` are matured decisions (`outcome` 0/1) with `followed`, `client_id`,
    `features` and `p_recommended` (`features` may be given as a frame
    aligned with `rows`). Counts below `k` clients are hidden, and
    with them every figure of that arm and the comparison.
    """
    y = rows["outcome"].to_numpy(dtype=float)
    followed = rows["followed"].to_numpy(dtype=bool)
    clients = rows["client_id"].astype(str)
    arms: dict[str, dict[str, Any]] = {}
    shown = True
    for name, member in (("followed", followed), ("other", ~followed)):
        n = int(member.sum())
        good = int(y[member].sum())
        people = clients[member].nunique()
        good_people = clients[member & (y == 1)].nunique()
        other_people = clients[member & (y == 0)].nunique()
        ok = people >= k and all(v == 0 or v >= k for v in (good_people, other_people))
        shown &= ok
        low, high = wilson_interval(good, n, alpha) if ok else (None, None)
        arms[name] = {
            "decisions": n if people >= k else None,
            "good_outcomes": good if ok else None,
            "rate": json_number(good / n, DIGITS) if ok and n else None,
            "rate_low": json_number(low, DIGITS),
            "rate_high": json_number(high, DIGITS),
        }
    out: dict[str, Any] = {"observed": arms, "observed_difference": None, "adjusted": None}
    if not shown:
        return out
    f, o = arms["followed"], arms["other"]
    low, high = newcombe_difference(
        f["good_outcomes"], f["decisions"], o["good_outcomes"], o["decisions"], alpha
    )
    out["observed_difference"] = {
        "difference": json_number(f["rate"] - o["rate"], DIGITS),
        "low": json_number(low, DIGITS),
        "high": json_number(high, DIGITS),
    }
    adjusted = aipw_difference(covariates(rows, features), followed, y, seed=seed, alpha=alpha)
    out["adjusted"] = {key: json_number(value, DIGITS) for key, value in adjusted.items()}
    return out
