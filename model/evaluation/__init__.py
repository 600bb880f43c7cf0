"""Figures that say whether a recommender works (docs/evaluation.md).

Pure computation (numpy, pandas, scikit-learn's metrics): no tracking, no
web, no database. The training pipeline computes these on held-out clients
and logs them; the fairness report reuses :func:`bootstrap_mean_interval`
and the per-row terms of the off-policy estimators on masked subsets. One
module per concept:

- :mod:`.policy_value`: the values of historical practice, of following
  rank 1 and of the oracle on known truth; the direct-method, IPW and
  doubly-robust estimates of the value without truth;
- :mod:`.effects`: the doubly-robust average effect of one action against a
  reference;
- :mod:`.bootstrap`: a mean with a cluster-bootstrap percentile interval;
- :mod:`.sensitivity`: bounds on the off-policy value under the marginal
  sensitivity model and the break-even Lambda;
- :mod:`.calibration`: ROC AUC, Brier score, calibration table, expected
  calibration error and interval coverage;
- :mod:`.agreement`: agreement of the ranking with caseworkers;
- :mod:`.figures`: the names of the figures, in the order reports show them;
- :mod:`.inputs`: the argument checks they share.

Conventions shared by every function here:

- an *action* is an integer index ``0..A-1`` into the catalogue's action
  list (which action means "no new service" is the caller's business);
- ``truth``, ``mu``, ``propensity`` and ``eligible`` are ``(n, A)`` arrays,
  one row per decision point; ``taken`` and ``recommended`` are ``(n,)``
  integer arrays of actions;
- ``clusters`` are client ids (any hashable values): a client can have
  several decision points, which are not independent, so intervals resample
  whole clients (the cluster bootstrap; Field & Welsh 2007, "Bootstrapping
  clustered data", JRSS-B 69(3));
- empty inputs give NaN figures rather than exceptions or warnings, and so
  do figures that are undefined for the data (an AUC with one class, a
  capture ratio with no room to improve). Malformed inputs (wrong shapes,
  actions out of range, missing values where a value is needed) raise
  ``ValueError`` with a message that says what is wrong.
"""

from model.evaluation.agreement import agreement_at_k
from model.evaluation.bootstrap import MeanInterval, bootstrap_mean_interval
from model.evaluation.calibration import (
    brier_score,
    calibration_table,
    expected_calibration_error,
    interval_coverage,
    roc_auc,
)
from model.evaluation.effects import AverageEffect, average_effect, effect_terms
from model.evaluation.figures import EVALUATION_FIGURES
from model.evaluation.policy_value import (
    DRValue,
    PolicyValues,
    direct_method_terms,
    dr_policy_value,
    dr_terms,
    ipw_policy_value,
    ipw_terms,
    policy_values,
)
from model.evaluation.sensitivity import (
    SENSITIVITY_LAMBDAS,
    SensitivityAnalysis,
    SensitivityBound,
    msm_weight_bounds,
    policy_value_sensitivity,
)

__all__ = [
    "EVALUATION_FIGURES",
    "SENSITIVITY_LAMBDAS",
    "AverageEffect",
    "DRValue",
    "MeanInterval",
    "PolicyValues",
    "SensitivityAnalysis",
    "SensitivityBound",
    "agreement_at_k",
    "average_effect",
    "bootstrap_mean_interval",
    "brier_score",
    "calibration_table",
    "direct_method_terms",
    "dr_policy_value",
    "dr_terms",
    "effect_terms",
    "expected_calibration_error",
    "interval_coverage",
    "ipw_policy_value",
    "ipw_terms",
    "msm_weight_bounds",
    "policy_value_sensitivity",
    "policy_values",
    "roc_auc",
]
