"""A run's inputs: validated tables, catalogue, configuration, truth and the data fingerprint."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pandas as pd

from model.catalogue import Catalogue, load_catalogue
from model.config import RunConfig, load_config
from model.decision_points.build import build_decision_points
from model.decision_points.points import DecisionPoints
from model.errors import ConfigError, DataContractError
from model.learners.kinds import LEARNERS
from model.vocab import TABLES
from training.contract.load import load_valid_tables
from training.tables import Tables, locate_tables
from training.truth import find_truth, read_truth

# The learners' hyperparameters under this name go to the propensity model.
PROPENSITY: Final = "propensity"


@dataclass(frozen=True)
class Inputs:
    """Validated tables with the catalogue and configuration they were read with."""

    data_dir: Path
    tables: Tables
    catalogue: Catalogue
    config: RunConfig
    truth: pd.DataFrame | None
    fingerprint: dict[str, Any]
    catalogue_path: Path | None = None
    config_path: Path | None = None
    truth_path: Path | None = None


def check_learner_config(config: RunConfig) -> None:
    """Refuse unknown learner names or hyperparameter tables before any work."""
    unknown = [name for name in config.learners if name not in LEARNERS]
    if unknown:
        raise ConfigError(
            f"learners: unknown learner(s) {unknown}; choose from {', '.join(LEARNERS)}"
        )
    allowed = set(LEARNERS) | {PROPENSITY}
    stray = sorted(set(config.learner_params) - allowed)
    if stray:
        raise ConfigError(
            f"learner_params: unknown learner(s) {stray}; "
            f"give parameters for {', '.join(sorted(allowed))}"
        )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def data_fingerprint(data_dir: str | Path, tables: Tables | None = None) -> dict[str, Any]:
    """Content hashes of the three input files, their row counts and date window.

    `sha256` hashes the three files' hashes in table order, so the same data
    gives the same fingerprint wherever it lies (the truth file is not part of
    it: it is not input data).
    """
    paths = locate_tables(data_dir)
    files = {name: {"file": paths[name].name, "sha256": _sha256(paths[name])} for name in TABLES}
    combined = hashlib.sha256(
        "".join(f"{name}:{files[name]['sha256']}\n" for name in TABLES).encode()
    ).hexdigest()
    out: dict[str, Any] = {"sha256": combined, "files": files}
    if tables is not None:
        out["rows"] = tables.row_counts()
        dates = [
            frame[column]
            for frame, columns in (
                (tables.clients, ("intake_date", "arrival_date")),
                (tables.episodes, ("start_date", "end_date")),
                (tables.outcomes, ("start_date", "end_date")),
            )
            for column in columns
            if column in frame.columns
        ]
        every = pd.concat(dates, ignore_index=True).dropna() if dates else pd.Series([])
        if len(every):
            out["date_window"] = [f"{every.min():%Y-%m-%d}", f"{every.max():%Y-%m-%d}"]
    return out


def load_inputs(
    data_dir: str | Path,
    *,
    catalogue_path: str | Path | None = None,
    config_path: str | Path | None = None,
    truth_path: str | Path | None = None,
) -> Inputs:
    """Read the configuration, the catalogue and the tables (refused unless valid).

    The truth is `truth_path`, else `truth.parquet` / `truth.csv` in the data
    folder when there is one (the simulator writes it), else None.
    """
    config = load_config(config_path)
    check_learner_config(config)
    catalogue = load_catalogue(catalogue_path, extras=config.extra_features)
    tables = load_valid_tables(data_dir, catalogue=catalogue, config=config)
    found = Path(truth_path) if truth_path is not None else find_truth(data_dir)
    if truth_path is not None and not Path(truth_path).is_file():
        raise DataContractError(f"truth file {Path(truth_path).name} does not exist")
    truth = read_truth(found) if found is not None else None
    return Inputs(
        data_dir=Path(data_dir),
        tables=tables,
        catalogue=catalogue,
        config=config,
        truth=truth,
        fingerprint=data_fingerprint(data_dir, tables),
        catalogue_path=Path(catalogue_path) if catalogue_path is not None else None,
        config_path=Path(config_path) if config_path is not None else None,
        truth_path=found,
    )


def build_points(inputs: Inputs) -> DecisionPoints:
    tables = inputs.tables
    return build_decision_points(
        tables.clients,
        tables.episodes,
        tables.outcomes,
        catalogue=inputs.catalogue,
        config=inputs.config,
    )
