"""The learners: a propensity model of the historical policy and outcome learners.

- `propensity`: `PropensityModel`, the historical caseworkers' policy;
- `outcome`: `OutcomeLearner`, the interface every outcome learner answers,
  and `TrainingData`, what it learns from;
- `s_learner`, `dr_learner`: the two outcome learners;
- `calibration`: recalibrating a learner's margin and choosing its interval width;
- `kinds`: the learners by name, and rebuilding a stored one;
- `boosting`: the LightGBM settings and helpers they share;
- `hyperparameters`: a learner's effective hyperparameters, defaults included.

They follow scikit-learn's estimator conventions: `__init__` stores
arguments, `fit` returns `self`, fitted state ends in `_`, and using a learner
before `fit` raises `NotFittedError`.
"""

from model.learners.calibration import fit_affine_calibration
from model.learners.dr_learner import DRLearner
from model.learners.kinds import LEARNERS, learner_from_dict
from model.learners.outcome import OutcomeLearner, TrainingData
from model.learners.propensity import PropensityModel
from model.learners.s_learner import SLearner

__all__ = [
    "LEARNERS",
    "DRLearner",
    "OutcomeLearner",
    "PropensityModel",
    "SLearner",
    "TrainingData",
    "fit_affine_calibration",
    "learner_from_dict",
]
