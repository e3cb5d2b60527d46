"""The performance check's bootstrap of a binary classifier, all resamples at once
(``steward.checks._bootstrap``), against scikit-learn's metrics of each resample."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from steward.checks._bootstrap import binary_metrics
from steward.checks._performance import Performance, scalar_metrics


def _case(seed: int, rows: int, labels: list[Any], ties: bool) -> tuple[Any, ...]:
    rng = np.random.default_rng(seed)
    y = np.array(labels, dtype=object)[rng.integers(0, 2, rows)]
    if all(isinstance(label, int) for label in labels):
        y = y.astype(np.int64)
    p = rng.beta(2, 2, rows)
    if ties:  # a tree's few distinct scores, and exact 0 and 1
        p = np.round(p * 8) / 8
    proba = np.column_stack([1 - p, p])
    predicted = np.where(p >= 0.5, labels[1], labels[0])
    if y.dtype == np.int64:
        predicted = predicted.astype(np.int64)
    return y, predicted, proba


@pytest.mark.parametrize(
    ("seed", "rows", "labels", "ties"),
    [
        (0, 300, [0, 1], False),
        (1, 57, [0, 1], True),
        (2, 400, ["denied", "granted"], True),
        (3, 12, [-1, 1], False),
    ],
)
def test_each_resample_gives_scikit_learns_metrics(
    seed: int, rows: int, labels: list[Any], ties: bool
) -> None:
    y, predicted, proba = _case(seed, rows, labels, ties)
    rng = np.random.default_rng(seed)
    drawn = [rng.integers(0, rows, rows) for _ in range(60)]
    drawn = [r for r in drawn if len(np.unique(y[r])) == 2]
    counts = np.stack([np.bincount(r, minlength=rows) for r in drawn])
    assert (counts == 0).any()  # rows absent from a resample are weighted out
    found = binary_metrics(y, predicted, proba, labels, counts)
    for i, r in enumerate(drawn):
        expected = scalar_metrics(y[r], predicted[r], proba[r], labels)
        assert set(expected) == set(found)
        for name, value in expected.items():
            assert found[name][i] == pytest.approx(value, rel=1e-12, abs=1e-14), (name, i)


def test_a_predictor_that_never_says_positive_and_one_score_for_all_rows() -> None:
    y = np.array([0, 1, 0, 1, 1, 0])
    proba = np.column_stack([np.full(6, 0.7), np.full(6, 0.3)])  # one score: all ties
    predicted = np.zeros(6, dtype=np.int64)
    counts = np.array([[1, 1, 1, 1, 1, 1], [2, 0, 0, 3, 1, 0]])
    found = binary_metrics(y, predicted, proba, [0, 1], counts)
    expected = scalar_metrics(y, predicted, proba, [0, 1])
    assert found["f1"][0] == expected["f1"] == 0.0
    assert found["roc_auc"][0] == pytest.approx(expected["roc_auc"]) == 0.5
    assert found["pr_auc"][1] == pytest.approx(4 / 6)


def test_the_checks_intervals_are_the_resampled_metrics_percentiles() -> None:
    y, predicted, proba = _case(5, 250, [0, 1], True)
    check = Performance(bootstrap=40, seed=3)
    intervals = check._intervals(y, predicted, proba, [0, 1])
    rng = np.random.default_rng(3)
    samples: dict[str, list[float]] = {}
    for _ in range(40):  # the same draws, each scored by scikit-learn
        rows = rng.integers(0, 250, 250)
        if len(np.unique(y[rows])) == 2:
            scored = scalar_metrics(y[rows], predicted[rows], proba[rows], [0, 1])
            for name, value in scored.items():
                samples.setdefault(name, []).append(value)
    assert set(intervals) == set(samples)
    for name, values in samples.items():
        low, high = np.percentile(values, [2.5, 97.5])
        assert intervals[name] == pytest.approx([low, high], rel=1e-12, abs=1e-14), name
