"""The family of drawn worlds (training/simulator/random_world, docs/world.md).

What is checked, and why it matters for developing and judging methods on
many worlds rather than one:

- a world is a function of its seed, and its design does not depend on how
  many clients are drawn;
- every world of seeds 0-9 meets the data contract with the catalogue and
  run configuration it writes, and `world.json` records its design;
- the family has the intended variety: worlds with and without assignment
  units (some invalid), a single intake cohort, no and strong selection on
  hidden readiness (also into services that do little), every share of
  recorded plans, plausible outcome rates;
- the world's own features at its decision points, extra columns included,
  are those the decision-point builder derives from its files;
- training runs end to end on drawn worlds, through the pipeline and the
  command line's `simulate --scenario random`.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from cli.app import app
from model.catalogue import load_catalogue
from model.config import RunConfig, load_config
from model.decision_points import build_decision_points
from model.vocab import NO_NEW_SERVICE, REVIEW
from tests.support.trained_model import TINY_TABLES
from training.contract import load_valid_tables
from training.pipeline import train
from training.simulator import WorldParams, simulate_with_features, write_world
from training.simulator.random_world import random_world
from training.simulator.random_world.draw import PLANNED_SHARES, draw_spec
from training.simulator.random_world.pool import TEMPLATES
from training.simulator.random_world.spec import WorldSpec

SEEDS = range(10)
SMALL = 300
QUICK = WorldParams(truth_replicates=2)
# The built-in world's strongest selection on motivation (weight 0.8 at strength 1).
BUILTIN_SELECTION = 0.8


def keys(frame: pd.DataFrame) -> pd.DataFrame:
    """(client_id, decision_date as a day) of each row, as plain columns."""
    return pd.DataFrame(
        {
            "client_id": frame["client_id"].astype(str).to_numpy(),
            "decision_date": frame["decision_date"].to_numpy().astype("datetime64[D]"),
        }
    )


@pytest.fixture(scope="module")
def family(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    """The small worlds of seeds 0-9, written as `polku simulate --scenario random` does."""
    folders = {}
    for seed in SEEDS:
        params, design = random_world(seed, SMALL, QUICK)
        folder = tmp_path_factory.mktemp(f"world-{seed}")
        write_world(params, folder, design=design)
        folders[seed] = folder
    return folders


def world_json(folder: Path) -> dict:
    return json.loads((folder / "world.json").read_text())


# --------------------------------------------------------------------------- seeds


def test_a_world_is_a_function_of_its_seed() -> None:
    assert draw_spec(3) == draw_spec(3)
    assert draw_spec(3) != draw_spec(4)
    small, large = random_world(3, 200)[1], random_world(3, 5000)[1]
    assert small.spec == large.spec  # the design does not depend on the size


# --------------------------------------------------------------------------- the contract


@pytest.mark.parametrize("seed", SEEDS)
def test_every_world_meets_the_data_contract(family: dict[int, Path], seed: int) -> None:
    folder = family[seed]
    config = load_config(folder / "config.toml")
    catalogue = load_catalogue(folder / "catalogue.toml", extras=config.extra_features)
    tables = load_valid_tables(folder, catalogue=catalogue, config=config)
    world = world_json(folder)
    spec = world["design"]
    assert world["scenario"] == "random"
    assert world["params"]["seed"] == seed
    assert catalogue.service_codes == tuple(service["code"] for service in spec["services"])
    assert 8 <= len(catalogue.service_codes) <= 16
    assert set(catalogue.service_codes) <= set(TEMPLATES)
    used = set(tables.episodes["service"]) - {REVIEW}
    assert used <= set(catalogue.service_codes)
    units = spec["units"]
    declared = set(config.extra_features)
    assert declared == {column["name"] for column in spec["extras"]} | (
        set() if units is None else {units["column"]}
    )
    assert declared <= set(tables.clients.columns)
    if units is not None:
        assert set(tables.clients[units["column"]]) <= set(units["names"])
    truth = pd.read_csv(folder / "truth.csv")
    assert list(truth.columns[2 : 2 + len(catalogue.actions)]) == list(catalogue.actions)
    assert truth["p_historical"].between(0.0, 1.0).all()


# --------------------------------------------------------------------------- variety


def _strongest_weak_selection(spec: WorldSpec) -> float:
    """The strongest selection of the ready into a service that does little or harms."""
    weak = {
        service.code
        for service in spec.services
        if service.effect.kind in ("null", "harms_some") or service.long_lock_in
    }
    weights = [weight for code, weight in spec.selection.items() if code in weak]
    return spec.motivation_selection * max(weights, default=0.0)


def test_the_family_has_the_intended_variety(family: dict[int, Path]) -> None:
    worlds = {seed: world_json(folder) for seed, folder in family.items()}
    clients = {seed: pd.read_csv(folder / "clients.csv") for seed, folder in family.items()}
    # Units absent (no column at all) in some worlds, present in others.
    no_units = [seed for seed, world in worlds.items() if world["design"]["units"] is None]
    assert 2 <= len(no_units) < len(worlds)
    for seed in no_units:
        assert not {"office", "team", "caseworker"} & set(clients[seed].columns)
    # A single intake cohort: every intake on one day.
    single = [seed for seed, world in worlds.items() if world["design"]["cohort_kind"] == "single"]
    assert single
    for seed in single:
        assert clients[seed]["intake_date"].nunique() == 1
    assert any(world["design"]["cohort_kind"] == "spread" for world in worlds.values())
    # Plausible outcome rates: work or education within a year of intake.
    for world in worlds.values():
        assert 0.05 < world["summary"]["success_within_year"] < 0.7

    # Over more seeds (designs only, which are cheap): the rest of the variety.
    specs = [draw_spec(seed) for seed in range(40)]
    assert any(spec.units is not None and not spec.units.valid for spec in specs)
    assert sum(spec.units is None for spec in specs) >= len(specs) / 3
    selection = [spec.motivation_selection for spec in specs]
    assert any(strength == 0.0 for strength in selection)
    strongest = [
        spec.motivation_selection * max(spec.selection.values(), default=0.0) for spec in specs
    ]
    assert max(strongest) >= 2 * BUILTIN_SELECTION
    strong_into_weak = [_strongest_weak_selection(spec) >= BUILTIN_SELECTION for spec in specs]
    assert sum(strong_into_weak) >= len(specs) / 4
    assert any(
        weight < 0
        for spec in specs
        for code, weight in spec.selection.items()
        if code != NO_NEW_SERVICE
    )
    assert {spec.planned_service_recorded for spec in specs} == set(PLANNED_SHARES)
    kinds = {service.effect.kind for spec in specs for service in spec.services}
    assert kinds == {"null", "helps_all", "helps_some", "harms_some"}
    assert {len(spec.services) for spec in specs} >= {8, 16}


def test_recorded_plans_follow_the_drawn_share(family: dict[int, Path]) -> None:
    for folder in family.values():
        share = world_json(folder)["params"]["planned_service_recorded"]
        episodes = pd.read_csv(folder / "episodes.csv")
        reviews = episodes.loc[episodes["service"] == REVIEW]
        recorded = float(reviews["planned_service"].notna().mean())
        assert abs(recorded - share) < 0.08, (share, recorded)


# --------------------------------------------------------------------------- features


def test_world_features_equal_the_builders_features(tmp_path: Path) -> None:
    """Extra columns of every kind (with gaps) and units read back as the world saw them."""
    params, design = random_world(7, 600, QUICK)
    history, features = simulate_with_features(params, design=design)
    write_world(params, tmp_path, design=design)
    config = RunConfig(
        extract_date=date.fromisoformat(params.extract_date),
        extra_features=load_config(tmp_path / "config.toml").extra_features,
    )
    catalogue = load_catalogue(tmp_path / "catalogue.toml", extras=config.extra_features)
    tables = load_valid_tables(tmp_path, catalogue=catalogue, config=config)
    points = build_decision_points(
        tables.clients, tables.episodes, tables.outcomes, catalogue=catalogue, config=config
    )
    frame = points.frame
    pd.testing.assert_frame_equal(keys(history.truth), keys(frame))
    pd.testing.assert_frame_equal(keys(features), keys(frame))
    assert set(config.extra_features) <= set(points.feature_names)
    assert set(features.columns) - {"client_id", "decision_date"} == set(points.feature_names)
    for feature in points.features:
        ours, theirs = features[feature.name].to_numpy(), frame[feature.name].to_numpy()
        if feature.kind == "categorical":
            same = (
                pd.Series(ours).astype(str).to_numpy() == pd.Series(theirs).astype(str).to_numpy()
            )
        else:
            a, b = ours.astype(float), theirs.astype(float)
            same = (np.isnan(a) & np.isnan(b)) | np.isclose(a, b, rtol=0.0, atol=1e-9)
        assert same.all(), f"{feature.name}: {int((~same).sum())} rows differ"
    truth_eligible = history.truth[list(points.eligibility_columns)].to_numpy(dtype=bool)
    np.testing.assert_array_equal(truth_eligible, points.eligibility())


# --------------------------------------------------------------------------- training


# Cohorts with valid units; a single cohort without units; invalid units and
# extra columns of every kind with gaps.
@pytest.mark.parametrize("seed", (0, 1, 7))
def test_training_runs_on_a_drawn_world(tmp_path: Path, seed: int) -> None:
    params, design = random_world(seed, 1500, QUICK)
    data = tmp_path / "data"
    write_world(params, data, design=design)
    config = tmp_path / "run.toml"
    # The world's own configuration with the tiny learners (top-level keys first).
    config.write_text(
        "num_threads = 1\n" + (data / "config.toml").read_text("utf-8") + "\n" + TINY_TABLES,
        encoding="utf-8",
    )
    result = train(data, catalogue_path=data / "catalogue.toml", config_path=config)
    assert result.chosen in result.test
    assert result.router.catalogue.service_codes == design.spec.codes
    figures = result.test[result.chosen]
    assert figures["v_oracle"] is not None and figures["capture_ratio"] is not None
    if design.spec.cohort_kind == "single":  # intake dates cannot separate the clients
        assert result.split.method == "random"
    waits = result.router.metadata["waits"]
    if waits is not None:  # by default half of each clear correction is served
        assert waits["mode"] == "half_where_clear"
        for entry in waits["services"].values():
            ratio, error = entry["log_readiness_ratio"], entry["standard_error"]
            clear = ratio is not None and error and abs(ratio / error) > 2.0
            assert entry["applied"] == pytest.approx(entry["adjustment"] / 2 if clear else 0.0)
    if design.spec.planned_service_recorded > 0:
        # The reviews that record their plan were read for selection in the waits.
        services = waits["services"]
        assert sum(entry["planned_reviews"] for entry in services.values()) > 0
        assert all(
            entry["events_in_wait"] <= entry["planned_reviews"] for entry in services.values()
        )
        assert "waits" in result.model_card
    else:
        assert waits is None


def test_the_waits_correct_the_ranking_when_asked(tmp_path: Path) -> None:
    """With `correct_with_waits`, the readiness the waits show is what the router takes off."""
    params, design = random_world(4, 2000, QUICK)  # plans recorded at 90 % of reviews
    data = tmp_path / "data"
    write_world(params, data, design=design)
    config = tmp_path / "run.toml"
    own = (data / "config.toml").read_text("utf-8").replace("assignment_units", "# units")
    config.write_text(
        "num_threads = 1\ncorrect_with_waits = true\n" + own + "\n" + TINY_TABLES,
        encoding="utf-8",
    )
    result = train(data, catalogue_path=data / "catalogue.toml", config_path=config)
    waits = result.router.metadata["waits"]
    assert waits is not None and waits["used"] == any(
        entry["adjustment"] for entry in waits["services"].values()
    )
    assert waits["used"]  # enough plans here to measure, and to correct
    served = {
        action: float(result.router.adjustment[j]) for j, action in enumerate(result.router.actions)
    }
    for action, entry in waits["services"].items():
        assert served[action] == pytest.approx(entry["adjustment"] if waits["used"] else 0.0)


def test_the_command_line_writes_a_drawn_world(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "world"
    args = ["simulate", "--scenario", "random", "--seed", "5", "--clients", "200"]
    result = runner.invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    for name in ("clients.csv", "episodes.csv", "outcomes.csv", "truth.csv", "world.json"):
        assert (out / name).is_file()
    config = load_config(out / "config.toml")
    load_catalogue(out / "catalogue.toml", extras=config.extra_features)
    assert world_json(out)["design"] == json.loads(json.dumps(draw_spec(5).to_json()))
    bad = runner.invoke(app, ["simulate", "--scenario", "other", "--out", str(tmp_path / "x")])
    assert bad.exit_code != 0


def test_a_world_can_be_drawn_without_hidden_selection(tmp_path: Path) -> None:
    """`--confounding` scales the habits on recorded cues only; the selection on
    motivation that no column records has an option of its own, which also
    overrides a drawn world's strength (its design keeps the drawn one)."""
    runner = CliRunner()
    out = tmp_path / "world"
    args = ["simulate", "--clients", "200", "--confounding", "0.5", "--hidden-selection", "0"]
    result = runner.invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    params = world_json(out)["params"]
    assert params["confounding"] == 0.5
    assert params["motivation_selection"] == 0.0
    default = runner.invoke(app, ["simulate", "--clients", "200", "--out", str(tmp_path / "d")])
    assert default.exit_code == 0, default.output
    assert world_json(tmp_path / "d")["params"]["motivation_selection"] == 1.0
    world_json_of_seed = draw_spec(5).motivation_selection
    assert world_json_of_seed > 0
    random_args = ["simulate", "--scenario", "random", "--seed", "5", "--clients", "200"]
    off = runner.invoke(
        app, [*random_args, "--hidden-selection", "0", "--out", str(tmp_path / "r")]
    )
    assert off.exit_code == 0, off.output
    written = world_json(tmp_path / "r")
    assert written["params"]["motivation_selection"] == 0.0
    assert written["summary"]["hidden_selection"] == 0.0
    assert written["design"]["motivation_selection"] == world_json_of_seed
