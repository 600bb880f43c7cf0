"""`model.tree_predict` answers exactly what `Booster.predict` answers."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pytest

from model import tree_predict


def _data(n: int = 400, m: int = 6, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, m))
    X[rng.random((n, m)) < 0.05] = np.nan
    X[:, -1] = rng.integers(0, 5, n)  # a categorical column, as the action is
    return X, rng.random(n)


def _train(objective: str, *, classes: int = 1, early_stopping: bool = False) -> lgb.Booster:
    X, u = _data()
    y = (
        (u < 0.4).astype(int)
        if classes == 1
        else np.minimum((u * classes).astype(int), classes - 1)
    )
    params = {"objective": objective, "num_leaves": 7, "verbose": -1, "num_threads": 1}
    if classes > 1:
        params["num_class"] = classes
    train = lgb.Dataset(X, y, categorical_feature=[X.shape[1] - 1])
    if not early_stopping:
        return lgb.train(params, train, num_boost_round=30)
    Xv, uv = _data(n=200, seed=9)  # labels unrelated to X: the best iteration comes early
    valid = lgb.Dataset(Xv, (uv < 0.4).astype(int), reference=train)
    return lgb.train(
        params,
        train,
        num_boost_round=200,
        valid_sets=[valid],
        callbacks=[lgb.early_stopping(3, verbose=False)],
        keep_training_booster=True,  # keeps the trees after the best iteration
    )


@pytest.mark.parametrize(
    ("objective", "classes"), [("binary", 1), ("multiclass", 4), ("regression", 1)]
)
def test_same_answers_as_booster_predict(objective: str, classes: int) -> None:
    booster = _train(objective, classes=classes)
    X, _ = _data(n=17, seed=1)
    for _ in range(2):  # the first call is checked against Booster.predict, the second is not
        np.testing.assert_array_equal(
            tree_predict.raw_scores(booster, X), booster.predict(X, raw_score=True)
        )
        np.testing.assert_array_equal(
            tree_predict.contributions(booster, X), booster.predict(X, pred_contrib=True)
        )
    assert tree_predict._plan(booster, 1).usable


def test_a_booster_that_stops_early_falls_back_to_booster_predict() -> None:
    """Booster.predict uses the best iteration; the direct call would use every tree."""
    booster = _train("binary", early_stopping=True)
    assert 0 < booster.best_iteration < booster.current_iteration()
    X, _ = _data(n=9, seed=2)
    for _ in range(2):
        np.testing.assert_array_equal(
            tree_predict.raw_scores(booster, X), booster.predict(X, raw_score=True)
        )
    assert not tree_predict._plan(booster, 1).usable


def test_odd_inputs_are_left_to_booster_predict() -> None:
    booster = _train("binary")
    X, _ = _data(n=5, seed=3)
    as_list = X.astype(np.float32)  # converted, then the same answers
    np.testing.assert_array_equal(
        tree_predict.raw_scores(booster, as_list), booster.predict(as_list, raw_score=True)
    )
    assert tree_predict.raw_scores(booster, X[:0]).shape == (0,)


def test_a_large_batch_is_checked_on_a_sample_of_its_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first call compares at most CHECKED_ROWS rows with Booster.predict, not every row."""
    booster = _train("binary")
    X, _ = _data(n=5000, seed=4)
    expected = booster.predict(X, raw_score=True)
    asked: list[int] = []
    predict = booster.predict

    def counted(rows: np.ndarray, **kwargs: object) -> object:
        asked.append(len(rows))
        return predict(rows, **kwargs)

    monkeypatch.setattr(booster, "predict", counted)
    for _ in range(2):
        np.testing.assert_array_equal(tree_predict.raw_scores(booster, X), expected)
    assert asked == [tree_predict.CHECKED_ROWS]
    assert tree_predict._plan(booster, 1).usable


def test_a_sample_is_enough_to_find_a_booster_that_answers_differently() -> None:
    booster = _train("binary", early_stopping=True)
    X, _ = _data(n=5000, seed=5)
    for _ in range(2):
        np.testing.assert_array_equal(
            tree_predict.raw_scores(booster, X), booster.predict(X, raw_score=True)
        )
    assert not tree_predict._plan(booster, 1).usable
