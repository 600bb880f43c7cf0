"""Global explanation plots of the served learner, drawn by the `shap` library.

The values are the learner's own exact TreeSHAP contributions
(`OutcomeLearner.contributions`) for the action the router recommends, on a
sample of decision points: the beeswarm shows how each feature moves the
recommended service's chance across clients, the bar plot the mean absolute
contribution per feature (global feature importance). They are in the
learner's additive scale: logit for the S-learner, probability points for the
DR-learner. `shap` draws with pyplot; the figures are closed once written.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from model.router import Router

SHAP_SAMPLE: Final = 400
BEESWARM_FILE: Final = "shap_beeswarm.png"
IMPORTANCE_FILE: Final = "shap_importance.png"
MAX_FEATURES: Final = 15


def recommended_contributions(
    router: Router, features: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row: the encoded features, their contributions to the recommended action, and
    the rest of the row's margin (the action's own share and the bias)."""
    X = router.encoder.transform(features)
    scored = router.score_encoded(X, router.eligibility(features), intervals=False)
    actions = np.where(scored.recommended >= 0, scored.recommended, router.reference_index)
    contributions = router.learner.contributions(X, actions)
    m = X.shape[1]
    return X, contributions[:, :m], contributions[:, m:].sum(axis=1)


def write_shap_plots(
    router: Router,
    features: pd.DataFrame,
    folder: Path,
    *,
    sample: int = SHAP_SAMPLE,
    seed: int = 0,
) -> list[Path]:
    """The beeswarm and the feature-importance bar plot of `features` (a sample of
    at most `sample` rows), as PNG files in `folder`."""
    import matplotlib

    matplotlib.use("Agg")  # files only; no display
    import matplotlib.pyplot as plt
    import shap

    if len(features) > sample:
        features = features.sample(n=sample, random_state=seed)
    X, values, rest = recommended_contributions(router, features.reset_index(drop=True))
    scale = "logit" if router.learner.scale == "logit" else "probability points"
    explanation = shap.Explanation(
        values=values,
        base_values=rest,
        data=X,
        feature_names=list(router.encoder.columns_),
    )
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for kind, file in (("beeswarm", BEESWARM_FILE), ("bar", IMPORTANCE_FILE)):
        draw = shap.plots.beeswarm if kind == "beeswarm" else shap.plots.bar
        with warnings.catch_warnings():
            # A feature missing in every sampled row (NaN) has no colour scale;
            # shap draws it grey and warns.
            warnings.simplefilter("ignore", RuntimeWarning)
            draw(explanation, max_display=MAX_FEATURES, show=False)
        figure = plt.gcf()
        figure.suptitle(
            f"{router.metadata.get('learner', 'model')}: SHAP ({scale}) of the recommended "
            f"service, {len(X)} decision points",
            fontsize=9,
        )
        figure.tight_layout()
        figure.savefig(folder / file, format="png", dpi=110)
        plt.close(figure)
        paths.append(folder / file)
    return paths
