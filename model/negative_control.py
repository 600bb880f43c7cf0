"""Selection on readiness, measured while clients wait for a planned service.

Between a review that records its plan and the start of the planned service,
the client has not had the service yet: whether they find work or education
during that wait cannot be the service's doing. If caseworkers send the
clients they judge most ready to a service, those clients leave for work
sooner already while they wait, and their hazard in the wait, set against
that of clients with the same features and other plans, measures the
selection that no column records. This is a negative-control outcome
(Lipsitch, Tchetgen Tchetgen & Cohen 2010, "Negative controls", Epidemiology
21(3)); using it to calibrate the effect estimate is the control outcome
calibration approach (Tchetgen Tchetgen 2014, Stat. Med. 33(3)).

Model of the waits, per action a, among the reviews of clients eligible for
a: events ~ Poisson(exposure * exp(c + b eta(x) + d_a [plan = a])), with
eta(x) = log(-log(1 - p0(x))), the complementary log-log of the learner's
chance without a new service: a prognostic score that summarises the
features (Hansen 2008, Biometrika 95(2)). The readiness of a's planned
clients relative to all eligible clients with the same features is
r_a = d_a - log(w_a exp(d_a) + 1 - w_a), w_a the share planned for a.

If readiness multiplies the outcome hazard alike before and after the start
(proportional hazards, as in the mixed proportional hazards model of
Abbring & van den Berg 2003, Econometrica 71(5)), a taker's chance
p = 1 - exp(-H m_a) becomes, for a client of average readiness,
1 - (1 - p) ** exp(-r_a): that is the correction.

What it assumes, and the model card says: planning a service does not by
itself change how fast a client finds work before it starts (no
anticipation; a threat effect would be read as selection); the recorded
plans are representative of the decisions; readiness acts on the hazard
proportionally. Each r_a is shrunk towards zero by an empirical-Bayes factor
(Efron & Morris 1975, JASA 70(350)), so a ratio within its noise moves
nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

# A plan is measured only with this many reviews and events in the waits.
MIN_REVIEWS: Final = 30
MIN_EVENTS: Final = 5
# Bounds of the prognostic chance before the complementary log-log.
_P_FLOOR: Final = 1e-4
_NEWTON_STEPS: Final = 60


@dataclass(frozen=True)
class WaitSelection:
    """Per action: log readiness ratio of its planned clients, its standard error, counts.

    `log_ratio` and `standard_error` are NaN for an action whose plans are
    too few to measure; `reviews` and `events` count its planned reviews and
    the work or education spells that began in their waits.
    """

    actions: tuple[str, ...]
    log_ratio: np.ndarray
    standard_error: np.ndarray
    reviews: np.ndarray
    events: np.ndarray
    prior_sd: float

    def shrunk(self) -> np.ndarray:
        """Each log ratio times tau^2 / (tau^2 + se^2); 0 where not measured."""
        tau2 = self.prior_sd**2
        with np.errstate(invalid="ignore", divide="ignore"):
            factor = tau2 / (tau2 + self.standard_error**2)
        out = self.log_ratio * factor
        return np.where(np.isfinite(out), out, 0.0)


def cloglog(p: np.ndarray) -> np.ndarray:
    """log(-log(1 - p)), with p kept inside (0, 1)."""
    q = np.clip(np.asarray(p, dtype=float), _P_FLOOR, 1.0 - _P_FLOOR)
    return np.log(-np.log1p(-q))


def poisson_regression(
    design: np.ndarray, events: np.ndarray, exposure: np.ndarray, *, ridge: float = 1e-6
) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients and their covariance of a Poisson model with log(exposure) offset.

    Newton's method on the log-likelihood; scikit-learn's PoissonRegressor
    fits the same model but gives no covariance, which the shrinkage needs.
    """
    n_columns = design.shape[1]
    beta = np.zeros(n_columns)
    offset = np.log(exposure)
    hessian = np.eye(n_columns)
    for _ in range(_NEWTON_STEPS):
        mu = np.exp(np.clip(design @ beta + offset, -50.0, 50.0))
        gradient = design.T @ (events - mu) - ridge * beta
        hessian = design.T @ (design * mu[:, None]) + ridge * np.eye(n_columns)
        step = np.linalg.solve(hessian, gradient)
        # Halve long steps: a plan with few events starts far from its optimum.
        largest = float(np.max(np.abs(step)))
        if largest > 5.0:
            step *= 5.0 / largest
        beta += step
        if largest < 1e-8:
            break
    return beta, np.linalg.pinv(hessian)


def wait_selection(
    *,
    actions: tuple[str, ...],
    plans: np.ndarray,
    eligible: np.ndarray,
    prognostic: np.ndarray,
    events: np.ndarray,
    exposure_days: np.ndarray,
) -> WaitSelection:
    """The plans' readiness ratios from the events in their waits (module docstring).

    `plans` holds each review's planned action index (into `actions`),
    `eligible` (reviews x actions) which actions the client could be offered
    then, `prognostic` the learner's chance without a new service at the
    review, `events` 1 where work or education began in the wait,
    `exposure_days` the wait's length in days (rows with none are left out).

    Each action is compared with the other plans of the clients eligible for
    it: they are the clients its estimated chance is served to.
    """
    n_actions = len(actions)
    keep = exposure_days > 0
    plans = plans[keep].astype(np.int64)
    eligible = eligible[keep]
    events = events[keep].astype(float)
    exposure = exposure_days[keep].astype(float)
    eta = cloglog(prognostic[keep])
    reviews = np.bincount(plans, minlength=n_actions).astype(float)
    event_counts = np.bincount(plans, weights=events, minlength=n_actions)
    log_ratio = np.full(n_actions, np.nan)
    standard_error = np.full(n_actions, np.nan)
    for a in range(n_actions):
        rows = eligible[:, a]
        planned = plans[rows] == a
        others = ~planned
        if (
            planned.sum() < MIN_REVIEWS
            or events[rows][planned].sum() < MIN_EVENTS
            or others.sum() < MIN_REVIEWS
            or events[rows][others].sum() < MIN_EVENTS
        ):
            continue
        x = eta[rows]
        design = np.column_stack([np.ones(len(x)), x - x.mean(), planned.astype(float)])
        beta, covariance = poisson_regression(design, events[rows], exposure[rows])
        delta, variance = beta[2], covariance[2, 2]
        # Against every eligible client, the plan's own included.
        share = float(planned.mean())
        mix = share * np.exp(delta) + (1.0 - share)
        log_ratio[a] = delta - np.log(mix)
        slope = 1.0 - share * np.exp(delta) / mix
        standard_error[a] = float(np.sqrt(max(variance, 0.0))) * abs(slope)
    measured = np.isfinite(log_ratio)
    values = log_ratio[measured]
    noise = standard_error[measured] ** 2
    # Method-of-moments spread of the true ratios (positive part).
    prior_var = max(float(np.mean(values**2) - np.mean(noise)), 0.0) if measured.any() else 0.0
    return WaitSelection(
        actions,
        log_ratio,
        standard_error,
        reviews,
        event_counts,
        float(np.sqrt(prior_var)),
    )


def chance_adjustment(p: np.ndarray, eligible: np.ndarray, log_ratio: np.ndarray) -> np.ndarray:
    """Per action: the mean of p - (1 - (1 - p) ** exp(-r)) over the rows it is eligible on.

    What `model.router.Router.adjustment` takes off each action's chance:
    the part of the takers' chance that their readiness, not the service,
    accounts for.
    """
    q = np.clip(p, 0.0, 1.0 - 1e-9)
    corrected = 1.0 - (1.0 - q) ** np.exp(-log_ratio)[None, :]
    difference = np.where(eligible, q - corrected, 0.0)
    counts = eligible.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = difference.sum(axis=0) / counts
    return np.where((counts > 0) & (log_ratio != 0.0), mean, 0.0)
