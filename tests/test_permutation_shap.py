"""Steward's batched permutation SHAP against SHAP's own ``PermutationExplainer``, driven with
the same orders of the inputs, on binary, multiclass and regression models."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

from steward.checks._permutation_shap import antithetic_orders, permutation_shap
from steward.checks._plots import import_shap

Predict = Callable[[np.ndarray], np.ndarray]


def _data(rows: int = 240, width: int = 5) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(11)
    x = rng.normal(size=(rows, width))
    score = x[:, 0] + 0.5 * x[:, 1] * x[:, 2] - x[:, 3]
    return x, score


def _models() -> dict[str, Predict]:
    x, score = _data()
    binary = HistGradientBoostingClassifier(max_iter=30, random_state=0).fit(x, score > 0)
    three = HistGradientBoostingClassifier(max_iter=30, random_state=0).fit(
        x, np.digitize(score, [-0.5, 0.5])
    )
    regressor = HistGradientBoostingRegressor(max_iter=30, random_state=0).fit(x, score)
    return {
        "binary": lambda m: binary.predict_proba(m)[:, 1],
        "multiclass": three.predict_proba,
        "regression": regressor.predict,
    }


@pytest.fixture(scope="module")
def models() -> dict[str, Predict]:
    return _models()


def test_values_equal_shaps_permutation_explainer_on_the_same_orders(
    models: dict[str, Predict],
) -> None:
    # one test for the three kinds of output: SHAP compiles its numba kernels once per process
    for seed, kind in enumerate(["binary", "multiclass", "regression"]):
        _equal_to_shaps(models[kind], seed)


def _equal_to_shaps(predict: Predict, seed: int) -> None:
    shap = import_shap()
    x, _ = _data()
    rows, background = x[:30], x[200:]
    explainer = shap.PermutationExplainer(
        predict, shap.maskers.Independent(background, max_samples=len(background)), seed=seed
    )
    expected = explainer(rows, max_evals=2 * x.shape[1] + 1, silent=True)
    # SHAP seeds NumPy's global generator once and shuffles every row's inputs from it
    state = np.random.RandomState(seed)
    orders = np.stack([state.permutation(x.shape[1]) for _ in range(len(rows))])

    values, base = permutation_shap(predict, rows, background, orders)

    assert values.shape == np.asarray(expected.values).shape
    np.testing.assert_allclose(values, expected.values, rtol=0, atol=1e-12)
    np.testing.assert_allclose(base, expected.base_values, rtol=0, atol=1e-12)


def test_values_add_up_to_the_output_and_do_not_depend_on_the_batch_size(
    models: dict[str, Predict],
) -> None:
    x, _ = _data()
    rows, background = x[:25], x[180:]
    orders = antithetic_orders(len(rows), x.shape[1], seed=3)
    predict = models["multiclass"]
    values, base = permutation_shap(predict, rows, background, orders)
    small, _ = permutation_shap(predict, rows, background, orders, batch_rows=1)
    np.testing.assert_array_equal(values, small)
    np.testing.assert_allclose(values.sum(axis=1) + base, predict(rows), rtol=0, atol=1e-12)
    assert np.abs(values).sum() > 0  # the inputs matter to this model


def test_one_input_gets_the_whole_difference_and_orders_are_seeded(
    models: dict[str, Predict],
) -> None:
    def predict(m: np.ndarray) -> np.ndarray:
        return 3 * m[:, 0] ** 2

    rows, background = np.array([[1.0], [2.0]]), np.array([[0.0], [1.0]])
    values, base = permutation_shap(predict, rows, background, antithetic_orders(2, 1, 0))
    np.testing.assert_allclose(base, [1.5, 1.5])
    np.testing.assert_allclose(values[:, 0], [1.5, 10.5])
    first, again = antithetic_orders(4, 6, seed=9), antithetic_orders(4, 6, seed=9)
    np.testing.assert_array_equal(first, again)
    assert all(sorted(order) == list(range(6)) for order in first)
    assert len({tuple(order) for order in antithetic_orders(50, 6, seed=9)}) > 1
