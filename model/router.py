"""The router: everything needed to recommend and explain, in one object.

A `Router` bundles the service catalogue, the run configuration, the feature
encoder, the chosen outcome learner and the propensity model. It scores a
batch of decision points (evaluation, batch planning) or one client (the
API), ranks the eligible candidates, and explains each recommendation.

It saves to a folder of plain files (JSON with the LightGBM models as text)
so that the served model needs no pickles and carries its own catalogue.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.special import expit

from model.catalogue import Catalogue, parse_catalogue
from model.config import RunConfig
from model.encoding import FeatureEncoder
from model.errors import UnknownServiceError
from model.explain import (
    SELECTION_FIELD,
    SERVICE_FIELD,
    Contribution,
    rescale_to_probability,
)
from model.explain import contribution as explained
from model.json_values import json_value
from model.learners.kinds import learner_from_dict
from model.learners.outcome import OutcomeLearner
from model.learners.propensity import PropensityModel
from model.ranking import DEFAULT_MIN_SUPPORT, rank_actions
from model.router_rules import RuleAnswers
from model.vocab import LANGUAGES, NO_NEW_SERVICE

ROUTER_FILE = "router.json"
FORMAT_VERSION = 1
TOP_K_EXPLAIN = 5
# Adjusted chances stay inside (0, 1), as the learners' own do.
ADJUSTED_FLOOR = 1e-4


@dataclass(frozen=True)
class ScoredBatch:
    """Scores of a batch of decision points, each (n, A) unless noted."""

    p: np.ndarray
    low: np.ndarray
    high: np.ndarray
    support: np.ndarray
    eligible: np.ndarray
    ranked: np.ndarray  # action indices in rank order, -1 pads
    actions: tuple[str, ...]

    @property
    def uplift(self) -> np.ndarray:
        ref = self.actions.index(NO_NEW_SERVICE)
        return self.p - self.p[:, [ref]]

    @property
    def recommended(self) -> np.ndarray:
        return self.ranked[:, 0]


@dataclass(frozen=True)
class Scored:
    service: str
    name: str
    rank: int | None
    p_outcome: float
    interval: tuple[float, float]
    uplift: float
    thin_support: bool
    explanation: list[Contribution] = field(default_factory=list)


@dataclass(frozen=True)
class Recommendation:
    recommendations: list[Scored]
    reference: Scored
    not_eligible: list[tuple[str, str]]
    features: dict[str, Any]


class Router:
    def __init__(
        self,
        *,
        catalogue: Catalogue,
        config: RunConfig,
        encoder: FeatureEncoder,
        learner: OutcomeLearner,
        propensity: PropensityModel,
        min_support: float = DEFAULT_MIN_SUPPORT,
        interval_level: float = 0.9,
        metadata: Mapping[str, Any] | None = None,
        adjustment: Sequence[float] | np.ndarray | None = None,
    ) -> None:
        self.catalogue = catalogue
        self.config = config
        self.encoder = encoder
        self.learner = learner
        self.propensity = propensity
        self.min_support = min_support
        self.interval_level = interval_level
        self.metadata = dict(metadata or {})
        self.actions = catalogue.actions
        self.reference_index = self.actions.index(NO_NEW_SERVICE)
        # Per action, what its chance is lowered by for selection the data does
        # not show (probability points; training.pipeline.units). Zero: none.
        self.adjustment_from(adjustment)
        self._names = {
            lang: {a: catalogue.get(a).name[lang] for a in self.actions} for lang in LANGUAGES
        }
        # Expected margin of the reference over the training data, for the
        # explanation of the reference against the average client.
        self._base_margin: float | None = None
        # Explanation fields and their alphabetical ranks (ties in `_top` break by name).
        self._fields = list(encoder.columns_)
        self._fields_with_service = [*self._fields, SERVICE_FIELD]
        self._name_rank = _alphabetical_ranks(self._fields)
        self._name_rank_with_service = _alphabetical_ranks(self._fields_with_service)
        self.rule_answers = RuleAnswers(catalogue, self._names)

    # -- batch ------------------------------------------------------------------
    def eligibility(self, features: pd.DataFrame) -> np.ndarray:
        columns = {name: features[name].to_numpy() for name in features.columns}
        return self.catalogue.eligibility(columns, len(features))

    def score(
        self,
        features: pd.DataFrame,
        *,
        eligible: np.ndarray | None = None,
        intervals: bool | Literal["eligible"] = True,
    ) -> ScoredBatch:
        X = self.encoder.transform(features)
        eligible = self.eligibility(features) if eligible is None else eligible
        return self.score_encoded(X, eligible, intervals=intervals)

    def score_encoded(
        self, X: np.ndarray, eligible: np.ndarray, *, intervals: bool | Literal["eligible"] = True
    ) -> ScoredBatch:
        """Every action's scores, with intervals for every cell, for the eligible cells
        only (NaN elsewhere: cheaper on many points), or for none."""
        p = self.learner.predict(X)
        if intervals:
            cells = eligible if intervals == "eligible" else None
            low, high = self.learner.interval(X, self.interval_level, p=p, cells=cells)
        else:
            low = high = np.full_like(p, np.nan)
        p, low, high = (self.adjusted(values) for values in (p, low, high))
        support = self.propensity.predict_proba(X, eligible)
        ranked = rank_actions(p, eligible, support, min_support=self.min_support)
        return ScoredBatch(p, low, high, support, eligible, ranked, self.actions)

    def adjustment_from(self, adjustment: Sequence[float] | np.ndarray | None) -> None:
        """Set the per-action correction for selection (None: no correction)."""
        values = (
            np.zeros(len(self.actions))
            if adjustment is None
            else np.asarray(adjustment, dtype=float)
        )
        if values.shape != (len(self.actions),):
            raise ValueError(f"adjustment must have one value per action ({len(self.actions)})")
        self.adjustment = values.copy()
        self._adjusted = bool(np.any(self.adjustment != 0.0))

    def adjusted(self, values: np.ndarray) -> np.ndarray:
        """Chances `(n, A)` with the correction for selection taken off (NaN stays NaN)."""
        if not self._adjusted:
            return values
        return np.clip(values - self.adjustment, ADJUSTED_FLOOR, 1.0 - ADJUSTED_FLOOR)

    def _model_p(self, p: np.ndarray) -> np.ndarray:
        """The learner's own chances behind adjusted ones (for rescaling explanations)."""
        return p + self.adjustment if self._adjusted else p

    def _with_selection(
        self, items: list[Contribution], action: int, language: str
    ) -> list[Contribution]:
        """An explanation, with the correction for selection in what it explains.

        A service's explanation explains its chance less the reference's, so
        it carries both corrections; the reference's explains its own chance.
        """
        correction = -float(self.adjustment[action])
        if action != self.reference_index:
            correction += float(self.adjustment[self.reference_index])
        if abs(correction) < 0.0005:
            return items
        return [*items, explained(SELECTION_FIELD, None, correction, language)]

    # -- one client ---------------------------------------------------------------
    def recommend(
        self,
        features: Mapping[str, Any],
        *,
        k: int = 3,
        language: str = "fi",
        explain: bool = True,
    ) -> Recommendation:
        """Rank every eligible candidate for one decision point; return the first k."""
        if language not in LANGUAGES:
            raise ValueError(f"language must be one of {', '.join(LANGUAGES)}")
        eligible, answers = self.rule_answers.answer(features)
        x = self.encoder.encode_row(features)[None, :]
        batch = self.score_encoded(x, eligible)
        order = [a for a in batch.ranked[0] if a >= 0]
        top = order[: max(0, k)]
        names = self._names[language]
        contributions: dict[int, list[Contribution]] = {}
        if explain:
            services = [a for a in top if a != self.reference_index]
            contributions = self._explain(
                x, self._model_p(batch.p[0]), features, services, language
            )

        def scored(a: int, rank: int | None) -> Scored:
            return Scored(
                service=self.actions[a],
                name=names[self.actions[a]],
                rank=rank,
                p_outcome=float(batch.p[0, a]),
                interval=(float(batch.low[0, a]), float(batch.high[0, a])),
                uplift=float(batch.p[0, a] - batch.p[0, self.reference_index]),
                thin_support=bool(batch.support[0, a] < self.min_support),
                explanation=contributions.get(a, []),
            )

        recs = [scored(a, i + 1) for i, a in enumerate(top)]
        ref_rank = order.index(self.reference_index) + 1 if self.reference_index in order else None
        reference = scored(self.reference_index, ref_rank)
        not_eligible = [
            (code, self.rule_answers.reason(j, features, language, answers[j]))
            for j, code in enumerate(self.actions)
            if not eligible[0, j]
        ]
        return Recommendation(recs, reference, not_eligible, dict(features))

    def eligibility_row(self, features: Mapping[str, Any]) -> np.ndarray:
        """(1, n_actions) eligibility of one decision point (`RuleAnswers.eligibility_row`)."""
        return self.rule_answers.answer(features)[0]

    def ineligibility_reason(self, j: int, features: Mapping[str, Any], language: str) -> str:
        """Why action `j` is not offered to this client, in words (`model.reasons`)."""
        return self.rule_answers.reason(j, features, language)

    def _explain(
        self,
        x: np.ndarray,
        p: np.ndarray,
        features: Mapping[str, Any],
        services: list[int],
        language: str,
    ) -> dict[int, list[Contribution]]:
        """Explanations of `services` (against the reference) and of the reference itself.

        One TreeSHAP call covers every row that is needed: each service's row
        and the reference row, which is the same for every service and also
        explains the reference against the average client. `p` is the row's
        (A,) probabilities, already predicted.
        """
        n = len(services)
        acts = np.asarray([*services, self.reference_index])
        c = self.learner.contributions(np.repeat(x, n + 1, axis=0), acts)
        c_ref = c[n:]
        m = len(self.encoder.columns_)
        out: dict[int, list[Contribution]] = {}
        if n:
            diff = c[:n] - c_ref
            # Features, plus the action's own share (its column and any bias gap).
            own = diff[:, m] + diff[:, m + 1]
            contrib = np.concatenate([diff[:, :m], own[:, None]], axis=1)
            target = p[acts[:n]]
            base = np.full(n, p[self.reference_index])
            scaled = rescale_to_probability(contrib, target, base, self.learner.scale)
            fields = self._fields_with_service
            for i, a in enumerate(services):
                out[a] = self._with_selection(
                    self._top(fields, scaled[i], features, language), a, language
                )
        ref_base = self._baseline_of(c_ref)
        scaled_ref = rescale_to_probability(
            c_ref[:, :m],
            np.array([p[self.reference_index]]),
            np.array([ref_base]),
            self.learner.scale,
        )
        out[self.reference_index] = self._with_selection(
            self._top(self._fields, scaled_ref[0], features, language),
            self.reference_index,
            language,
        )
        return out

    def explain_many(
        self,
        X: np.ndarray,
        p: np.ndarray,
        ranked: np.ndarray,
        *,
        k: int,
        values: Mapping[str, Sequence[Any]],
        language: str = "fi",
    ) -> list[dict[int, list[Contribution]]]:
        """`recommend`'s explanations for many decision points at once, vectorised.

        For row i: its first `k` ranked services (against the reference) and
        the reference, exactly as `recommend(..., k=k)` explains them, with one
        TreeSHAP call for every row that is needed. `X` (n, m) encoded, `p`
        (n, A) and `ranked` (n, A) from `score_encoded`; `values` holds each
        feature's values (a sequence per feature, n long) for the texts.
        """
        if language not in LANGUAGES:
            raise ValueError(f"language must be one of {', '.join(LANGUAGES)}")
        n = len(X)
        ref = self.reference_index
        m = len(self.encoder.columns_)
        top = ranked[:, : max(0, k)]
        ci, cj = np.nonzero((top >= 0) & (top != ref))  # row-major: by row, then rank
        acts_s = top[ci, cj]
        ns = len(ci)
        c = self.learner.contributions(
            np.concatenate([X[ci], X]), np.concatenate([acts_s, np.full(n, ref)])
        )
        c_s, c_ref = c[:ns], c[ns:]
        diff = c_s - c_ref[ci]
        own = diff[:, m] + diff[:, m + 1]
        contrib = np.concatenate([diff[:, :m], own[:, None]], axis=1)
        p = self._model_p(p)
        scaled = rescale_to_probability(contrib, p[ci, acts_s], p[ci, ref], self.learner.scale)
        if self.learner.scale == "logit":
            ref_base = expit(c_ref[:, m + 1] + c_ref[:, m])
        else:
            ref_base = c_ref[:, m + 1]
        scaled_ref = rescale_to_probability(c_ref[:, :m], p[:, ref], ref_base, self.learner.scale)
        out: list[dict[int, list[Contribution]]] = [{} for _ in range(n)]
        columns = {name: values[name] for name in self._fields if name in values}
        for i, a, row in zip(ci.tolist(), acts_s.tolist(), scaled, strict=True):
            out[i][a] = self._with_selection(
                self._top_of(
                    self._fields_with_service,
                    self._name_rank_with_service,
                    row,
                    columns,
                    i,
                    language,
                ),
                a,
                language,
            )
        for i in range(n):
            out[i][ref] = self._with_selection(
                self._top_of(self._fields, self._name_rank, scaled_ref[i], columns, i, language),
                ref,
                language,
            )
        return out

    def _top_of(
        self,
        fields: list[str],
        name_rank: np.ndarray,
        values: np.ndarray,
        columns: Mapping[str, Sequence[Any]],
        i: int,
        language: str,
    ) -> list[Contribution]:
        order = np.lexsort((name_rank, -np.abs(values)))[:TOP_K_EXPLAIN]
        service_names = self._names[language]
        out = []
        for j in order.tolist():
            name = fields[j]
            column = columns.get(name) if name != SERVICE_FIELD else None
            value = json_value(column[i]) if column is not None else None
            contribution = float(values[j])
            out.append(explained(name, value, contribution, language, service_names))
        return out

    def reference_baseline(self, x: np.ndarray) -> float:
        """The average client's probability under the reference (what its explanation is against)."""
        return self._reference_contributions(x)[1]

    def _reference_contributions(self, x: np.ndarray) -> tuple[np.ndarray, float]:
        """TreeSHAP of the reference row and the baseline its feature contributions are against."""
        contrib = self.learner.contributions(x, np.array([self.reference_index]))
        return contrib, self._baseline_of(contrib)

    def _baseline_of(self, contrib: np.ndarray) -> float:
        """The baseline of a reference row's TreeSHAP (1, m + 2).

        On the logit scale the baseline holds the expected margin plus the
        reference action's own share; on the probability scale, the expected value.
        """
        m = len(self.encoder.columns_)
        if self.learner.scale == "logit":
            return float(expit(contrib[0, m + 1] + contrib[0, m]))
        return float(contrib[0, m + 1])

    def _top(
        self, fields: list[str], values: np.ndarray, features: Mapping[str, Any], language: str
    ) -> list[Contribution]:
        # Largest by size first, ties by field name (np.lexsort: last key first).
        name_rank = (
            self._name_rank_with_service if len(fields) > len(self._fields) else self._name_rank
        )
        order = np.lexsort((name_rank, -np.abs(values)))[:TOP_K_EXPLAIN]
        service_names = self._names[language]
        out = []
        for j in order.tolist():
            name = fields[j]
            value = features.get(name) if name != SERVICE_FIELD else None
            value = json_value(value)
            contribution = float(values[j])
            out.append(explained(name, value, contribution, language, service_names))
        return out

    # -- persistence ---------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "catalogue": self.catalogue.text,
            "catalogue_source": self.catalogue.source,
            "config": json.loads(self.config.model_dump_json()),
            "encoder": self.encoder.to_dict(),
            "learner": self.learner.to_dict(),
            "propensity": self.propensity.to_dict(),
            "min_support": self.min_support,
            "interval_level": self.interval_level,
            "adjustment": self.adjustment.tolist(),
            "metadata": self.metadata,
        }

    def save(self, folder: str | Path) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / ROUTER_FILE
        path.write_text(json.dumps(self.to_dict()), encoding="utf-8")
        return path

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Router:
        if data.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"unsupported router format {data.get('format_version')!r}")
        config = RunConfig.model_validate(data["config"])
        catalogue = parse_catalogue(
            data["catalogue"],
            source=data.get("catalogue_source", "catalogue"),
            extras=config.extra_features,
        )
        return cls(
            catalogue=catalogue,
            config=config,
            encoder=FeatureEncoder.from_dict(data["encoder"]),
            learner=learner_from_dict(data["learner"]),
            propensity=PropensityModel.from_dict(data["propensity"]),
            min_support=float(data["min_support"]),
            interval_level=float(data["interval_level"]),
            metadata=data.get("metadata", {}),
            adjustment=data.get("adjustment"),
        )

    @classmethod
    def load(cls, folder: str | Path) -> Router:
        path = Path(folder)
        if path.is_dir():
            path = path / ROUTER_FILE
        return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))

    def action_index(self, code: str) -> int:
        try:
            return self.actions.index(code)
        except ValueError:
            raise UnknownServiceError(f"unknown service {code!r}") from None


def _alphabetical_ranks(names: list[str]) -> np.ndarray:
    ranks = np.empty(len(names), dtype=np.int64)
    ranks[sorted(range(len(names)), key=names.__getitem__)] = np.arange(len(names))
    return ranks
