"""Global explanation plots of the served learner, drawn by the `shap` library.

The values are the learner's own exact TreeSHAP contributions
(`OutcomeLearner.contributions`) for the action the router recommends, on a
sample of decision points: the beeswarm shows how each feature moves the
recommended service's chance across clients, the bar plot the mean absolute
contribution per feature (global feature importance). They are in the
learner's additive scale: logit for the S-learner, probability points for the
DR-learner. `shap` draws with pyplot; the figures are closed once written.
The words shap draws in English (the value axis, the colour bar, the row
that sums the features not shown) are replaced by those of
`training.plot_labels` in the language asked for, and the PNG's Description
holds every word drawn (`training.plots.figure_words`).
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from model.router import Router
from training.plot_labels import plot_label

SHAP_SAMPLE: Final = 400
BEESWARM_FILE: Final = "shap_beeswarm.png"
IMPORTANCE_FILE: Final = "shap_importance.png"
MAX_FEATURES: Final = 15
OTHER_FEATURES: Final = re.compile(r"Sum of (\d+) other features")


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
    language: str = "en",
) -> list[Path]:
    """The beeswarm and the feature-importance bar plot of `features` (a sample of
    at most `sample` rows), as PNG files in `folder`, labelled in `language`."""
    import matplotlib

    matplotlib.use("Agg")  # files only; no display
    import matplotlib.pyplot as plt
    import shap

    from training.plots import figure_words

    if len(features) > sample:
        features = features.sample(n=sample, random_state=seed)
    X, values, rest = recommended_contributions(router, features.reset_index(drop=True))
    scale = plot_label(
        "scale_logit" if router.learner.scale == "logit" else "scale_points", language
    )
    explanation = shap.Explanation(
        values=values,
        base_values=rest,
        data=X,
        feature_names=list(router.encoder.columns_),
    )
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for kind, file in (("beeswarm", BEESWARM_FILE), ("bar", IMPORTANCE_FILE)):
        with warnings.catch_warnings():
            # A feature missing in every sampled row (NaN) has no colour scale;
            # shap draws it grey and warns.
            warnings.simplefilter("ignore", RuntimeWarning)
            if kind == "beeswarm":
                shap.plots.beeswarm(
                    explanation,
                    max_display=MAX_FEATURES,
                    show=False,
                    color_bar_label=plot_label("feature_value", language),
                )
            else:
                shap.plots.bar(explanation, max_display=MAX_FEATURES, show=False)
        figure = plt.gcf()
        _relabel(figure, kind, language)
        figure.suptitle(
            plot_label(
                "shap_title",
                language,
                learner=router.metadata.get("learner", plot_label("model", language)),
                scale=scale,
                n=len(X),
            ),
            fontsize=9,
        )
        figure.tight_layout()
        figure.draw_without_rendering()
        figure.savefig(
            folder / file, format="png", dpi=110, metadata={"Description": figure_words(figure)}
        )
        plt.close(figure)
        paths.append(folder / file)
    return paths


def _relabel(figure: Any, kind: str, language: str) -> None:
    """shap's English words on `figure` in `language`: the value axis, the row summing
    the features not shown and, on the beeswarm, the colour bar's ends."""
    main = figure.axes[0]
    main.set_xlabel(
        plot_label("shap_value" if kind == "beeswarm" else "shap_mean", language), fontsize=13
    )
    rows = [tick.get_text() for tick in main.get_yticklabels()]
    renamed = [
        plot_label("other_features", language, n=found.group(1))
        if (found := OTHER_FEATURES.fullmatch(row))
        else row
        for row in rows
    ]
    if renamed != rows:
        main.set_yticks(main.get_yticks(), renamed)
    if kind == "beeswarm" and len(figure.axes) > 1:
        colour_bar = figure.axes[-1]
        colour_bar.set_yticks([0, 1], [plot_label("low", language), plot_label("high", language)])
