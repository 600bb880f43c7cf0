"""The training pipeline behind `polku train`, as plain functions.

    load_inputs -> build_points -> training_rows -> split_by_intake -> fit_models
                -> choose_learner (validation clients) -> evaluate (held-out clients)
                -> router, plots, model card

`train` (in `training.pipeline.train`) runs them in order and returns a
`TrainingResult`; the command line and `training.registry` (the only package
that talks to MLflow) take it from there. Seeds are parameters, nothing is global, and the held-out clients are
never used for any choice: the learner is chosen, and its intervals
calibrated, on the validation clients.

Which rows train what
---------------------
- The propensity model (what caseworkers did) learns from every training
  decision point with a known action of the catalogue, censored ones too.
- The outcome learners learn from those whose outcome window is complete.
  When the case system records plans (at least `MIN_PLANNED_SHARE` of the
  review rows have a `planned_service`), reviews read as `no_new_service`
  only because nothing started (`action_source == "inferred"`) are left out
  of the outcome learners' rows: the reviews whose 30 days an outcome cut
  short are unknown, so only successes are missing from the inferred ones and
  their observed success rate is biased down. Recorded plans give unbiased
  `no_new_service` rows.

The split
---------
The newest clients by intake date are held out, never a random row split:
the intake-date cutoff is chosen so that about `holdout_fraction` of the
labelled decision points (known action, complete outcome window) belong to
held-out clients, and every decision point of a held-out client is a test
row. The validation clients are cut the same way from the remaining ones
(`validation_fraction` of the remaining labelled points); the rest train.

Modules, in the order a run uses them: `inputs` (tables, catalogue,
configuration, truth, fingerprint), `rows` (which points train which model),
`split` (clients by intake date), `fit` (encoder, propensity model,
learners), `choose` (learner, rounds and interval width on validation),
`result` (`TrainingResult`), `train` (the whole run and its reports).
"""

from training.pipeline.result import TrainingResult
from training.pipeline.train import train

__all__ = ["TrainingResult", "train"]
