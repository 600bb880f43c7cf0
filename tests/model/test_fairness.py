"""The fairness report (model.fairness) against hand computations on small tables.

Per-group figures are checked against the same formula on the masked subset
of rows and against Fairlearn's MetricFrame; gaps against
MetricFrame.difference()/ratio(); the headline against a world built so that
following the recommendations closes a known gap; suppression against the
linear check of tests/support/disclosure.py.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame

from model.errors import SuppressionError
from model.evaluation import dr_terms, expected_calibration_error, roc_auc
from model.fairness.decisions import decisions_from_store
from model.fairness.gaps import gap
from model.fairness.groups import INTERSECTION, group_labels
from model.fairness.report import fairness_report
from model.fairness.settings import FairnessSettings
from model.fairness.suppression import TOTAL
from tests.support.disclosure import linearly_determined

ACTIONS = ("a", "b", "no_new_service")
K = 5


def make_rows(n_clients: int = 240, seed: int = 0) -> dict[str, Any]:
    """Decision points of `n_clients` clients (1-4 each) with scores and truth."""
    rng = np.random.default_rng(seed)
    per_client = rng.integers(1, 5, n_clients)
    client = np.repeat(np.arange(n_clients), per_client)
    n = len(client)
    gender = rng.choice(["female", "male", "other"], n_clients, p=[0.5, 0.492, 0.008])[client]
    basis = rng.choice(["work", "family", "humanitarian"], n_clients, p=[0.4, 0.4, 0.2])[client]
    tongue = rng.choice(["ar", "ru", "so", "xx", "yy"], n_clients, p=[0.4, 0.3, 0.25, 0.03, 0.02])[
        client
    ]
    age = rng.integers(18, 64, n_clients)[client] + (np.arange(n) % 2)  # ages move a little
    rows = pd.DataFrame(
        {
            "client_id": [f"c{c:04d}" for c in client],
            "decision_date": pd.Timestamp("2022-01-01")
            + pd.to_timedelta(np.arange(n) % 4 * 90, unit="D"),
            "gender": gender,
            "residence_basis": basis,
            "mother_tongue": tongue,
            "citizenship_region": np.where(tongue == "ru", "europe_other", "middle_east"),
            "education_level": rng.choice(["primary", "secondary", "bachelor"], n),
            "age": age.astype(float),
        }
    )
    # education and age are client-level in the data contract
    rows["education_level"] = rows.groupby("client_id")["education_level"].transform("first")
    truth = rng.uniform(0.1, 0.6, (n, len(ACTIONS)))
    taken = rng.integers(0, len(ACTIONS), n)
    recommended = rng.integers(0, len(ACTIONS), n)
    y = (rng.random(n) < truth[np.arange(n), taken]).astype(float)
    rows["label"] = y
    p = np.clip(truth + rng.normal(0, 0.05, truth.shape), 0.01, 0.99)
    propensity = rng.dirichlet(np.ones(len(ACTIONS)), n)
    return {
        "rows": rows,
        "taken": taken,
        "recommended": recommended,
        "p": p,
        "propensity": propensity,
        "truth": truth,
    }


SETTINGS = FairnessSettings(min_cell_size=K, n_boot=50)


@pytest.fixture(scope="module")
def data() -> dict[str, Any]:
    return make_rows()


@pytest.fixture(scope="module")
def report(data: dict[str, Any]) -> dict[str, Any]:
    return fairness_report(
        actions=ACTIONS, settings=SETTINGS, model_features=["age", "education_level"], **data
    )


@pytest.fixture(scope="module")
def dr_report(data: dict[str, Any]) -> dict[str, Any]:
    args = {key: value for key, value in data.items() if key != "truth"}
    return fairness_report(actions=ACTIONS, settings=SETTINGS, **args)


def section(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(a for a in report["attributes"] if a["name"] == name)


def group(report: dict[str, Any], name: str, value: str) -> dict[str, Any]:
    return next(g for g in section(report, name)["groups"] if g["group"] == value)


# -- per-group figures against masked subsets ------------------------------------------


def test_group_figures_equal_masked_subset_computations(
    data: dict[str, Any], report: dict[str, Any]
) -> None:
    rows, truth = data["rows"], data["truth"]
    n = len(rows)
    taken, recommended = data["taken"], data["recommended"]
    y = rows["label"].to_numpy()
    p_taken = data["p"][np.arange(n), taken]
    for value in ("work", "family", "humanitarian"):
        mask = (rows["residence_basis"] == value).to_numpy()
        g = group(report, "residence_basis", value)
        assert g["clients"] == rows.loc[mask, "client_id"].nunique()
        assert g["decision_points"] == int(mask.sum())
        assert g["good_outcomes"] == int(y[mask].sum())
        assert g["other_outcomes"] == int((1 - y[mask]).sum())
        assert g["base_rate"] == pytest.approx(y[mask].mean(), abs=1e-6)
        assert g["mean_p_outcome"] == pytest.approx(p_taken[mask].mean(), abs=1e-6)
        assert g["ece"] == pytest.approx(
            expected_calibration_error(y[mask], p_taken[mask]), abs=1e-6
        )
        assert g["auc"] == pytest.approx(roc_auc(y[mask], p_taken[mask]), abs=1e-6)
        v_hist = truth[np.arange(n), taken][mask].mean()
        v_rec = truth[np.arange(n), recommended][mask].mean()
        assert g["v_hist"] == pytest.approx(v_hist, abs=1e-6)
        assert g["v_rec"] == pytest.approx(v_rec, abs=1e-6)
        assert g["expected_gain"] == pytest.approx(v_rec - v_hist, abs=1e-6)
        assert g["gain_low"] <= g["expected_gain"] <= g["gain_high"]
        assert g["suppressed"] == []


def _with_genders(data: dict[str, Any], counts: dict[str, int]) -> dict[str, Any]:
    """`data` with each client's gender reassigned: `counts` clients per gender, in client order."""
    rows = data["rows"].copy()
    clients = rows["client_id"].drop_duplicates().tolist()
    assert sum(counts.values()) == len(clients)
    genders = [g for g, n in counts.items() for _ in range(n)]
    rows["gender"] = rows["client_id"].map(dict(zip(clients, genders, strict=True)))
    return {**data, "rows": rows}


def test_a_small_group_never_costs_a_large_group_its_figures() -> None:
    """The evaluator's case: three clients of gender "other" and no unknown. Hiding
    them with the total published used to hide the largest group's counts too;
    now the small group is combined with the smallest other group before
    anything is tabulated, and every group of at least k clients is published."""
    data = _with_genders(
        make_rows(n_clients=1179, seed=4), {"female": 600, "male": 576, "other": 3}
    )
    rep = fairness_report(actions=ACTIONS, settings=SETTINGS, **data)
    genders = {g["group"]: g for g in section(rep, "gender")["groups"]}
    assert set(genders) == {"female", "male+other_or_unknown"}
    assert genders["female"]["clients"] == 600
    assert genders["male+other_or_unknown"]["clients"] == 579
    for g in genders.values():
        assert g["good_outcomes"] is not None and g["base_rate"] is not None, g["group"]
        assert not {"clients", "base_rate", "good_outcomes"} & set(g["suppressed"])
    labels = section(rep, "gender")["group_labels"]
    assert labels["male+other_or_unknown"]["en"] == "male or other or unknown"
    assert labels["male+other_or_unknown"]["sv"] == "man eller annan eller okänd"
    # both groups are compared: the gender gap is not lost with the small group
    assert section(rep, "gender")["gaps"]["base_rate"]["groups_compared"] == 2
    gender_line = next(h for h in rep["headline"] if h["attribute"] == "gender")
    assert gender_line["verdict"] != "not_enough_groups"


def test_small_groups_join_other_and_unknown_before_a_real_group() -> None:
    data = _with_genders(
        make_rows(n_clients=1209, seed=5), {"female": 600, "male": 576, "other": 3, "unknown": 30}
    )
    rep = fairness_report(actions=ACTIONS, settings=SETTINGS, **data)
    genders = {g["group"]: g for g in section(rep, "gender")["groups"]}
    assert set(genders) == {"female", "male", "other_or_unknown"}
    assert [genders[g]["clients"] for g in ("female", "male", "other_or_unknown")] == [600, 576, 33]
    assert all(g["base_rate"] is not None for g in genders.values())
    # a pool of small groups is not a group of people: it is left out of the gaps
    assert section(rep, "gender")["gaps"]["base_rate"]["groups_compared"] == 2
    # the intersection is built from the combined groups
    inter = {g["group"] for g in section(rep, INTERSECTION)["groups"]}
    assert any(g.startswith("other_or_unknown × ") for g in inter)


def test_groups_with_few_decisions_are_combined_before_the_decision_tables() -> None:
    """Decisions on fewer than k clients of a group move to the pool row of the
    decision tables, so the other groups keep their override rates."""
    data = make_rows(n_clients=600, seed=6)
    rows = data["rows"]
    first = rows.drop_duplicates("client_id")
    work = first[first["residence_basis"] == "work"].head(60)
    family = first[first["residence_basis"] == "family"].head(60)
    humanitarian = first[first["residence_basis"] == "humanitarian"].head(3)
    chosen = pd.concat([work, family, humanitarian])
    decisions = chosen.assign(
        chosen_service="a",
        overridden=np.arange(len(chosen)) % 3 == 0,
        reason_code=np.where(np.arange(len(chosen)) % 3 == 0, "client_preference", None),
    )
    rep = fairness_report(actions=ACTIONS, settings=SETTINGS, decisions=decisions, **data)
    groups = {g["group"]: g for g in section(rep, "residence_basis")["groups"]}
    overridden = decisions["overridden"].to_numpy()
    assert groups["work"]["decisions"] == 60
    assert groups["work"]["override_rate"] == pytest.approx(overridden[:60].mean())
    # three humanitarian clients are too few even as a pool: it joins the smallest group
    pool = groups["family+other_or_unknown"]
    assert pool["decisions_only"] is True
    assert pool["decisions"] == 63
    assert pool["override_rate"] == pytest.approx(overridden[60:].mean())
    for name in ("family", "humanitarian"):
        assert groups[name]["decisions"] is None and "decisions" in groups[name]["suppressed"]
        assert groups[name]["clients"] is not None  # only its decisions moved


def test_group_figures_equal_fairlearn_by_group(
    data: dict[str, Any], report: dict[str, Any]
) -> None:
    rows = data["rows"]
    n = len(rows)
    y = rows["label"].to_numpy()
    p_taken = data["p"][np.arange(n), data["taken"]]
    frame = MetricFrame(
        metrics={"rate": lambda t, p: float(np.mean(t)), "mean_p": lambda t, p: float(np.mean(p))},
        y_true=y,
        y_pred=p_taken,
        sensitive_features=rows["residence_basis"],
    )
    for value, figures in frame.by_group.iterrows():
        g = group(report, "residence_basis", str(value))
        assert g["base_rate"] == pytest.approx(figures["rate"], abs=1e-6)
        assert g["mean_p_outcome"] == pytest.approx(figures["mean_p"], abs=1e-6)


def test_doubly_robust_values_without_truth(
    data: dict[str, Any], dr_report: dict[str, Any]
) -> None:
    rows = data["rows"]
    y = rows["label"].to_numpy()
    terms = dr_terms(
        y=y,
        taken=data["taken"],
        mu=data["p"],
        propensity=data["propensity"],
        recommended=data["recommended"],
    )
    assert dr_report["method"] == "doubly_robust"
    for value in ("work", "family"):
        mask = (rows["residence_basis"] == value).to_numpy()
        g = group(dr_report, "residence_basis", value)
        assert g["v_hist"] == pytest.approx(y[mask].mean(), abs=1e-6)  # observed rate
        assert g["v_rec"] == pytest.approx(terms[mask].mean(), abs=1e-6)
        assert g["expected_gain"] == pytest.approx(terms[mask].mean() - y[mask].mean(), abs=1e-6)
    assert dr_report["overall"]["v_rec"] == pytest.approx(terms.mean(), abs=1e-6)


def test_gaps_equal_fairlearn_difference_and_ratio(
    data: dict[str, Any], report: dict[str, Any]
) -> None:
    rows = data["rows"]
    n = len(rows)
    y = rows["label"].to_numpy()
    p_taken = data["p"][np.arange(n), data["taken"]]
    # the groups compared are those published and not "unknown": here every basis
    frame = MetricFrame(
        metrics={
            "base_rate": lambda t, p: float(np.mean(t)),
            "mean_p_outcome": lambda t, p: float(np.mean(p)),
        },
        y_true=y,
        y_pred=p_taken,
        sensitive_features=rows["residence_basis"],
    )
    gaps = section(report, "residence_basis")["gaps"]
    for metric in ("base_rate", "mean_p_outcome"):
        assert gaps[metric]["difference"] == pytest.approx(frame.difference()[metric], abs=1e-6)
        assert gaps[metric]["ratio"] == pytest.approx(frame.ratio()[metric], abs=1e-6)
        assert gaps[metric]["groups_compared"] == 3
    difference, ratio = gap(frame.by_group["base_rate"])
    assert difference == pytest.approx(frame.difference()["base_rate"])
    assert ratio == pytest.approx(frame.ratio()["base_rate"])


def test_gap_helper_edge_cases() -> None:
    assert all(math.isnan(v) for v in gap({"a": 0.3}))
    assert gap({"a": 0.2, "b": 0.5, "c": None}) == pytest.approx((0.3, 0.4))
    difference, ratio = gap({"a": -0.1, "b": 0.2})
    assert difference == pytest.approx(0.3) and math.isnan(ratio)


def test_flags_follow_the_bounds() -> None:
    data = make_rows(120, seed=1)
    loose = FairnessSettings(min_cell_size=K, n_boot=0, max_difference=1.0, min_ratio=0.0)
    strict = FairnessSettings(min_cell_size=K, n_boot=0, max_difference=0.0, min_ratio=1.0)
    assert fairness_report(actions=ACTIONS, settings=loose, **data)["flags"] == []
    flagged = fairness_report(actions=ACTIONS, settings=strict, **data)
    metrics = {(f["attribute"], f["metric"]) for f in flagged["flags"]}
    assert ("residence_basis", "base_rate") in metrics and ("residence_basis", "ece") in metrics
    gaps = section(flagged, "residence_basis")["gaps"]
    assert gaps["ece"]["ratio"] is None  # ratios only for rates
    assert set(gaps["base_rate"]["flagged_by"]) == {"difference", "ratio"}


# -- groups --------------------------------------------------------------------------------


def test_age_bands_languages_and_client_level_groups() -> None:
    rows = pd.DataFrame(
        {
            "client_id": ["a", "a", "b", "c", "d"] + [f"r{i}" for i in range(6)] + ["s1"],
            "decision_date": pd.to_datetime(
                ["2022-02-01", "2021-01-01", "2021-01-01", "2021-01-01", "2021-01-01"]
                + ["2021-01-01"] * 7
            ),
            "age": [25.0, 24.0, 25.0, 60.0, np.nan] + [30.0] * 7,
            "mother_tongue": ["ar", "ar", "xx", "", None] + ["ru"] * 6 + ["so"],
        }
    )
    labels, kept = group_labels(rows, FairnessSettings(min_cell_size=5), pool=False)
    # client a: first decision (2021) at 24, so 15–24 on both rows
    assert labels["age_band"].tolist()[:5] == ["15–24", "15–24", "25–34", "55+", "unknown"]
    assert kept == ["ru"]  # the only language with at least k clients
    assert labels["mother_tongue"].tolist()[:5] == ["other", "other", "other", "unknown", "unknown"]
    assert labels["mother_tongue"].iloc[-1] == "other"
    assert "gender" not in labels.columns and INTERSECTION not in labels.columns


def test_attributes_used_as_features_and_for_audit(report: dict[str, Any]) -> None:
    used = report["attributes_used"]
    assert used["model_features"] == ["age_band", "education_level"]
    assert "gender" in used["audit_only"] and "mother_tongue" in used["audit_only"]
    assert "health_limitation" in used["not_in_data"]
    assert used["protected_used_as_features"] == []
    assert section(report, "age_band")["used_as_feature"] is True
    assert section(report, "gender")["used_as_feature"] is False


# -- suppression ---------------------------------------------------------------------------


def _all_counts(report: dict[str, Any]) -> list[int]:
    found = []
    for attribute in report["attributes"]:
        for g in attribute["groups"]:
            found += [
                g[key]
                for key in (
                    "clients",
                    "decision_points",
                    "good_outcomes",
                    "other_outcomes",
                    "decisions",
                    "overrides",
                )
                if g.get(key) is not None
            ]
        for kind in ("recommended", "historical"):
            for row in attribute.get("services", {}).get(kind, []):
                found += [v for v in row["counts"].values() if v is not None]
                found += [row["total"]] if row["total"] is not None else []
        for row in attribute.get("override_reasons", []):
            found += [v for v in row["counts"].values() if v is not None]
    return found


def test_no_published_count_is_small(report: dict[str, Any], dr_report: dict[str, Any]) -> None:
    for rep in (report, dr_report):
        counts = _all_counts(rep)
        assert counts, "the report publishes counts"
        assert all(c == 0 or c >= K for c in counts)


def test_small_groups_are_combined_not_hidden(report: dict[str, Any]) -> None:
    genders = {g["group"]: g for g in section(report, "gender")["groups"]}
    assert "other" not in genders  # about 2 of 240 clients: combined with the smallest group
    assert all(g["clients"] is not None and g["clients"] >= K for g in genders.values())
    assert sum(g["clients"] for g in genders.values()) == report["overall"]["clients"]


def test_published_group_tables_leave_nothing_recoverable(report: dict[str, Any]) -> None:
    for attribute in report["attributes"]:
        if attribute["name"] == INTERSECTION:
            continue
        groups = [g["group"] for g in attribute["groups"]]
        mask = pd.DataFrame(
            {
                "n": [attribute["groups"][i]["clients"] is None for i in range(len(groups))]
                + [False]
            },
            index=[*groups, TOTAL],
        )
        assert linearly_determined(mask) == set(), attribute["name"]
        for kind in ("recommended", "historical"):
            rows = attribute["services"][kind]
            cols = list(rows[0]["counts"])
            table = pd.DataFrame(
                [[r["counts"][c] is None for c in cols] + [r["total"] is None] for r in rows],
                index=[r["group"] for r in rows],
                columns=[*cols, TOTAL],
            )
            assert linearly_determined(table) == set(), (attribute["name"], kind)
            # a share is published only with its count and total
            for r in rows:
                for c in cols:
                    if r["counts"][c] is None or r["total"] is None:
                        assert r["shares"][c] is None


def test_intersection_is_linked_to_its_margins(
    report: dict[str, Any], dr_report: dict[str, Any]
) -> None:
    inter = section(report, INTERSECTION)
    genders = [g["group"] for g in section(report, "gender")["groups"]]
    bases = [g["group"] for g in section(report, "residence_basis")["groups"]]
    cells = {g["group"]: g["clients"] for g in inter["groups"]}
    mask = pd.DataFrame(False, index=[*genders, TOTAL], columns=[*bases, TOTAL])
    for gb, value in cells.items():
        g, b = gb.split(" × ")
        mask.loc[g, b] = value is None
    for g in section(report, "gender")["groups"]:
        mask.loc[g["group"], TOTAL] = g["clients"] is None
    for b in section(report, "residence_basis")["groups"]:
        mask.loc[TOTAL, b["group"]] = b["clients"] is None
    assert linearly_determined(mask) == set()
    # no outcome counts or observed rates for intersections
    assert all("base_rate" not in g and "good_outcomes" not in g for g in inter["groups"])
    assert all("v_hist" not in g for g in section(dr_report, INTERSECTION)["groups"])
    assert "services" not in inter


def test_threshold_below_three_is_refused() -> None:
    with pytest.raises(SuppressionError):
        FairnessSettings(min_cell_size=2)


# -- headline ---------------------------------------------------------------------------------


def test_headline_says_whether_a_known_gap_narrows() -> None:
    """Women's expected outcome is 0.2 under history and 0.5 under the recommendation,
    men's 0.6 under both: the gap goes from 40 to 10 percentage points."""
    n_clients = 200
    client = np.repeat(np.arange(n_clients), 2)
    n = len(client)
    female = client % 2 == 0
    truth = np.zeros((n, 3))
    truth[:, 0] = np.where(female, 0.2, 0.6)  # taken
    truth[:, 1] = np.where(female, 0.5, 0.6)  # recommended
    truth[:, 2] = 0.1
    rows = pd.DataFrame(
        {
            "client_id": client.astype(str),
            "gender": np.where(female, "female", "male"),
            "label": (np.arange(n) % 3 == 0).astype(float),
        }
    )
    report = fairness_report(
        rows=rows,
        actions=ACTIONS,
        taken=np.zeros(n, int),
        recommended=np.ones(n, int),
        p=np.full((n, 3), 0.4),
        propensity=np.full((n, 3), 1 / 3),
        truth=truth,
        settings=FairnessSettings(min_cell_size=K, n_boot=100),
    )
    line = report["headline"][0]
    assert line["attribute"] == "gender" and line["verdict"] == "narrows"
    assert line["gap_history"] == pytest.approx(0.4)
    assert line["gap_recommended"] == pytest.approx(0.1)
    assert line["change"] == pytest.approx(-0.3)
    assert line["change_high"] < 0
    assert line["lowest_history"]["group"] == "female"
    assert "40,0 → 10,0" in line["text"]["fi"] and "40.0 → 10.0" in line["text"]["en"]
    # the reverse: recommendations that widen it
    widened = fairness_report(
        rows=rows,
        actions=ACTIONS,
        taken=np.ones(n, int),
        recommended=np.zeros(n, int),
        p=np.full((n, 3), 0.4),
        propensity=np.full((n, 3), 1 / 3),
        truth=truth,
        settings=FairnessSettings(min_cell_size=K, n_boot=100),
    )
    assert widened["headline"][0]["verdict"] == "widens"


def test_headline_needs_two_published_groups(report: dict[str, Any]) -> None:
    lines = {line["attribute"]: line for line in report["headline"]}
    assert set(lines) >= {"gender", "residence_basis", "age_band", INTERSECTION}
    for line in lines.values():
        assert line["verdict"] in ("narrows", "widens", "no_clear_change", "not_enough_groups")
        if line["verdict"] != "not_enough_groups":
            assert (
                line["change_low"] <= line["change"] + 1e-9
                or line["change_low"] <= line["change_high"]
            )


# -- decisions -------------------------------------------------------------------------------


def _store_rows(
    data: dict[str, Any], rng: np.random.Generator
) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows = data["rows"]
    n = len(rows)
    audit = pd.DataFrame(
        {
            "request_id": [f"r{i}" for i in range(n)],
            "client_id": rows["client_id"],
            "model_version": "3",
            "as_of": rows["decision_date"].dt.date.astype(str),
            "features": [
                json.dumps({k: (None if pd.isna(v) else v) for k, v in row.items()})
                for row in rows[["gender", "age", "mother_tongue", "residence_basis"]].to_dict(
                    "records"
                )
            ],
        }
    )
    recommended = np.asarray(ACTIONS, dtype=object)[data["recommended"]]
    override = rng.random(n) < np.where(rows["residence_basis"] == "humanitarian", 0.4, 0.1)
    chosen = np.where(override, "other_service", recommended)
    decisions = pd.DataFrame(
        {
            "decision_id": [f"d{i}" for i in range(n)],
            "request_id": audit["request_id"],
            "chosen_service": chosen,
            "recommended_service": recommended,
            "reason_code": np.where(
                override, rng.choice(["waiting_time", "client_preference"], n), None
            ),
            "corrects": None,
        }
    )
    return decisions, audit


def test_decisions_join_and_override_rates(data: dict[str, Any]) -> None:
    rng = np.random.default_rng(3)
    decisions, audit = _store_rows(data, rng)
    # a correction replaces the first decision of request r0
    fix = decisions.iloc[[0]].assign(decision_id="d-fix", chosen_service="b", corrects="d0")
    joined = decisions_from_store(
        pd.concat([decisions, fix], ignore_index=True), audit, model_version="3"
    )
    assert len(joined) == len(decisions)
    assert joined.loc[joined["request_id"] == "r0", "chosen_service"].item() == "b"
    assert decisions_from_store(decisions, audit, model_version="4").empty
    report = fairness_report(actions=ACTIONS, settings=SETTINGS, decisions=joined, **data)
    assert report["decisions_included"]
    for value in ("work", "family", "humanitarian"):
        mask = joined["residence_basis"] == value
        g = group(report, "residence_basis", value)
        assert g["decisions"] == int(mask.sum())
        assert g["overrides"] == int(joined.loc[mask, "overridden"].sum())
        assert g["override_rate"] == pytest.approx(joined.loc[mask, "overridden"].mean(), abs=1e-6)
    assert report["overall"]["override_rate"] == pytest.approx(
        joined["overridden"].mean(), abs=1e-6
    )
    gaps = section(report, "residence_basis")["gaps"]
    assert gaps["override_rate"]["flagged"]  # 40 % against 10 %
    reasons = section(report, "residence_basis")["override_reasons"]
    work = next(r for r in reasons if r["group"] == "work")
    assert work["total"] == group(report, "residence_basis", "work")["overrides"]
    assert sum(work["counts"].values()) == work["total"]
    assert all(c == 0 or c >= K for c in _all_counts(report))


def test_report_is_strict_json(report: dict[str, Any], dr_report: dict[str, Any]) -> None:
    for rep in (report, dr_report):
        text = json.dumps(rep, allow_nan=False)
        assert json.loads(text)["kind"] == "polku.fairness_report"


def test_bad_inputs_are_refused(data: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="shape"):
        fairness_report(actions=ACTIONS[:2], settings=SETTINGS, **data)
    censored = {**data, "rows": data["rows"].assign(label=np.nan)}
    with pytest.raises(ValueError, match="label"):
        fairness_report(actions=ACTIONS, settings=SETTINGS, **censored)
