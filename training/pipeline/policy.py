"""The run's policy summary: a shallow tree of rules imitating the chosen router.

Fitted on the validation clients' decision points (the tree imitates the
router's recommendations, so it needs no outcomes there) and valued on the
held-out clients, doubly robust as the full policy is
(`model.services.policy_tree`); with the simulator's truth, its true value
too. Logged with the run and shown in the model card and the service report.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np

from model.services.policy_tree import PolicyTree, imitation_weights, policy_summary
from model.vocab import LANGUAGES
from training.pipeline.result import TrainingResult
from training.router_figures import action_indices, evaluable_rows

# Depth of the tree: at most 8 rules, each of at most 3 conditions.
POLICY_TREE_DEPTH: Final = 3


def summarise_policy(
    result: TrainingResult, truth: np.ndarray | None, *, depth: int = POLICY_TREE_DEPTH
) -> dict[str, Any] | None:
    """The policy summary of a run, or None when the validation or held-out clients have no
    decision point to fit or value the tree on."""
    dp, router = result.dp, result.router
    frame = dp.frame
    taken_all = action_indices(frame, dp.actions)

    def scored(mask: np.ndarray) -> tuple[np.ndarray, Any, np.ndarray, Any]:
        rows = evaluable_rows(dp, mask)
        eligible = dp.eligibility()[rows]
        taken = taken_all[rows]
        eligible[np.arange(len(taken)), taken] = True
        batch = router.score(frame.loc[rows], eligible=eligible, intervals=False)
        return rows, frame.loc[rows], eligible, batch

    fit_rows, fit_frame, fit_eligible, fit_batch = scored(result.split.validation)
    test_rows, test_frame, test_eligible, test_batch = scored(result.split.test)
    if not fit_rows.any() or not test_rows.any():
        return None
    tree = PolicyTree(max_depth=depth, min_leaf=router.config.min_cell_size, seed=result.seed).fit(
        fit_frame,
        fit_batch.recommended,
        imitation_weights(fit_batch.p, fit_eligible, fit_batch.recommended),
        router.actions,
    )
    names = {
        a: {lang: router.catalogue.get(a).name[lang] for lang in LANGUAGES} for a in router.actions
    }
    summary = policy_summary(
        tree,
        test_frame,
        eligible=test_eligible,
        y=test_frame["label"].to_numpy(dtype=float),
        taken=taken_all[test_rows],
        mu=test_batch.p,
        propensity=test_batch.support,
        recommended=test_batch.recommended,
        service_names=names,
        truth=None if truth is None else np.asarray(truth, dtype=float)[test_rows],
    )
    summary["fitted_on"] = "validation clients"
    summary["valued_on"] = "held-out clients"
    return summary
