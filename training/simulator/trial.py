"""Randomized-trial data in Polku's data contract, with the true effects known.

Polku is judged on data it has never seen, including real randomized trials
converted into its three tables by an evaluator. Such data looks nothing like
the built-in world: hundreds to a few thousand clients, a custom catalogue
with one or two services besides `no_new_service`, an extra client column,
one review per client and random assignment. `make_trial` draws that kind of
data, with each client's true chance of the label under every action, so
the tests and the trial benchmark can check what the pipeline does with it.

Each client:

- a profile (the contract's columns, plus the extra numeric column
  `motivation` declared in the run configuration);
- one `review` episode, the randomization, 7..21 days after intake;
- with probability k / (k + 1) (k services, equal arms) one of the services,
  starting 1..7 days after the review and completed 40..120 days later;
  otherwise nothing, so the review is a `no_new_service` decision (see the
  decision points in docs/world.md);
- an `unemployed` spell from intake until the first `employed` or
  `education` spell, whose start is drawn from a constant hazard counted from
  the decision date (the service start, or the review for the control arm):

      hazard per year = exp(base(x) + effect_a(x)),   effect_no_new_service = 0
      P(label | x, a) = 1 - exp(-hazard), the horizon being one year

  `effect_a(x)` is the service's log hazard ratio, plus `slope * motivation`
  when `heterogeneous` (so the better action differs between clients).

The truth table (`client_id`, `decision_date`, one column per action) is
keyed on each client's decision date and holds P(label | x, a) for every
action, like the simulator's `truth.csv` (`training.simulator.truth`), which
is what `training.truth.align_truth` reads.

The control arm's review is a `no_new_service` decision only when no outcome
cuts its 30-day window short; a control client who finds work within 30 days
of the review has an unknown action (the reverse-causation trap, see
docs/world.md) unless the review records its plan (`planned=True` writes
`planned_service` on every review). Both are what an evaluator's conversion
could produce.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from model.vocab import NO_NEW_SERVICE, REVIEW
from training.tables import Tables, write_tables

FIRST_INTAKE = pd.Timestamp("2021-01-04")
INTAKE_DAYS = 730  # intakes over two years
# The extract is a year and a quarter after the last decision, so every
# outcome window (365 days from a decision at most 28 days after intake) is
# complete.
EXTRACT_DATE = FIRST_INTAKE + pd.Timedelta(days=INTAKE_DAYS + 28 + 365 + 90)
HORIZON_DAYS = 365

SERVICE_TEXT = {
    "job_coaching": ("Työnhakuvalmennus", "Jobbsökarträning", "Job-search coaching"),
    "language_course": ("Kielikurssi", "Språkkurs", "Language course"),
    "work_trial": ("Työkokeilu", "Arbetsprövning", "Work trial"),
}
EXTRA = "motivation"


@dataclass(frozen=True)
class Trial:
    """A drawn trial: the three tables, its catalogue and run configuration (TOML
    text), and the truth."""

    clients: pd.DataFrame
    episodes: pd.DataFrame
    outcomes: pd.DataFrame
    catalogue: str
    config: str
    truth: pd.DataFrame

    @property
    def actions(self) -> tuple[str, ...]:
        return tuple(
            column for column in self.truth.columns if column not in ("client_id", "decision_date")
        )

    def write(self, folder: str | Path) -> dict[str, Path]:
        """Write the tables, truth.csv, catalogue.toml and config.toml to `folder`."""
        out = Path(folder)
        paths = write_tables(Tables(self.clients, self.episodes, self.outcomes), out)
        truth = self.truth.copy()
        truth["decision_date"] = truth["decision_date"].dt.strftime("%Y-%m-%d")
        truth.to_csv(out / "truth.csv", index=False, float_format="%.6f")
        (out / "catalogue.toml").write_text(self.catalogue, "utf-8")
        (out / "config.toml").write_text(self.config, "utf-8")
        return {
            **paths,
            "truth": out / "truth.csv",
            "catalogue": out / "catalogue.toml",
            "config": out / "config.toml",
        }


def catalogue_text(services: Sequence[str]) -> str:
    parts = ["version = 1", ""]
    for code in services:
        fi, sv, en = SERVICE_TEXT.get(code, (code, code, code))
        parts += [
            "[[service]]",
            f'code = "{code}"',
            f'name.fi = "{fi}"',
            f'name.sv = "{sv}"',
            f'name.en = "{en}"',
            f'description.fi = "{fi} (koe)."',
            f'description.sv = "{sv} (försök)."',
            f'description.en = "{en} (trial arm)."',
            "typical_duration_days = 80",
            "",
        ]
    return "\n".join(parts)


def config_text(*, extract_date: bool = True, extra: str = "") -> str:
    lines = [f'[extra_features]\n{EXTRA} = "numeric"']
    if extract_date:
        lines.insert(0, f"extract_date = {EXTRACT_DATE:%Y-%m-%d}")
    if extra:
        lines.insert(0, extra)
    return "\n".join(lines) + "\n"


def make_trial(
    n_clients: int,
    seed: int,
    services: Sequence[str] = ("job_coaching",),
    effect: float | Sequence[float] = 0.8,
    heterogeneous: bool = False,
    *,
    slope: float | Sequence[float] = 0.8,
    planned: bool = False,
    config_extra: str = "",
) -> Trial:
    """Draw a randomized trial; see the module docstring.

    `effect` is each service's log hazard ratio against `no_new_service`
    (one number for all services, or one per service); with `heterogeneous`
    it is `effect + slope * motivation` (motivation ~ N(0, 1)).
    """
    services = tuple(services)
    n_arms = len(services)
    effects = np.broadcast_to(np.asarray(effect, dtype=float), (n_arms,))
    slopes = np.broadcast_to(np.asarray(slope, dtype=float), (n_arms,)) * float(heterogeneous)
    rng = np.random.default_rng([seed, 20_24])

    clients, profile = _clients(n_clients, seed, rng)
    # The log hazard (per year) under no_new_service (column 0) and each service.
    log_hazard = np.empty((n_clients, n_arms + 1))
    log_hazard[:, 0] = _base_log_hazard(profile)
    for j in range(n_arms):
        log_hazard[:, j + 1] = log_hazard[:, 0] + effects[j] + slopes[j] * profile.motivation
    p_action = 1.0 - np.exp(-np.exp(log_hazard))  # P(label within a year | x, a)

    codes = np.asarray((NO_NEW_SERVICE, *services), dtype=object)
    ids = clients["client_id"].to_numpy()
    intake = pd.DatetimeIndex(clients["intake_date"])
    episodes, arm, decision = _randomised_episodes(ids, intake, codes, planned, rng)
    outcomes = _outcomes(ids, intake, decision, log_hazard[np.arange(n_clients), arm], rng)
    truth = pd.DataFrame({"client_id": ids, "decision_date": decision})
    for j, code in enumerate(codes):
        truth[code] = p_action[:, j]
    return Trial(
        clients=_dates(clients, ("intake_date", "arrival_date")),
        episodes=_dates(episodes, ("start_date", "end_date")),
        outcomes=_dates(outcomes, ("start_date", "end_date")),
        catalogue=catalogue_text(services),
        config=config_text(extra=config_extra),
        truth=truth,
    )


@dataclass(frozen=True)
class _Profile:
    """What the baseline hazard reads from a client's profile (ranks, not labels)."""

    age: np.ndarray
    education_rank: np.ndarray  # into EDUCATION_LEVELS
    finnish_rank: np.ndarray  # into FINNISH_LEVELS
    literacy: np.ndarray
    health: np.ndarray
    prior_work: np.ndarray  # years, NaN unknown
    motivation: np.ndarray


EDUCATION_LEVELS = (
    "none",
    "primary",
    "secondary",
    "vocational",
    "bachelor",
    "master_or_higher",
    "unknown",
)
FINNISH_LEVELS = ("A0", "A1", "A2", "B1", "B2", "unknown")


def _clients(n: int, seed: int, rng: np.random.Generator) -> tuple[pd.DataFrame, _Profile]:
    """The clients table, and the profile the hazard reads."""
    intake = FIRST_INTAKE + pd.to_timedelta(np.sort(rng.integers(0, INTAKE_DAYS, n)), unit="D")
    years_in = rng.exponential(1.5, n)
    arrival = intake - pd.to_timedelta(np.round(years_in * 365.25).astype(int), unit="D")
    age = np.clip(rng.normal(34, 9, n), 17, 63)
    birth_year = (intake.year - np.round(age)).astype(int)
    education_rank = rng.choice(7, n, p=[0.06, 0.14, 0.25, 0.2, 0.17, 0.13, 0.05])
    finnish_rank = rng.choice(6, n, p=[0.3, 0.25, 0.2, 0.12, 0.05, 0.08])
    literacy = (education_rank <= 1) & (rng.random(n) < 0.5)
    health = rng.random(n) < 0.12
    prior_work = np.round(rng.gamma(1.5, 3.0, n), 1)
    prior_work = np.where(rng.random(n) < 0.05, np.nan, prior_work)
    motivation = rng.normal(0.0, 1.0, n)
    clients = pd.DataFrame(
        {
            "client_id": [f"T{seed:03d}-{i:05d}" for i in range(n)],
            "intake_date": intake,
            "arrival_date": arrival,
            "birth_year": birth_year,
            "gender": rng.choice(
                ["female", "male", "other", "unknown"], n, p=[0.48, 0.49, 0.01, 0.02]
            ),
            "mother_tongue": rng.choice(["ar", "ru", "so", "uk", "fa", "en", "et"], n),
            "citizenship_region": rng.choice(
                ["middle_east", "europe_other", "africa", "eu_efta", "asia", "americas"], n
            ),
            "residence_basis": rng.choice(
                ["work", "family", "humanitarian", "study", "temporary_protection", "other"],
                n,
                p=[0.2, 0.3, 0.2, 0.08, 0.17, 0.05],
            ),
            "education_level": np.array(EDUCATION_LEVELS)[education_rank],
            "prior_work_years": prior_work,
            "literacy_needs": literacy,
            "finnish_level": np.array(FINNISH_LEVELS)[finnish_rank],
            "health_limitation": health,
            "children_under_school_age": rng.poisson(0.6, n),
            EXTRA: np.round(motivation, 3),
        }
    )
    profile = _Profile(age, education_rank, finnish_rank, literacy, health, prior_work, motivation)
    return clients, profile


def _base_log_hazard(profile: _Profile) -> np.ndarray:
    """The log hazard (per year) of work or education without a service."""
    education_score = np.where(profile.education_rank == 6, 2.5, profile.education_rank) / 5.0
    finnish_score = np.where(profile.finnish_rank == 5, 1.0, profile.finnish_rank) / 4.0
    return (
        -1.0
        + 0.6 * education_score
        + 0.5 * finnish_score
        + 0.04 * np.nan_to_num(np.minimum(profile.prior_work, 10.0), nan=2.0)
        + 0.25 * profile.motivation
        - 0.5 * profile.health
        - 0.3 * profile.literacy
        - 0.015 * (profile.age - 34)
    )


def _randomised_episodes(
    ids: np.ndarray,
    intake: pd.DatetimeIndex,
    codes: np.ndarray,
    planned: bool,
    rng: np.random.Generator,
) -> tuple[pd.DataFrame, np.ndarray, pd.DatetimeIndex]:
    """One review per client, the random arm, and the service of the treated.

    Returns the episodes, each client's arm (0: no_new_service, j: the j-th
    service) and decision date (the service start, or the review).
    """
    n = len(ids)
    arm = rng.integers(0, len(codes), n)
    review = intake + pd.to_timedelta(rng.integers(7, 22, n), unit="D")
    start = review + pd.to_timedelta(rng.integers(1, 8, n), unit="D")
    treated = arm > 0
    decision = pd.DatetimeIndex(np.where(treated, start, review))
    review_rows = pd.DataFrame(
        {
            "client_id": ids,
            "service": REVIEW,
            "start_date": review,
            "end_date": review,
            "status": "completed",
            "planned_service": codes[arm] if planned else None,
        }
    )
    length = rng.integers(40, 121, n)
    service_rows = pd.DataFrame(
        {
            "client_id": ids[treated],
            "service": codes[arm[treated]],
            "start_date": start[treated],
            "end_date": start[treated] + pd.to_timedelta(length[treated], unit="D"),
            "status": "completed",
            "planned_service": None,
        }
    )
    episodes = pd.concat([review_rows, service_rows], ignore_index=True)
    episodes = episodes.sort_values(["client_id", "start_date"], kind="mergesort")
    return episodes.reset_index(drop=True), arm, decision


def _outcomes(
    ids: np.ndarray,
    intake: pd.DatetimeIndex,
    decision: pd.DatetimeIndex,
    log_hazard_taken: np.ndarray,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Unemployed from intake until work or education, drawn from the hazard of
    the arm taken, counted from the decision date."""
    n = len(ids)
    hazard_taken = np.exp(log_hazard_taken) / 365.0  # per day
    wait = rng.exponential(1.0 / hazard_taken)
    success = decision + pd.to_timedelta(np.maximum(1, np.ceil(wait)).astype(int), unit="D")
    found = success <= EXTRACT_DATE
    kind = np.where(rng.random(n) < 0.3, "education", "employed")
    unemployed = pd.DataFrame(
        {
            "client_id": ids,
            "status": "unemployed",
            "start_date": intake,
            "end_date": pd.Series(success).where(found, pd.NaT).to_numpy(),
        }
    )
    spell_end = success + pd.to_timedelta(rng.integers(90, 900, n), unit="D")
    good = pd.DataFrame(
        {
            "client_id": ids[found],
            "status": kind[found],
            "start_date": success[found],
            "end_date": pd.Series(spell_end[found])
            .where(spell_end[found] <= EXTRACT_DATE, pd.NaT)
            .to_numpy(),
        }
    )
    outcomes = pd.concat([unemployed, good], ignore_index=True)
    outcomes = outcomes.sort_values(["client_id", "start_date"], kind="mergesort")
    return outcomes.reset_index(drop=True)


def _dates(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    out = frame.copy()
    for column in columns:
        out[column] = pd.to_datetime(out[column]).dt.normalize()
    return out


def true_values(trial: Trial) -> dict[str, float]:
    """Population figures of the truth: the mean chance under each action and
    under the best action per client (all clients, not only the held-out ones)."""
    values = trial.truth[list(trial.actions)].to_numpy()
    out = {f"v_{a}": float(values[:, j].mean()) for j, a in enumerate(trial.actions)}
    out["v_best"] = float(values.max(axis=1).mean())
    return out
