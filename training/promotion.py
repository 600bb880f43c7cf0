"""Promoting a version only when it is not worse than the one it replaces (`polku promote`).

Before an alias (by default `champion`, the one the API serves) moves to a
new version, both are compared on the same decision points
(`training.version_comparison`): by default those of the data folder the
new version was trained on, where only its held-out clients count. A
candidate whose paired interval of the doubly-robust policy value lies
wholly below the current holder's is refused unless forced. What was
decided is written as tags on the candidate version, one key per kind of
decision so that a refusal stays visible after a later override:

- `polku.promotion.refused`, `polku.promotion.forced`,
  `polku.promotion.promoted`: when, which alias, which version it was
  compared with and the difference with its interval;
- `polku.promotion.dr_difference`, `..._low`, `..._high` and
  `polku.promotion.compared_with`: the last comparison's figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from model.errors import PolkuError
from training.registry.served import load_served, training_data_dir
from training.registry.store import CHAMPION, DEFAULT_MODEL_NAME
from training.registry.versions import (
    RegisteredVersion,
    alias_holder,
    promote,
    tag_version,
)
from training.version_comparison import Version, VersionComparison, compare_versions

TAG_PREFIX = "polku.promotion"

Decision = Literal["promoted", "forced", "refused"]


class PromotionRefused(PolkuError, RuntimeError):
    """The alias was not moved: the candidate is worse, or could not be compared."""


@dataclass(frozen=True)
class Promotion:
    """What `guarded_promotion` did: the decision, the comparison behind it (if any),
    and the version that now holds the alias (None when refused)."""

    decision: Decision
    alias: str
    candidate: str
    current: str | None
    comparison: VersionComparison | None
    promoted: RegisteredVersion | None
    reason: str


def guarded_promotion(
    version: str,
    *,
    alias: str = CHAMPION,
    name: str = DEFAULT_MODEL_NAME,
    data: Path | None = None,
    truth_path: Path | None = None,
    force: bool = False,
    n_boot: int = 200,
) -> Promotion:
    """Compare `version` with the current holder of `alias`, then move the alias unless the
    candidate is worse by the paired interval (or `force`). A refusal is returned, not raised,
    once its tags are written; a comparison that cannot be made raises `PromotionRefused`
    unless `force`."""
    current = alias_holder(alias, name=name)
    if current is None or current == str(version):
        reason = (
            f"no version held {alias!r}"
            if current is None
            else f"version {current} already holds {alias!r}"
        )
        return _promote(str(version), alias, name, current, None, "promoted", reason)
    candidate = load_served(name, alias=None, version=version)

    folder = data if data is not None else training_data_dir(candidate.run_id)
    if folder is None or not folder.is_dir():
        where = "" if folder is None else f" ({folder} is gone)"
        if not force:
            raise PromotionRefused(
                f"cannot compare version {candidate.version} with {alias} version {current}: "
                f"no data folder to score them on{where}; give --data DIR, or --force to "
                "promote without comparing"
            )
        reason = f"forced without a comparison: no data folder{where}"
        return _promote(candidate.version, alias, name, current, None, "forced", reason)

    holder = load_served(name, alias=None, version=current)
    comparison = compare_versions(
        Version(holder.version, holder.router),
        Version(candidate.version, candidate.router),
        folder,
        truth_path=truth_path,
        n_boot=n_boot,
        coverage=False,  # the interval coverage of the truth decides nothing
    )
    if not comparison.second_is_worse:
        reason = f"not worse than version {current} by the paired interval"
        return _promote(candidate.version, alias, name, current, comparison, "promoted", reason)
    if force:
        reason = f"worse than version {current} by the paired interval; promoted with --force"
        return _promote(candidate.version, alias, name, current, comparison, "forced", reason)
    reason = (
        f"worse than {alias} version {current} by the paired interval of the doubly-robust "
        "policy value; use --force to promote it anyway"
    )
    tag_version(candidate.version, _tags("refused", alias, current, comparison), name=name)
    return Promotion("refused", alias, candidate.version, current, comparison, None, reason)


def _promote(
    version: str,
    alias: str,
    name: str,
    current: str | None,
    comparison: VersionComparison | None,
    decision: Decision,
    reason: str,
) -> Promotion:
    promoted = promote(version, alias=alias, name=name)
    tag_version(version, _tags(decision, alias, current, comparison), name=name)
    return Promotion(decision, alias, version, current, comparison, promoted, reason)


def _tags(
    decision: Decision, alias: str, current: str | None, comparison: VersionComparison | None
) -> dict[str, str]:
    when = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    summary = f"{when} {alias}"
    tags: dict[str, str] = {}
    if current is not None:
        summary += f", compared with version {current}"
        tags[f"{TAG_PREFIX}.compared_with"] = current
    if comparison is not None:
        dr = comparison.dr_difference
        summary += (
            f": doubly-robust difference (one referee) {dr.value:+.4f} "
            f"(95 % paired interval {dr.low:+.4f} to {dr.high:+.4f})"
        )
        tags |= {
            f"{TAG_PREFIX}.dr_difference": f"{dr.value:.6f}",
            f"{TAG_PREFIX}.dr_difference_low": f"{dr.low:.6f}",
            f"{TAG_PREFIX}.dr_difference_high": f"{dr.high:.6f}",
        }
    elif current is not None:
        summary += ": not compared"
    tags[f"{TAG_PREFIX}.{decision}"] = summary
    return tags
